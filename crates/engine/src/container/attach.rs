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
    /// Which output streams (`proto::WANT_STDOUT`, `WANT_STDERR`); None is both, as
    /// `docker attach` asks (the API's request may name one).
    pub output: Option<u8>,
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
        let both = proto::WANT_STDOUT | proto::WANT_STDERR;
        let mut want = req.output.map_or(both, |w| w & both);
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

    /// An attach that streams nothing (the API's `stream=0`, with or without `logs=1`): a
    /// container in any state, whose logged output the caller replays. docker records its
    /// `attach` event all the same.
    pub fn attach_without_stream(&self, key: &str) -> Result<crate::container::Container> {
        let c = self.lookup(key)?;
        crate::events::container(&self.paths, &c, "attach", &[]);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use hull_monitor::proto;

    use crate::container::start::{self, Attach};
    use crate::ocirt::fake::{Rig, Script};

    /// The container `id`'s event actions, in the order written.
    fn actions(rig: &Rig, id: &str) -> Vec<String> {
        let [_, cur] = crate::events::log_files(&rig.eng.paths);
        std::fs::read_to_string(cur)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["Actor"]["ID"] == id)
            .map(|v| v["Action"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// docker's client attaches before it starts a foreground container: the engine's start
    /// records `attach` before `start` when the starter relays a stream, and not otherwise.
    #[test]
    fn a_start_that_relays_a_stream_records_attach_before_start() {
        let rig = Rig::new();
        for (name, want, seen) in [
            (
                "out",
                proto::WANT_STDOUT | proto::WANT_STDERR | proto::WANT_HOOK,
                &["attach", "start"][..],
            ),
            ("in", proto::WANT_STDIN, &["attach", "start"]),
            ("detached", 0, &["start"]),
            ("hook-only", proto::WANT_HOOK, &["start"]),
        ] {
            let c = rig.container(name, |_| {});
            rig.script(Script::Started(4321));
            drop(start::start(&rig.eng, &c, Attach { want, size: None }).unwrap());
            assert_eq!(actions(&rig, &c.id), seen, "{name}");
        }
    }
}
