//! Receiving an fd over a unix socket (SCM_RIGHTS): nix returns the received fds as raw
//! numbers; taking ownership of them is the one unsafe step, done here.

use std::io;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// Receives one message and the first fd it carries (e.g. the pty master a runtime sends to
/// its --console-socket). Ok(None) when the message carried no fd; any further fds are closed.
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    let mut data = [0u8; 512];
    recv_msg_fd(sock, &mut data).map(|(_, fd)| fd)
}

/// Receives one message into `data` and the first fd it carries: the number of bytes read
/// and the fd (None when the message carried none; any further fds are closed).
pub fn recv_msg_fd(sock: BorrowedFd<'_>, data: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = [IoSliceMut::new(data)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let mut first = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for fd in fds {
                // SAFETY: the kernel installed these fds in our table for this message (with
                // close-on-exec); nothing else refers to them, so each is owned exactly once.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if first.is_none() {
                    first = Some(owned);
                }
            }
        }
    }
    Ok((msg.bytes, first))
}

/// Runs `f` on a name for the unix socket at `path` that fits a socket address (at most 107
/// bytes of path): `path` itself, or `/proc/self/fd/N/NAME` through its directory opened
/// O_PATH when longer (a --root or --runroot, or the deep state directories of podman and
/// containerd, can make it so).
fn with_short_path<T>(
    path: &std::path::Path,
    f: impl FnOnce(&std::path::Path) -> io::Result<T>,
) -> io::Result<T> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return f(path);
    };
    if path.as_os_str().as_bytes().len() < 108 {
        return f(path);
    }
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?;
    let mut short = std::path::PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    short.push(name);
    f(&short)
}

/// Connects to the unix socket at `path`, of any length.
pub fn connect(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixStream> {
    with_short_path(path, |p| std::os::unix::net::UnixStream::connect(p))
}

/// Binds a listening unix socket at `path`, of any length.
pub fn bind(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixListener> {
    with_short_path(path, |p| std::os::unix::net::UnixListener::bind(p))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    #[test]
    fn bind_and_connect_reach_a_socket_whose_path_is_too_long_for_an_address() {
        let base = std::env::temp_dir().join(format!("hull-sys-sock-{}", std::process::id()));
        let deep = base.join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let path = deep.join("console.sock");
        assert!(path.as_os_str().len() >= 108);
        assert!(std::os::unix::net::UnixListener::bind(&path).is_err());
        let l = super::bind(&path).unwrap();
        let mut c = super::connect(&path).unwrap();
        c.write_all(b"hi").unwrap();
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
