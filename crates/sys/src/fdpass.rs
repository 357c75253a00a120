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
    let mut iov = [IoSliceMut::new(&mut data)];
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
    Ok(first)
}
