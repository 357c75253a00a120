//! Getting the fake clock into every process of a container without touching its image: what
//! an engine adds to config.json, and how it talks to the clock supervisor (`trace.rs`).
//!
//! - `prepare` writes the clock's model to `STATE/faketime/clock` at each start.
//! - `apply` adds the seccomp rules that send the realtime clock calls to the supervisor
//!   (`SCMP_ACT_TRACE`, see `rules`) and a createRuntime hook that starts the supervisor while
//!   the runtime holds the container's init before its exec; the hook returns once the
//!   supervisor has seized init, so nothing of the container runs unsupervised.
//! - `seize` hands a process (`hull exec`'s own, before it runs the runtime) to the
//!   supervisor, which then follows its children into the container.
//! - `update` rewrites the model and tells the supervisor to re-read it: every process sees
//!   the new clock at its next read, without being stopped.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{HookBuilder, Hooks, Spec};
use serde_json::Value;

use crate::model::{now_nanos, Model};
use crate::spec::FakeTime;
use crate::trace::{MODEL, SOCKET};

/// The clock's directory under a container's state directory.
pub const STATE_SUBDIR: &str = "faketime";
/// What the supervisor logs to (its errors), in the clock directory.
const LOG: &str = "supervisor.log";
/// How long the hook waits for the supervisor to have seized init.
const READY_WAIT: Duration = Duration::from_secs(10);

/// Said once at `run`/`create` with `--faketime`.
pub const PTRACE_NOTE: &str = "note: --faketime follows the container's processes with ptrace: \
a debugger or strace inside the container cannot attach to them";

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: the container has no fake clock (it was not started with --faketime)", path.display())]
    NotPrepared { path: PathBuf },
    #[error("clock supervisor at {}: {msg}", path.display())]
    Supervisor { path: PathBuf, msg: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> InjectError + '_ {
    move |source| InjectError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The clock directory of a container's state directory.
pub fn clock_dir(state_dir: &Path) -> PathBuf {
    state_dir.join(STATE_SUBDIR)
}

fn write_model(dir: &Path, ft: &FakeTime) -> Result<(), InjectError> {
    let path = dir.join(MODEL);
    let tmp = dir.join(format!("{MODEL}.tmp"));
    let line = Model::new(ft, now_nanos()).to_line();
    std::fs::write(&tmp, line).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// At container start: the clock's model, its offset taken from the real clock now.
pub fn prepare(state_dir: &Path, ft: &FakeTime) -> Result<PathBuf, InjectError> {
    let dir = clock_dir(state_dir);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    write_model(&dir, ft)?;
    Ok(dir)
}

/// Changes the clock of a running container: every process sees it at its next clock read.
pub fn update(state_dir: &Path, ft: &FakeTime) -> Result<(), InjectError> {
    let dir = clock_dir(state_dir);
    if !dir.join(MODEL).is_file() {
        return Err(InjectError::NotPrepared {
            path: dir.join(MODEL),
        });
    }
    write_model(&dir, ft)?;
    request(&dir, "reload")
}

/// Hands the calling process to the container's clock supervisor: from now on it and the
/// processes it starts are followed (call it from the thread that will spawn them).
pub fn seize_self(state_dir: &Path) -> Result<(), InjectError> {
    request(
        &clock_dir(state_dir),
        &format!("seize {}", std::process::id()),
    )
}

/// One request to the supervisor; its `ok`, or its error.
fn request(dir: &Path, line: &str) -> Result<(), InjectError> {
    let path = dir.join(SOCKET);
    let fail = |msg: String| InjectError::Supervisor {
        path: path.clone(),
        msg,
    };
    let mut s =
        short_path(dir, SOCKET, UnixStream::connect).map_err(|e| fail(format!("connect: {e}")))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    s.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| fail(format!("write: {e}")))?;
    let mut reply = String::new();
    BufReader::new(&s)
        .read_line(&mut reply)
        .map_err(|e| fail(format!("read: {e}")))?;
    match reply.trim() {
        "ok" => Ok(()),
        "" => Err(fail("no answer".into())),
        other => Err(fail(other.to_string())),
    }
}

/// Calls `f` with a path to `dir/name` short enough for a socket address (a run directory's
/// can be longer than its 108 bytes): through `/proc/self/fd` and an `O_PATH` descriptor.
pub(crate) fn short_path<T>(
    dir: &Path,
    name: &str,
    f: impl FnOnce(PathBuf) -> io::Result<T>,
) -> io::Result<T> {
    use std::os::unix::fs::OpenOptionsExt;
    let d = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&d);
    f(PathBuf::from(format!("/proc/self/fd/{fd}/{name}")))
}

