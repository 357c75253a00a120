//! `run`: create, start, and (unless detached) wait for the container's init, forwarding the
//! signals we get to it, then delete it. The exit code is the container's, 128+N on signal N.

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::create::{create, CreateOpts};
use crate::error::Result;
use crate::lifecycle;

pub fn run(o: &CreateOpts, detach: bool) -> Result<i32> {
    // Block the signals we forward before init exists would also block them in init (the mask
    // survives exec), so they are blocked right after create instead.
    let _span = tracing::debug_span!("run", id = %o.id).entered();
    let c = create(o)?;
    let pid = Pid::from_raw(c.saved.pid);
    if let Err(e) = lifecycle::start(&o.root, &o.id) {
        let _ = lifecycle::delete(&o.root, &o.id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    let code = crate::exec::wait_forwarding(pid)?;
    // 137 whether init itself was killed or its shell reports a killed child; the cgroup's
    // counter tells an OOM kill from a plain `kill -9`, and is gone once deleted.
    if code == 128 + Signal::SIGKILL as i32 && crate::events::oom_killed(&c.saved) {
        eprintln!("warning: container {} was killed by the OOM killer", o.id);
    }
    // As runc's `run`: the container's status is the answer once it has run; a failure to
    // clean up after it (the systemd unit already stopped by systemd's OOM policy, say) is
    // a warning, and `delete --force` finishes the job.
    if let Err(e) = lifecycle::delete(&o.root, &o.id, true) {
        eprintln!("warning: delete container {}: {e}", o.id);
    }
    Ok(code)
}
