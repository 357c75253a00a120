//! `--pidfd-socket` (runc 1.2): a pidfd of the container's process, sent with SCM_RIGHTS to a
//! unix socket the caller listens on, so a supervisor can wait for or signal exactly that
//! process even after its pid is reused.

use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};

use crate::error::{Error, Result};

/// Opens a pidfd for `pid` and sends it over a new connection to `socket`. The payload names
/// what the fd is, as runc's does.
pub fn send(socket: &Path, pid: i32) -> Result<()> {
    let fd = hull_sys::pidfd_open(pid)
        .map_err(|e| Error::sys("pidfd_open", Path::new(&format!("/proc/{pid}")), e))?;
    let conn = hull_sys::fdpass::connect(socket)
        .map_err(|e| Error::sys("connect to pidfd socket", socket, e))?;
    let iov = [IoSlice::new(b"pidfd")];
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    loop {
        match sendmsg::<UnixAddr>(conn.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::call("send pidfd over the pidfd socket", e)),
        }
    }
}
