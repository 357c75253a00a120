//! `attach`, the engine's side: a connection to a running container's monitor that has told
//! it what the client wants (output, and stdin if the container keeps one open) and the
//! terminal's size. The client side (a terminal in raw mode, detach keys, forwarded signals)
//! is crates/term's `hull_term::attach`, which relays the connection until the container
//! exits.

use std::os::unix::net::UnixStream;

use hull_monitor::proto;

use crate::container::stop;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// What `attach` asks for.
#[derive(Debug, Default, Clone)]
pub struct AttachRequest {
    /// Our stdin to the container's, if it keeps one open (`-i`); false for `--no-stdin`.
    pub stdin: bool,
    /// The client's terminal size (rows, columns), sent when the container has a tty.
    pub size: Option<(u16, u16)>,
}

/// An attached connection to the container's monitor.
#[derive(Debug)]
pub struct Attached {
    /// The monitor's attach protocol (hull_monitor::proto frames).
    pub sock: UnixStream,
    /// Whether stdin goes to the container.
    pub stdin: bool,
    /// Whether the container has a terminal.
    pub tty: bool,
}

impl Engine {
    /// Attaches to the running container `key`: refused when it is not running.
    pub fn attach(&self, key: &str, req: &AttachRequest) -> Result<Attached> {
        let c = self.lookup(key)?;
        if !c.status.is_live() {
            return Err(Error::NotRunning(
                "you cannot attach to a stopped container, start it first".into(),
            ));
        }
        let mut sock = stop::connect(self, &c.id).ok_or_else(|| {
            Error::Internal(format!("container {}: no monitor to attach to", c.name))
        })?;
        let io = |e: std::io::Error| Error::Internal(e.to_string());
        let stdin = c.config.open_stdin && req.stdin;
        let mut want = proto::WANT_STDOUT | proto::WANT_STDERR;
        if stdin {
            want |= proto::WANT_STDIN;
        }
        proto::write_frame(&mut sock, proto::HELLO, &[want]).map_err(io)?;
        if let (true, Some((r, col))) = (c.config.tty, req.size) {
            let mut p = r.to_le_bytes().to_vec();
            p.extend_from_slice(&col.to_le_bytes());
            proto::write_frame(&mut sock, proto::RESIZE, &p).map_err(io)?;
        }
        crate::events::container(&self.paths, &c, "attach", &[]);
        Ok(Attached {
            sock,
            stdin,
            tty: c.config.tty,
        })
    }
}
