//! Children hull starts and leaves running: the monitor, a network's DNS responder, the
//! port relay, an exec's drain. A CLI process exits soon after and they are re-parented to
//! init (or a subreaper), which reaps them: it keeps no thread for them. A long-lived process
//! (`hull system service`) calls [`reap_here`] once; from then on one thread reaps every
//! child handed to [`leave`], or each would stay a zombie (pid exhaustion after enough
//! containers).

use std::process::Child;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::OnceLock;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

static REAPER: OnceLock<Sender<Child>> = OnceLock::new();

/// Makes this process reap the children it leaves running, from one thread. Children it
/// already has and holds no handle for (a service that re-executed itself keeps its old
/// image's monitors) are reaped too.
pub fn reap_here() {
    REAPER.get_or_init(|| {
        let inherited = inherited_children();
        let (tx, rx) = channel();
        spawn_quiet(move || reap(rx, inherited));
        tx
    });
}

/// Leaves `child` running: reaped by the reaper thread if this process has one, else by
/// whoever inherits it when this process exits (dropping a `Child` neither kills nor waits).
pub fn leave(child: Child) {
    if let Some(tx) = REAPER.get() {
        let _ = tx.send(child);
    }
}

/// The reaper: sleeps in `waitid(P_ALL, WNOWAIT)` until some child has ended (without
/// reaping it: it may be one another thread waits for, as `Command::output` does), then
/// reaps those that are its own. No work while nothing ends, however many it holds.
fn reap(rx: Receiver<Child>, mut inherited: Vec<Pid>) {
    let mut held: Vec<Child> = Vec::new();
    loop {
        loop {
            match rx.try_recv() {
                Ok(c) => held.push(c),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        held.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        inherited.retain(|&p| {
            matches!(
                waitpid(p, Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive)
            )
        });
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
        match waitid(Id::All, flags) {
            // One has ended: give its owner (if it is another thread's) a moment, then sweep.
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            Err(Errno::EINTR) => {}
            // No children at all: wait for the next one handed over.
            Err(_) => match rx.recv() {
                Ok(c) => held.push(c),
                Err(_) => return,
            },
        }
    }
}

/// This process's children when the reaper starts (`/proc/self/task/TID/children` of each
/// thread; the kernel lists them where CONFIG_PROC_CHILDREN is set, as Debian's is).
fn inherited_children() -> Vec<Pid> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .map(Pid::from_raw)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs `f` on a small thread that blocks every signal: a process-directed signal must never
/// land on it and take the default action. The mask is blocked before the spawn, so the
/// thread starts with it (no window), and restored after.
fn spawn_quiet(f: impl FnOnce() + Send + 'static) {
    let mut old = SigSet::empty();
    let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), Some(&mut old));
    let spawned = std::thread::Builder::new()
        .name("reap".into())
        .stack_size(64 * 1024)
        .spawn(f);
    if blocked.is_ok() {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
    if let Err(e) = spawned {
        tracing::debug!("no thread to reap children: {e}");
    }
}
