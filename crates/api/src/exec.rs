//! Exec: `POST /containers/{id}/exec` (an instance), `POST /exec/{id}/start` (the hijacked
//! connection is the process's streams: docker's multiplexed frames without a terminal, raw
//! with one; or nothing with `Detach`), `GET /exec/{id}/json` and `POST /exec/{id}/resize`.
//! The engine's exec verbs do the work; the CLI's `hull exec` calls the same ones.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use hull_engine::container::exec::{Opts, Streams, Tty};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::attach::{self, MULTIPLEXED, RAW, STDERR, STDOUT};
use crate::http::{Conn, Outcome, Request};
use crate::{ApiError, ApiResult, Ctx};

/// The terminals of the execs this service runs, by exec id, for resize; a size asked before
/// the terminal exists is kept for it.
#[derive(Default)]
pub struct Terminals(Mutex<HashMap<String, Terminal>>);

#[derive(Default)]
struct Terminal {
    tty: Option<Tty>,
    size: Option<(u16, u16)>,
}

impl Terminals {
    fn resize(&self, id: &str, size: (u16, u16)) -> std::io::Result<()> {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let t = all.entry(id.to_string()).or_default();
        t.size = Some(size);
        match &t.tty {
            Some(tty) => tty.resize(size.0, size.1),
            None => Ok(()),
        }
    }

    fn arrived(&self, id: &str, tty: Tty) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let t = all.entry(id.to_string()).or_default();
        if let Some((r, c)) = t.size {
            let _ = tty.resize(r, c);
        }
        t.tty = Some(tty);
    }

    fn ended(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// docker's exec config (`POST /containers/{id}/exec`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ExecConfig {
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    tty: bool,
    env: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    privileged: bool,
    user: String,
    working_dir: String,
    console_size: Option<Vec<u16>>,
    /// Go's decoder matches names without case: the Python SDK sends `detachKeys` (its
    /// argument, or the client config file's `detachKeys`).
    #[serde(alias = "detachKeys")]
    detach_keys: String,
}

/// docker's exec start (`POST /exec/{id}/start`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StartConfig {
    detach: bool,
    /// Raw output (else docker's frames), whether the instance has a terminal or not: as
    /// dockerd, the start's `Tty` decides (the Python SDK sends false and reads frames).
    tty: bool,
    console_size: Option<Vec<u16>>,
}

fn json_body<T: for<'a> Deserialize<'a> + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
}

fn size(v: &Option<Vec<u16>>) -> Option<(u16, u16)> {
    match v.as_deref() {
        Some(&[h, w]) if h > 0 && w > 0 => Some((h, w)),
        _ => None,
    }
}

/// `POST /containers/{id}/exec`: 201 with the instance's id.
pub fn create(ctx: &Ctx, id: &str, body: &[u8]) -> ApiResult<Value> {
    let cfg: ExecConfig = json_body(body)?;
    let args = cfg.cmd.unwrap_or_default();
    if args.is_empty() {
        return Err(ApiError::bad("No exec command specified"));
    }
    // dockerd refuses keys it cannot read at create (its message and, in 20.10, its 500).
    if !cfg.detach_keys.is_empty() {
        attach::detach_keys(Some(&cfg.detach_keys)).map_err(|_| {
            ApiError::internal(format!(
                "Invalid escape keys ({}) provided",
                cfg.detach_keys
            ))
        })?;
    }
    let opts = Opts {
        // Output nobody attached to is discarded at start; a start without attaching any
        // stream is docker's detached exec.
        detach: !(cfg.attach_stdin || cfg.attach_stdout || cfg.attach_stderr),
        interactive: cfg.attach_stdin,
        tty: cfg.tty,
        env: cfg.env.unwrap_or_default(),
        user: Some(cfg.user).filter(|u| !u.is_empty()),
        workdir: Some(cfg.working_dir).filter(|w| !w.is_empty()),
        privileged: cfg.privileged,
        console_size: size(&cfg.console_size),
        detach_keys: Some(cfg.detach_keys).filter(|k| !k.is_empty()),
    };
    let eid = ctx.engine()?.exec_create(id, args, opts)?;
    Ok(json!({ "Id": eid }))
}

