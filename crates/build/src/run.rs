//! `RUN`: the command runs as a container made from the stage's image so far, through the
//! engine's own verbs (create, start, attach with its output streamed to ours, remove), and
//! the container's changes (its overlay upper dir, docker's whiteouts) become the layer. The
//! container is removed whatever happens, so a failing `RUN` leaves no container, mount or
//! directory behind.

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, Once};

use hull_engine::container::config::{MountKind, MountSpec};
use hull_engine::container::create::{Created, Request};
use hull_engine::container::start::Attach;
use hull_engine::{Engine, RunConfig};
use hull_monitor::proto;

use crate::layer::{LayerTar, LayerWriter};
use crate::progress::{Progress, Style};
use crate::BuildError;

/// What one `RUN` runs.
pub struct Step<'a> {
    pub image: &'a str,
    pub argv: Vec<String>,
    /// `K=V`: the image's Env, then the build args it does not set.
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    /// `none`, `host` or `default` (hull's default network).
    pub network: &'a str,
    /// The command's output is not shown (`hull build -q`).
    pub quiet: bool,
    /// The image's `VOLUME`s: anonymous volumes while the step runs, as docker mounts them,
    /// so what the command writes there is not in the layer (only the mount point is).
    pub volumes: Vec<String>,
    /// `RUN --mount`s, ready ([`crate::mount::prepare`]).
    pub mounts: Vec<MountSpec>,
    /// Their mount points the image lacked: removed from the layer after the run.
    pub stubs: Vec<String>,
    /// The build's cancellation: a cancel kills the command.
    pub cancel: &'a crate::cancel::Cancel,
}

/// The network mode `RUN --network` / `hull build --network` asks for.
fn network_mode(n: &str) -> Result<String, BuildError> {
    match n {
        "" | "default" => Ok(String::new()),
        "none" | "host" => Ok(n.to_string()),
        other => Err(BuildError::msg(format!(
            "--network {other}: hull build supports none, host and default"
        ))),
    }
}

/// Runs the step; on success returns the layer tar (in a temp file under the store's tmp)
/// or None when the command changed nothing. Its output goes to `p`.
pub fn run(
    eng: &Engine,
    s: &Step<'_>,
    p: &mut Progress<'_>,
) -> Result<Option<LayerTar>, BuildError> {
    let config = RunConfig {
        cmd: s.argv.clone(),
        env: s.env.clone(),
        user: s.user.clone(),
        working_dir: s.workdir.clone(),
        network_mode: network_mode(s.network)?.into(),
        mounts: s
            .volumes
            .iter()
            .map(|t| MountSpec {
                kind: MountKind::Volume,
                target: t.clone(),
                ..Default::default()
            })
            .chain(s.mounts.iter().cloned())
            .collect(),
        ..Default::default()
    };
    let req = Request {
        image: s.image.to_string(),
        name: None,
        entrypoint: Some(Vec::new()),
        config,
        labels: BTreeMap::new(),
    };
    let created = eng
        .create(req)
        .map_err(|e| BuildError::msg(format!("RUN: {e}")))?;
    let id = created.container.id.clone();
    p.running(&id[..12]);
    let res = run_created(eng, &created, s, p);
    // Whatever its state: a RUN leaves no container behind.
    let _ = eng.remove(&id, true, true);
    p.removed(&id[..12]);
    res
}

/// The connection of the `RUN` being waited for: where an interrupt of `hull build` goes.
static CURRENT: Mutex<Option<UnixStream>> = Mutex::new(None);
static FORWARDER: Once = Once::new();

/// Interrupts (^C, SIGTERM...) of `hull build` go to the running `RUN`'s command, as
/// docker's client forwards them, so it ends and its container is removed; between
/// steps they end the build with 128+signal.
fn forward_signals() {
    FORWARDER.call_once(|| {
        let set = hull_term::attach::block_proxy_signals();
        std::thread::spawn(move || loop {
            let Ok(sig) = set.wait() else { return };
            if sig == nix::sys::signal::Signal::SIGWINCH {
                continue;
            }
            let mut cur = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
            match cur.as_mut() {
                Some(sock) => {
                    let _ =
                        proto::write_frame(sock, proto::SIGNAL, &proto::i32_payload(sig as i32));
                }
                None => std::process::exit(128 + sig as i32),
            }
        });
    });
}

/// Streams the container's output into `p` until it exits; records the exit through the
/// monitor's hook and returns the command's exit code (None: the monitor went away).
fn wait_exit(sock: UnixStream, record: &dyn Fn(i32) -> i32, p: &mut Progress<'_>) -> Option<i32> {
    forward_signals();
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = sock.try_clone().ok();
    let mut r = sock;
    let code = loop {
        match proto::read_frame(&mut r) {
            Ok(Some((proto::STDOUT | proto::STDERR, d))) => p.output(&d),
            Ok(Some((proto::EXIT, d))) => break proto::payload_i32(&d),
            Ok(Some((proto::HOOK, d))) => {
                let Some(code) = proto::payload_i32(&d) else {
                    break None;
                };
                let status = record(code);
                let _ = proto::write_frame(&mut r, proto::HOOK_DONE, &proto::i32_payload(status));
                break Some(code);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break None,
        }
    };
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    code
}

fn run_created(
    eng: &Engine,
    created: &Created,
    s: &Step<'_>,
    p: &mut Progress<'_>,
) -> Result<Option<LayerTar>, BuildError> {
    let out = if s.quiet {
        0
    } else {
        proto::WANT_STDOUT | proto::WANT_STDERR
    };
    let at = Attach {
        want: out | proto::WANT_HOOK,
        size: None,
    };
    let started = eng
        .start_created(created, at)
        .map_err(|e| BuildError::msg(format!("RUN {}: {e}", s.argv.join(" "))))?;
    let id = created.container.id.clone();
    let record = |code: i32| eng.record_exited(&id, code);
    s.cancel.running(started.sock.try_clone().ok());
    let code = wait_exit(started.sock, &record, p);
    s.cancel.running(None);
    s.cancel.check()?;
    match code {
        Some(0) => {}
        // docker's classic builder exits with the command's own code; BuildKit with 1.
        Some(n) if p.style() == Style::Classic => {
            return Err(BuildError {
                msg: format!(
                    "The command '{}' returned a non-zero code: {n}",
                    s.argv.join(" ")
                ),
                code: n,
            })
        }
        Some(n) => {
            return Err(BuildError::msg(format!(
                "executor failed running [{}]: exit code: {n}",
                s.argv.join(" ")
            )))
        }
        None => {
            return Err(BuildError::msg(format!(
                "RUN {}: lost the container's monitor",
                s.argv.join(" ")
            )))
        }
    }
    let upper = eng.paths.container_dir(&id).join("upper");
    crate::mount::remove_stubs(&upper, &s.stubs);
    let mut w = LayerWriter::new(&eng.paths.root.join("tmp"))?;
    let any = eng
        .layer_tar(&id, w.writer())
        .map_err(|e| BuildError::msg(format!("RUN: {e}")))?;
    let tar = w.finish()?;
    Ok(any.then_some(tar))
}