/// The createRuntime hook's work: starts `exe [TRACE...] internal-clock serve DIR PID` (PID
/// from the runtime's state on stdin; `trace` the global flags that pass the trace level
/// down) detached from the runtime, and returns once it has seized init.
pub fn start_supervisor(
    exe: &Path,
    trace: &[String],
    dir: &Path,
    state: &str,
) -> Result<(), InjectError> {
    let fail = |msg: String| InjectError::Supervisor {
        path: dir.join(SOCKET),
        msg,
    };
    let pid = serde_json::from_str::<Value>(state)
        .ok()
        .and_then(|v| v["pid"].as_i64())
        .filter(|&p| p > 0)
        .ok_or_else(|| fail(format!("no pid in the runtime's state {state:?}")))?;
    let log_path = dir.join(LOG);
    let log = std::fs::File::create(&log_path).map_err(io_err(&log_path))?;
    let mut child = Command::new(exe)
        .args(trace)
        .args(["internal-clock", "serve"])
        .arg(dir)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| fail(format!("spawn {}: {e}", exe.display())))?;
    let start = Instant::now();
    loop {
        if request(dir, "ping").is_ok() {
            return Ok(());
        }
        if let Ok(Some(st)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(fail(format!("exited ({st}): {}", log.trim())));
        }
        if start.elapsed() > READY_WAIT {
            return Err(fail("not ready after 10s".into()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Adds the clock's seccomp rules and the supervisor's createRuntime hook (`hook` is its
/// command line, first the program) to an OCI config, after any hooks it has.
pub fn apply(spec: &mut Spec, hook: &[String]) {
    crate::rules::apply(spec);
    let h = HookBuilder::default()
        .path(&hook[0])
        .args(hook.to_vec())
        .build()
        .expect("a hook with a path is complete");
    spec.hooks_mut()
        .get_or_insert_with(Hooks::default)
        .create_runtime_mut()
        .get_or_insert_with(Vec::new)
        .push(h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_and_update_without_a_supervisor() {
        let state = tempfile::tempdir().unwrap();
        let e = update(state.path(), &FakeTime::parse("+1h").unwrap()).unwrap_err();
        assert!(e.to_string().contains("not started with --faketime"), "{e}");
        let dir = prepare(state.path(), &FakeTime::parse("@2020-12-24").unwrap()).unwrap();
        let m = Model::read(&dir.join(MODEL)).unwrap();
        assert!(m.frozen);
        assert_eq!(m.base, 1_608_768_000 * 1_000_000_000);
        let e = update(state.path(), &FakeTime::parse("-1d").unwrap()).unwrap_err();
        assert!(e.to_string().contains("clock supervisor"), "{e}");
        assert!(!Model::read(&dir.join(MODEL)).unwrap().frozen, "rewritten");
    }

    #[test]
    fn the_hook_is_added_after_others() {
        let mut spec: Spec = serde_json::from_value(serde_json::json!(
            { "hooks": { "createRuntime": [{ "path": "/net" }] }, "linux": {} }
        ))
        .unwrap();
        apply(&mut spec, &["/hull".into(), "internal-clock".into()]);
        let spec = serde_json::to_value(&spec).unwrap();
        let hooks = spec["hooks"]["createRuntime"].as_array().unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[1]["args"][1], "internal-clock");
        assert!(spec["linux"]["seccomp"]["syscalls"].is_array());
    }
}
