//! `run`: create, start, and (unless detached) wait for the container's init, forwarding the
//! signals we get to it, then delete it. The exit code is the container's, 128+N on signal N.

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::create::{create, CreateOpts};
use crate::error::{Error, Result};
use crate::lifecycle;

const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

pub fn run(o: &CreateOpts, detach: bool) -> Result<i32> {
    // Block the signals we forward before init exists would also block them in init (the mask
    // survives exec), so they are blocked right after create instead.
    let c = create(o)?;
    let pid = Pid::from_raw(c.saved.pid);
    if let Err(e) = lifecycle::start(&o.root, &o.id) {
        let _ = lifecycle::delete(&o.root, &o.id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for s in FORWARDED {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Error::call("block signals", e))?;
    let code = loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => break 255,
            Err(e) => return Err(Error::call("wait for container", e)),
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => {}
            Ok(sig) => {
                let _ = kill(pid, sig);
            }
            Err(_) => {}
        }
    };
    let _ = set.thread_unblock();
    // 137 whether init itself was killed or its shell reports a killed child; the cgroup's
    // counter tells an OOM kill from a plain `kill -9`, and is gone once deleted.
    if code == 128 + Signal::SIGKILL as i32 && crate::events::oom_killed(&c.saved) {
        eprintln!("warning: container {} was killed by the OOM killer", o.id);
    }
    lifecycle::delete(&o.root, &o.id, true)?;
    Ok(code)
}
