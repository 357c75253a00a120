//! hull-pause: the infra process of a pod. It holds the pod's shared namespaces (uts, ipc,
//! net, and pid with `--share +pid`) for as long as the pod lives, and does nothing else:
//!
//! - as PID 1 of a shared pid namespace it reaps every orphan that is re-parented to it, so
//!   zombies of the pod's containers never pile up (it is also a child subreaper when it is
//!   not PID 1, for the same reason);
//! - SIGTERM and SIGINT end it with status 0; any other signal is left to the kernel.
//!
//! Signals are blocked and taken with sigwait(2) rather than by handlers: a blocked signal is
//! queued even for the PID 1 of a pid namespace (the kernel drops signals whose disposition
//! is SIG_DFL for that process only when they are not blocked), and no code runs in a signal
//! context. The binary is linked statically (see build.rs): its rootfs holds only itself.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("hull-pause {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let mut set = SigSet::empty();
    for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
        set.add(sig);
    }
    if let Err(e) = set.thread_block() {
        eprintln!("hull-pause: block signals: {e}");
        return ExitCode::from(1);
    }
    // Best effort: without it, orphans of a non-PID-1 pause go to the host's init instead.
    let _ = prctl::set_child_subreaper(true);
    loop {
        match set.wait() {
            Ok(Signal::SIGCHLD) => reap(),
            Ok(Signal::SIGTERM | Signal::SIGINT) => {
                reap();
                return ExitCode::SUCCESS;
            }
            Ok(_) | Err(_) => {}
        }
    }
}

/// Collects every child that has exited; SIGCHLD is not queued per child, so one signal may
/// stand for many.
fn reap() {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}