/// A hijacked connection's writer for one stream: docker's frames, or raw with a terminal.
struct Out {
    to: UnixStream,
    stream: Option<u8>,
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self.stream {
            Some(s) => self.to.write_all(&attach::frame(s, b))?,
            None => self.to.write_all(b)?,
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `POST /exec/{id}/start`: detached, 200 once the process runs; else the connection is
/// hijacked and carries the process's streams until it ends.
pub fn start(ctx: &Arc<Ctx>, id: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let start: StartConfig = json_body(&req.body)?;
    let eng = ctx.engine()?;
    let x = eng.exec_inspect(id)?;
    if x.started {
        return Err(ApiError::conflict(format!(
            "exec instance {id} has already been started"
        )));
    }
    if start.detach || x.opts.detach {
        eng.exec_start(id, Streams::null())?;
        let _ = conn.respond(
            200,
            "text/plain; charset=utf-8",
            &crate::system::headers(),
            b"",
            true,
        );
        return Ok(Outcome::Done);
    }
    let raw = start.tty;
    conn.hijack(req, if raw { RAW } else { MULTIPLEXED })
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let out = |stream| -> ApiResult<Box<dyn Write + Send>> {
        let to = conn
            .stream
            .try_clone()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(Box::new(Out {
            to,
            stream: (!raw).then_some(stream),
        }))
    };
    let (stdout, stderr) = (out(STDOUT)?, out(STDERR)?);
    if let Some(s) = size(&start.console_size) {
        let _ = ctx.execs.resize(id, s);
    }
    let (terms, eid) = (Arc::clone(ctx), id.to_string());
    // With a terminal, the client's input is scanned for the detach keys (docker's default
    // when the exec gave none), as dockerd scans it: typed, they leave the process running,
    // its output discarded, and end this connection.
    let mut detach = None;
    let stdin = x.opts.interactive.then(|| attach::take_reader(conn));
    let stdin = match (stdin, raw) {
        (Some(input), true) => {
            let keys =
                attach::detach_keys(x.opts.detach_keys.as_deref()).map_err(ApiError::internal)?;
            let (r, w) = UnixStream::pair().map_err(|e| ApiError::internal(e.to_string()))?;
            detach = Some(r);
            Some(Box::new(attach::Scanned::new(input, &keys, w)) as Box<dyn Read + Send>)
        }
        (stdin, _) => stdin,
    };
    let streams = Streams {
        stdin,
        stdout,
        stderr,
        on_tty: Some(Box::new(move |t| terms.execs.arrived(&eid, t))),
        detach,
    };
    // The stream has begun: a failure now can only end it (the client reads the exit code,
    // which the instance has, from the inspect).
    let _ = eng.exec_start(id, streams);
    ctx.execs.ended(id);
    let _ = conn.stream.shutdown(std::net::Shutdown::Both);
    Ok(Outcome::Close)
}

/// `GET /exec/{id}/json`, docker's shape.
pub fn inspect(ctx: &Ctx, id: &str) -> ApiResult<Value> {
    let x = ctx.engine()?.exec_inspect(id)?;
    let (entry, rest) = x
        .args
        .split_first()
        .map_or(("", &[][..]), |(a, r)| (a.as_str(), r));
    Ok(json!({
        "ID": x.id,
        "Running": x.running,
        "ExitCode": x.exit_code,
        "ProcessConfig": {
            "tty": x.opts.tty,
            "entrypoint": entry,
            "arguments": rest,
            "privileged": x.opts.privileged,
            "user": x.opts.user.clone().unwrap_or_default(),
        },
        "OpenStdin": x.opts.interactive,
        "OpenStderr": !x.opts.detach,
        "OpenStdout": !x.opts.detach,
        "CanRemove": false,
        "ContainerID": x.container_id,
        // dockerd's keys are bytes, which Go's JSON gives as base64 ("" when none given).
        "DetachKeys": hull_image::registry::client::base64(
            &attach::detach_keys(x.opts.detach_keys.as_deref().filter(|k| !k.is_empty()))
                .ok()
                .filter(|_| x.opts.detach_keys.is_some())
                .unwrap_or_default()
        ),
        "Pid": x.pid,
    }))
}

/// `POST /exec/{id}/resize?h=&w=`.
pub fn resize(ctx: &Ctx, id: &str, h: Option<&str>, w: Option<&str>) -> ApiResult<()> {
    let num = |name: &str, v: Option<&str>| -> ApiResult<u16> {
        v.unwrap_or("")
            .parse()
            .map_err(|_| ApiError::bad(format!("{name}: {:?} is not a size", v.unwrap_or(""))))
    };
    let (h, w) = (num("h", h)?, num("w", w)?);
    // Known instance (404 otherwise), running or about to.
    ctx.engine()?.exec_inspect(id)?;
    ctx.execs
        .resize(id, (h, w))
        .map_err(|e| ApiError::internal(format!("resize exec {id}: {e}")))
}
