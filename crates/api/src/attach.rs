//! `POST /containers/{id}/attach`: the connection is hijacked and relayed to the container's
//! monitor. Without a terminal, output goes in docker's multiplexed frames (a header of
//! stream type, three zero bytes and a big-endian u32 length, then the bytes); with one, raw.
//! The client's bytes go to the container's stdin; its half-close closes that stdin.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc, Mutex};

use hull_engine::container::attach::AttachRequest;
use hull_engine::container::logs;
use hull_monitor::proto;

use crate::http::{Conn, Outcome, Request};
use crate::track::PendingAttach;
use crate::{ApiError, Ctx};

/// docker's stream types in a multiplexed frame.
pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

pub const RAW: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";

/// One multiplexed frame.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// The client's end of a relay: where output goes, and whether it is framed.
pub struct Client {
    pub out: UnixStream,
    pub tty: bool,
}

impl Client {
    fn send(&mut self, stream: u8, data: &[u8]) -> bool {
        let r = match self.tty {
            true => self.out.write_all(data),
            false => self.out.write_all(&frame(stream, data)),
        };
        r.is_ok()
    }
}

/// The detach keys given (docker's `ctrl-p,ctrl-q` when none or empty), as bytes.
pub fn detach_keys(given: Option<&str>) -> Result<Vec<u8>, String> {
    let keys = given
        .filter(|k| !k.is_empty())
        .unwrap_or(hull_term::attach::DEFAULT_DETACH_KEYS);
    hull_term::attach::parse_detach_keys(keys)
}

/// A client's input with the detach keys taken out: when they are typed, a byte on
/// `detached` and end of file.
pub struct Scanned {
    input: Box<dyn Read + Send>,
    scan: hull_term::attach::DetachScanner,
    /// Told once the keys were typed and what came before them was read.
    detached: Option<UnixStream>,
    pending: Vec<u8>,
    done: bool,
}

impl Scanned {
    pub fn new(input: Box<dyn Read + Send>, keys: &[u8], detached: UnixStream) -> Scanned {
        Scanned {
            input,
            scan: hull_term::attach::DetachScanner::new(keys),
            detached: Some(detached),
            pending: Vec::new(),
            done: false,
        }
    }
}

impl Read for Scanned {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            if self.done {
                if let Some(mut d) = self.detached.take() {
                    let _ = d.write_all(b"d");
                }
                return Ok(0);
            }
            let mut input = [0u8; 8192];
            let n = self.input.read(&mut input)?;
            if n == 0 {
                return Ok(0);
            }
            self.done = self.scan.feed(&input[..n], &mut self.pending);
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// The monitor flags an attach request asks for.
fn wanted(req: &Request) -> u8 {
    let mut want = 0;
    if req.flag("stdout") {
        want |= proto::WANT_STDOUT;
    }
    if req.flag("stderr") {
        want |= proto::WANT_STDERR;
    }
    if req.flag("stdin") {
        want |= proto::WANT_STDIN;
    }
    want
}

pub fn attach(ctx: &Ctx, id: &str, req: &Request, conn: &mut Conn) -> Result<Outcome, ApiError> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    let want = wanted(req);
    // Refused before anything happens, as dockerd answers it: its words as the raw stream's
    // text, status 400.
    let Ok(keys) = detach_keys(req.param("detachKeys")) else {
        let msg = format!(
            "Invalid detach keys ({}) provided\r\n",
            req.param("detachKeys").unwrap_or("")
        );
        let _ = conn.respond(400, RAW, &[], msg.as_bytes(), true);
        return Ok(Outcome::Close);
    };
    // dockerd's `stream` and `logs` are false when absent: without `stream` the answer is
    // the logged output (with `logs`), or nothing, and the connection ends at once, whatever
    // the container's state.
    let stream = req.flag("stream");
    if !stream {
        drop(eng);
        let c = ctx.engine()?.attach_without_stream(id)?;
        conn.hijack(req, if c.config.tty { RAW } else { MULTIPLEXED })
            .map_err(|e| ApiError::internal(e.to_string()))?;
        if req.flag("logs") {
            replay(ctx, &c, want, c.config.tty, &mut conn.stream);
        }
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);
        return Ok(Outcome::Close);
    }
    // Not running yet: the start hands over its own connection, so nothing the container
    // writes first is lost.
    let pending = if c.status.is_live() {
        None
    } else {
        let (tx, rx) = mpsc::channel();
        ctx.track.add_attach(&c.id, PendingAttach { want, to: tx });
        Some(rx)
    };
    drop(eng);
    let tty = c.config.tty;
    conn.hijack(req, if tty { RAW } else { MULTIPLEXED })
        .map_err(|e| ApiError::internal(e.to_string()))?;
    // With `logs`, what the container wrote before (its log file) comes first, as dockerd
    // replays it before attaching.
    if req.flag("logs") {
        replay(ctx, &c, want, tty, &mut conn.stream);
    }
    let mon = match pending {
        Some(rx) => match rx.recv() {
            Ok(Some(sock)) => Some((sock, true)),
            Ok(None) => monitor(ctx, &c.id, want).map(|s| (s, false)),
            Err(_) => None,
        },
        None => monitor(ctx, &c.id, want).map(|s| (s, false)),
    };
    let Some((mon, from_start)) = mon else {
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);
        return Ok(Outcome::Close);
    };
    let client = Client {
        out: conn
            .stream
            .try_clone()
            .map_err(|e| ApiError::internal(e.to_string()))?,
        tty,
    };
    let stdin = match want & proto::WANT_STDIN != 0 {
        true => Some(take_reader(conn)),
        false => None,
    };
    // With a terminal, the client's input is scanned for the detach keys, as dockerd does.
    let detach = match (&stdin, tty) {
        (Some(_), true) => Some(Detach {
            keys,
            client: conn
                .stream
                .try_clone()
                .map_err(|e| ApiError::internal(e.to_string()))?,
        }),
        _ => None,
    };
    let hook = from_start && c.config.restart.is_none();
    relay(ctx, &c.id, mon, Some(client), stdin, detach, hook);
    let _ = conn.stream.shutdown(std::net::Shutdown::Both);
    Ok(Outcome::Close)
}

