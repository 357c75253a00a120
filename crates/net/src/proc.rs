//! Small process helpers the engine's network code needs: a host-wide lock and stopping a
//! DNS responder by its pid file.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// An exclusive flock held until dropped.
pub struct HostLock(#[allow(dead_code)] Flock<File>);

impl HostLock {
    pub fn acquire(path: &Path) -> io::Result<HostLock> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        Flock::lock(f, FlockArg::LockExclusive)
            .map(HostLock)
            .map_err(|(_, e)| e.into())
    }
}

/// The pid in `pidfile` when that process is alive and its command line contains `marker`
/// (so a recycled pid is never taken for the responder).
pub fn live_pid(pidfile: &Path, marker: &str) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    cmdline.contains(marker).then_some(pid)
}

/// Stops the process of `pidfile` (if it is the one `marker` names) and removes the file.
pub fn stop(pidfile: &Path, marker: &str) -> io::Result<bool> {
    let stopped = match live_pid(pidfile, marker) {
        Some(pid) => {
            kill(Pid::from_raw(pid), Signal::SIGTERM)?;
            true
        }
        None => false,
    };
    match std::fs::remove_file(pidfile) {
        Ok(()) => Ok(stopped),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(stopped),
        Err(e) => Err(e),
    }
}
