//! Handing the seccomp notify fd to the agent at `linux.seccomp.listenerPath`.
//!
//! The runtime spec (config-linux.md, "listenerPath" and "The Container Process State"):
//! connect to an `AF_UNIX`/`SOCK_STREAM` socket, send exactly one container process state as
//! JSON with the fds attached via `SCM_RIGHTS` (their names in `fds`, here `["seccompFd"]`),
//! then close the connection. Several `sendmsg` calls are allowed; the fds ride on the first.

use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use oci_spec::runtime::SECCOMP_FD_NAME;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::parse::from_json;

/// Sends the container process state and the notify `fd` to the agent at `listener_path`.
///
/// `state_json` is the container's OCI state (`ociVersion`, `id`, `status`, `pid`, `bundle`,
/// `annotations`), as `hullrt state` prints it; its `pid` and `ociVersion` are also used for
/// the envelope. `listener_metadata` (`linux.seccomp.listenerMetadata`) is sent as `metadata`
/// unless it is empty.
pub fn send_notify_fd(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    state_json: &[u8],
    listener_metadata: &str,
) -> Result<()> {
    let bytes = envelope(state_json, listener_metadata)?;
    let stream = UnixStream::connect(listener_path).map_err(|source| Error::Listener {
        path: listener_path.to_owned(),
        source,
    })?;
    send_message(&stream, fd, &bytes, listener_path)
}

/// Like [`send_notify_fd`], on a stream already connected to the listener: the container
/// init connects before pivot_root (the listener's path is on the host) and sends after
/// loading the filter.
pub fn send_notify_fd_on(
    stream: &UnixStream,
    fd: BorrowedFd<'_>,
    state_json: &[u8],
    listener_metadata: &str,
) -> Result<()> {
    let bytes = envelope(state_json, listener_metadata)?;
    send_message(stream, fd, &bytes, Path::new("(connected listener)"))?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

fn send_message(
    mut stream: &UnixStream,
    fd: BorrowedFd<'_>,
    bytes: &[u8],
    listener_path: &Path,
) -> Result<()> {
    let io_err = |source: std::io::Error| Error::Listener {
        path: listener_path.to_owned(),
        source,
    };
    let fds = [fd.as_raw_fd()];
    let sent = sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[IoSlice::new(bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| io_err(e.into()))?;
    stream.write_all(&bytes[sent..]).map_err(io_err)?;
    // One state per connection: dropping the stream closes it.
    Ok(())
}

/// The container process state message around `state_json`.
fn envelope(state_json: &[u8], listener_metadata: &str) -> Result<Vec<u8>> {
    let state: Value = from_json(state_json, "container state")?;
    let pid = state
        .get("pid")
        .and_then(Value::as_i64)
        .ok_or(Error::State {
            reason: "no integer \"pid\"",
        })?;
    let version = state
        .get("ociVersion")
        .and_then(Value::as_str)
        .ok_or(Error::State {
            reason: "no string \"ociVersion\"",
        })?
        .to_owned();
    let mut msg = json!({
        "ociVersion": version,
        "fds": [SECCOMP_FD_NAME],
        "pid": pid,
        "state": state,
    });
    if !listener_metadata.is_empty() {
        msg["metadata"] = Value::String(listener_metadata.to_owned());
    }
    let bytes = serde_json::to_vec(&msg).map_err(|source| Error::Json {
        field: "container process state".to_owned(),
        source,
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixListener;

    #[test]
    fn listener_receives_state_and_fd() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("agent.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let agent = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let (n, fd) = hull_sys::fdpass::recv_msg_fd(conn.as_fd(), &mut buf).unwrap();
            let fd = fd.expect("an fd via SCM_RIGHTS");
            buf.truncate(n);
            conn.read_to_end(&mut buf).unwrap();
            (buf, fd)
        });

        // Any fd will do for the hand-off; a pipe end lets us check the fd is the same object.
        let (rx, tx) = nix::unistd::pipe().unwrap();
        let state =
            br#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4242,"bundle":"/b"}"#;
        send_notify_fd(&sock, rx.as_fd(), state, "MKNOD=/dev/null").unwrap();
        let (json, fd) = agent.join().unwrap();

        let v: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["ociVersion"], "1.2.0");
        assert_eq!(v["fds"], json!(["seccompFd"]));
        assert_eq!(v["pid"], 4242);
        assert_eq!(v["metadata"], "MKNOD=/dev/null");
        assert_eq!(v["state"]["id"], "c1");
        assert_eq!(v["state"]["status"], "creating");

        std::fs::File::from(tx).write_all(b"x").unwrap();
        let mut got = [0u8; 1];
        std::fs::File::from(fd).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"x");
    }

    #[test]
    fn state_without_pid_is_refused() {
        let (rx, _tx) = nix::unistd::pipe().unwrap();
        let e = send_notify_fd(
            Path::new("/nonexistent"),
            rx.as_fd(),
            br#"{"ociVersion":"1.2.0","id":"c"}"#,
            "",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "container state: no integer \"pid\"");
    }

    #[test]
    fn unreachable_listener_names_the_path() {
        let (rx, _tx) = nix::unistd::pipe().unwrap();
        let e = send_notify_fd(
            Path::new("/nonexistent/agent.sock"),
            rx.as_fd(),
            br#"{"ociVersion":"1.2.0","id":"c","pid":1}"#,
            "",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("seccomp listener /nonexistent/agent.sock: "),
            "{e}"
        );
    }
}
