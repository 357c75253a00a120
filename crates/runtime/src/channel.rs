//! The sync channel between `hullrt create` (the parent) and the container's init (the child):
//! a SOCK_SEQPACKET socketpair carrying one small JSON message per packet. Each side has its own
//! typed end with named handshake methods, so the order of the start protocol reads in code.
//!
//! parent                                 init
//!   clone ───────────────────────────────▶ wait_for_continue()
//!   uid/gid maps, cgroup, resources
//!   send_continue() ─────────────────────▶ namespaces, hostname, mounts
//!   run createRuntime hooks ◀──────────── request_hooks()
//!   send_hooks_done() ───────────────────▶ createContainer hooks, pivot_root, caps...
//!   write state ◀──────────────────────── send_ready()
//!   send_created() ──────────────────────▶ stops dying with the parent
//!   exit ◀─────────────────────────────── detached()      (then blocks on exec.fifo)
//!   (any step) ◀───────────────────────── send_error(msg) and exit

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
enum ToInit {
    /// Carries the OCI state JSON, for the hooks init runs itself.
    Continue(String),
    HooksDone,
    /// The state is saved: init may outlive the parent from now on.
    Created,
}

#[derive(Debug, Serialize, Deserialize)]
enum FromInit {
    HooksRequest,
    Ready,
    /// Init no longer dies with the parent.
    Detached,
    Error(String),
}

fn send_msg<T: Serialize>(fd: &OwnedFd, m: &T) -> Result<()> {
    let buf = serde_json::to_vec(m).map_err(|e| Error::Other(e.to_string()))?;
    send(fd.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL)
        .map_err(|e| Error::call("send on sync socket", e))?;
    Ok(())
}

fn recv_msg<T: for<'a> Deserialize<'a>>(fd: &OwnedFd) -> Result<Option<T>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                return serde_json::from_slice(&buf[..n])
                    .map(Some)
                    .map_err(|e| Error::Other(format!("bad message on sync socket: {e}")))
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::call("receive on sync socket", e)),
        }
    }
}

pub fn pair() -> Result<(ParentEnd, InitEnd)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::call("socketpair", e))?;
    Ok((ParentEnd(a), InitEnd(b)))
}

/// What init reported to the parent.
#[derive(Debug)]
pub enum Report {
    HooksRequest,
    Ready,
    Detached,
}

pub struct ParentEnd(OwnedFd);

impl ParentEnd {
    pub fn send_continue(&self, state_json: String) -> Result<()> {
        send_msg(&self.0, &ToInit::Continue(state_json))
    }
    pub fn send_hooks_done(&self) -> Result<()> {
        send_msg(&self.0, &ToInit::HooksDone)
    }
    /// Tells init that the container is recorded and waits until it no longer dies with us
    /// (were we to exit first, its parent-death signal would still kill it).
    pub fn send_created(&self) -> Result<()> {
        send_msg(&self.0, &ToInit::Created)?;
        match self.next()? {
            Report::Detached => Ok(()),
            r => Err(Error::Other(format!("unexpected {r:?} from init"))),
        }
    }
    /// The next report from init; its error becomes ours, and a silent exit is an error.
    pub fn next(&self) -> Result<Report> {
        match recv_msg(&self.0)? {
            Some(FromInit::HooksRequest) => Ok(Report::HooksRequest),
            Some(FromInit::Ready) => Ok(Report::Ready),
            Some(FromInit::Detached) => Ok(Report::Detached),
            Some(FromInit::Error(e)) => Err(Error::Init(e)),
            None => Err(Error::Init(
                "container init exited before it was ready".into(),
            )),
        }
    }
}

pub struct InitEnd(OwnedFd);

impl InitEnd {
    fn expect(&self, want: &str) -> Result<ToInit> {
        match recv_msg::<ToInit>(&self.0)? {
            Some(m) => Ok(m),
            None => Err(Error::Other(format!(
                "runtime went away while init waited for {want}"
            ))),
        }
    }
    /// Returns the state JSON the parent sent along.
    pub fn wait_for_continue(&self) -> Result<String> {
        match self.expect("continue")? {
            ToInit::Continue(s) => Ok(s),
            m => Err(Error::Other(format!("unexpected {m:?} from runtime"))),
        }
    }
    pub fn request_hooks(&self) -> Result<()> {
        send_msg(&self.0, &FromInit::HooksRequest)?;
        match self.expect("hooks")? {
            ToInit::HooksDone => Ok(()),
            m => Err(Error::Other(format!("unexpected {m:?} from runtime"))),
        }
    }
    pub fn send_ready(&self) -> Result<()> {
        send_msg(&self.0, &FromInit::Ready)
    }
    /// Waits until the parent has recorded the container, runs `detach` (which clears the
    /// parent-death signal), then says so.
    pub fn wait_for_created(&self, detach: impl FnOnce() -> Result<()>) -> Result<()> {
        match self.expect("created")? {
            ToInit::Created => {}
            m => return Err(Error::Other(format!("unexpected {m:?} from runtime"))),
        }
        detach()?;
        send_msg(&self.0, &FromInit::Detached)
    }
    pub fn send_error(&self, msg: &str) {
        let _ = send_msg(&self.0, &FromInit::Error(msg.to_string()));
    }
}
