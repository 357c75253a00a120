//! Children hull starts and leaves running: the monitor, a network's DNS responder, the
//! port relay, an exec's drain, a runtime `delete` nobody waited for. A CLI process exits
//! soon after and they are re-parented; a long-lived one (`hull system service`) must reap
//! each when it ends, or each leaves a zombie (pid exhaustion after enough containers).

use std::process::Child;

/// Reaps `child` when it exits, from a small thread of its own: a process-wide
/// `waitpid(-1)` would take the exit status of children other threads wait for.
pub fn reap_when_done(mut child: Child) {
    let spawned = std::thread::Builder::new()
        .name("reap".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = child.wait();
        });
    if let Err(e) = spawned {
        tracing::debug!("no thread to reap a child: {e}");
    }
}