/// The container's logged output, all of it, in the streams `want` names, to `out`: framed,
/// or raw with a terminal. An unreadable log (the `none` driver) replays nothing.
fn replay(
    ctx: &Ctx,
    c: &hull_engine::container::Container,
    want: u8,
    tty: bool,
    out: &mut UnixStream,
) {
    let Ok(eng) = ctx.engine() else {
        return;
    };
    let mut client = Client {
        out: match out.try_clone() {
            Ok(o) => o,
            Err(_) => return,
        },
        tty,
    };
    let mut sink = |stream: u8, data: &[u8]| -> bool {
        let flag = match stream {
            STDERR => proto::WANT_STDERR,
            _ => proto::WANT_STDOUT,
        };
        want & flag == 0 || client.send(stream, data)
    };
    let _ = logs::logs_to(&eng, c, logs::Opts::default(), &mut sink);
}

/// A later client's connection to the monitor of a running container: the engine's attach
/// verb (which records docker's `attach` event).
fn monitor(ctx: &Ctx, id: &str, want: u8) -> Option<UnixStream> {
    let req = AttachRequest {
        stdin: want & proto::WANT_STDIN != 0,
        size: None,
        output: Some(want),
    };
    Some(ctx.engine().ok()?.attach(id, &req).ok()?.sock)
}

/// The hijacked connection's reading side, with whatever the request reader had already
/// buffered past the request.
pub fn take_reader(conn: &mut Conn) -> Box<dyn Read + Send> {
    let buffered = conn.reader.buffer().to_vec();
    let rest = conn.stream.try_clone();
    match rest {
        Ok(s) => Box::new(std::io::Cursor::new(buffered).chain(s)),
        Err(_) => Box::new(std::io::Cursor::new(buffered)),
    }
}

/// A terminal's detach: the keys, and the client's connection they end.
pub struct Detach {
    pub keys: Vec<u8>,
    pub client: UnixStream,
}

/// Pumps the monitor's frames to `client` until the container's exit; `stdin` (the client's
/// bytes) goes to the container. With `detach`, typing its keys ends the client's connection
/// and leaves the container running with its stdin open (dockerd's detach). With `hook` this
/// connection is the starter's that asked WANT_HOOK: the exit is recorded here (as the
/// foreground `hull run` records it) and waiters learn it, after a detach too. Returns the
/// exit code, if seen.
pub fn relay(
    ctx: &Ctx,
    id: &str,
    mon: UnixStream,
    mut client: Option<Client>,
    stdin: Option<Box<dyn Read + Send>>,
    detach: Option<Detach>,
    hook: bool,
) -> Option<i32> {
    let writer = Arc::new(Mutex::new(mon.try_clone().ok()?));
    if let Some(mut input) = stdin {
        let w = Arc::clone(&writer);
        std::thread::spawn(move || {
            let keys = detach.as_ref().map(|d| d.keys.as_slice()).unwrap_or(&[]);
            let mut scan = hull_term::attach::DetachScanner::new(keys);
            let mut buf = vec![0u8; 32 * 1024];
            let mut data = Vec::with_capacity(buf.len());
            loop {
                let n = input.read(&mut buf).unwrap_or(0);
                let mut s = w.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    let _ = proto::write_frame(&mut *s, proto::STDIN_EOF, &[]);
                    return;
                }
                data.clear();
                let detached = scan.feed(&buf[..n], &mut data);
                if !data.is_empty() && proto::write_frame(&mut *s, proto::STDIN, &data).is_err() {
                    return;
                }
                if let (true, Some(d)) = (detached, &detach) {
                    let _ = d.client.shutdown(std::net::Shutdown::Both);
                    // Nothing to record: this relay ends too (the hook's keeps reading).
                    if !hook {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    }
                    return;
                }
            }
        });
    }
    let mut r = mon;
    let mut code = None;
    loop {
        match proto::read_frame(&mut r) {
            Ok(Some((kind @ (proto::STDOUT | proto::STDERR), d))) => {
                let stream = if kind == proto::STDOUT {
                    STDOUT
                } else {
                    STDERR
                };
                // A client that went away stops getting output; the exit is still recorded.
                if client.as_mut().is_some_and(|c| !c.send(stream, &d)) {
                    client = None;
                }
            }
            Ok(Some((proto::HOOK, p))) if hook => {
                let exit = proto::payload_i32(&p).unwrap_or(255);
                let status = record_exit(ctx, id, exit);
                let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
                let _ = proto::write_frame(&mut *w, proto::HOOK_DONE, &proto::i32_payload(status));
                code = Some(exit);
            }
            Ok(Some((proto::EXIT, p))) => return proto::payload_i32(&p).or(code),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return code,
        }
    }
}

/// The exit hook, run by the service for a container it started: the engine's own
/// `hook::exited` (state, teardown, --rm), then the waiters are told.
fn record_exit(ctx: &Ctx, id: &str, code: i32) -> i32 {
    let Ok(eng) = ctx.engine() else {
        return 0;
    };
    let auto_remove = eng.lookup(id).is_ok_and(|c| c.config.auto_remove);
    let status = eng.record_exited(id, code);
    ctx.track.exited(id, code, auto_remove);
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_has_docker_header() {
        assert_eq!(
            frame(STDERR, b"hi"),
            vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']
        );
    }
}
