//! systemd socket activation: the listening socket systemd passed as fd 3
//! (`LISTEN_FDS`/`LISTEN_PID`, sd_listen_fds(3)).

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, Ordering};

/// The first fd systemd passes.
const SD_LISTEN_FDS_START: i32 = 3;

static TAKEN: AtomicBool = AtomicBool::new(false);

/// The unix listener systemd passed, when `LISTEN_PID` names this process and `LISTEN_FDS`
/// is at least 1 and fd 3 is a unix stream socket; None otherwise. Taken at most once per
/// process.
pub fn unix_listener() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let n: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || n < 1 {
        return None;
    }
    // The magic link leads to the open file itself: a socket, or not ours to take.
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(format!("/proc/self/fd/{SD_LISTEN_FDS_START}")).ok()?;
    if !meta.file_type().is_socket() {
        return None;
    }
    if TAKEN.swap(true, Ordering::SeqCst) {
        return None;
    }
    // SAFETY: fd 3 is open (its stat succeeded) and is the socket systemd handed this process
    // (LISTEN_PID is ours); nothing else in hull owns fd 3, and TAKEN makes this the only
    // OwnedFd ever made of it.
    let fd = unsafe { OwnedFd::from_raw_fd(SD_LISTEN_FDS_START) };
    let _ = nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    Some(UnixListener::from(fd))
}
