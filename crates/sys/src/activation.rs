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

/// Replaces this process with a fresh copy of its executable (same argv, same pid) that takes
/// `listener` over as systemd's socket would hand it: on fd 3, `LISTEN_FDS=1`, `LISTEN_PID`
/// this pid, plus `extra` in the environment. Connections waiting in the listener's backlog
/// stay there for the new image to accept. Refused (nothing changed) when fd 3 is another
/// open file. Returns only on failure.
pub fn reexec_listening(listener: &UnixListener, extra: &[(&str, String)]) -> std::io::Error {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |b: Vec<u8>| std::ffi::CString::new(b).unwrap_or_default();
    let raw = listener.as_raw_fd();
    // SAFETY: F_GETFD only reads fd 3's flags; a closed fd answers EBADF.
    let three_open = unsafe { libc::fcntl(SD_LISTEN_FDS_START, libc::F_GETFD) } >= 0;
    if raw != SD_LISTEN_FDS_START && three_open {
        return std::io::Error::other("fd 3 is in use");
    }
    if raw != SD_LISTEN_FDS_START {
        // SAFETY: fd 3 is closed (checked above); dup2 makes it a copy of our listener,
        // without close-on-exec, and touches no other fd.
        if unsafe { libc::dup2(raw, SD_LISTEN_FDS_START) } < 0 {
            return std::io::Error::last_os_error();
        }
    } else {
        // SAFETY: clears close-on-exec on our own listener's fd.
        if unsafe { libc::fcntl(raw, libc::F_SETFD, 0) } < 0 {
            return std::io::Error::last_os_error();
        }
    }
    let args: Vec<std::ffi::CString> = std::env::args_os()
        .map(|a| cstr(a.as_bytes().to_vec()))
        .collect();
    let ours = |k: &[u8]| {
        k == b"LISTEN_FDS"
            || k == b"LISTEN_PID"
            || k == b"LISTEN_FDNAMES"
            || extra.iter().any(|(e, _)| e.as_bytes() == k)
    };
    let mut env: Vec<std::ffi::CString> = std::env::vars_os()
        .filter(|(k, _)| !ours(k.as_bytes()))
        .map(|(k, v)| cstr([k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect();
    env.push(cstr(b"LISTEN_FDS=1".to_vec()));
    env.push(cstr(
        format!("LISTEN_PID={}", std::process::id()).into_bytes(),
    ));
    for (k, v) in extra {
        env.push(cstr(format!("{k}={v}").into_bytes()));
    }
    let err = match nix::unistd::execve(c"/proc/self/exe", &args, &env) {
        Ok(never) => match never {},
        Err(e) => std::io::Error::from(e),
    };
    // SAFETY: undoes the above on our own fds: the copy made at 3 is closed, or the
    // listener's close-on-exec set again.
    unsafe {
        if raw != SD_LISTEN_FDS_START {
            libc::close(SD_LISTEN_FDS_START);
        } else {
            libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    err
}
