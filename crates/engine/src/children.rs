//! Children hull starts and leaves running: the monitor, a network's DNS responder, the
//! port relay, an exec's drain, a runtime `delete` nobody waited for. A CLI process exits
//! soon after and they are re-parented; a long-lived one (`hull system service`) must reap
//! each when it ends, or each leaves a zombie (pid exhaustion after enough containers).

use std::process::Child;

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};

/// Reaps `child` when it exits, from a small thread of its own: a process-wide
/// `waitpid(-1)` would take the exit status of children other threads wait for.
pub fn reap_when_done(mut child: Child) {
    spawn_quiet(move || {
        let _ = child.wait();
    });
}

/// Runs `f` on a small thread that blocks every signal: a process-directed signal (^C to a
/// foreground `hull run`, which counts them on its own signal thread) must never land on
/// it and take the default action. The mask is blocked before the spawn, so the thread
/// starts with it (no window), and restored after.
pub(crate) fn spawn_quiet(f: impl FnOnce() + Send + 'static) {
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
        tracing::debug!("no thread to reap a child: {e}");
    }
}
