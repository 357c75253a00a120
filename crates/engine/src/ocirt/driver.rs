//! The OCI runtime's CLI as the engine calls it directly (the monitor runs create and start):
//! kill, delete, pause, resume, with `--root <runroot>/runtime`. The lifecycle asks through
//! the [`OciRuntime`] trait (the engine's `oci`), so its ordering and rollback can be tested
//! with a fake (ocirt/fake.rs). exec wires the process's stdio itself: the trait gives it
//! the command to spawn ([`OciRuntime::exec`]), which the fake makes a shell script.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::engine::Engine;

#[derive(Debug, thiserror::Error)]
#[error("runtime {runtime} {verb}: {msg}")]
pub struct RuntimeError {
    pub runtime: String,
    pub verb: String,
    pub msg: String,
}

/// What the engine asks of the OCI runtime, by container id.
pub trait OciRuntime {
    /// `kill ID SIGNAL`.
    fn kill(&self, id: &str, signal: i32) -> Result<(), RuntimeError>;
    /// `pause ID`.
    fn pause(&self, id: &str) -> Result<(), RuntimeError>;
    /// `resume ID`.
    fn resume(&self, id: &str) -> Result<(), RuntimeError>;
    /// `delete --force ID`, errors ignored (it may be gone already).
    fn delete_force(&self, id: &str);
    /// Starts `delete --force ID` without waiting: the caller tears the rest down meanwhile
    /// and then [`Deleting::wait`]s.
    fn start_delete(&self, id: &str) -> Deleting;
    /// `update --resources - ID` with `resources` (OCI `linux.resources`) on its stdin.
    fn update(&self, id: &str, resources: &serde_json::Value) -> Result<(), RuntimeError>;
    /// The command of `exec --process FILE [--console-socket S] [--pid-file P] [--detach] ID`,
    /// for the caller to wire its stdio and spawn.
    fn exec(&self, id: &str, call: &ExecCall) -> Command;
}

/// What an exec asks of the runtime (files relative to `dir`, the command's working
/// directory: a console socket's path must be short).
#[derive(Debug, Clone)]
pub struct ExecCall {
    pub dir: PathBuf,
    pub process: PathBuf,
    pub console_socket: Option<String>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
}

/// A delete under way ([`OciRuntime::start_delete`]).
#[must_use = "wait for the delete before the container's state is reused"]
pub struct Deleting(Option<Box<dyn FnOnce() + Send>>);

impl Deleting {
    pub fn new(wait: impl FnOnce() + Send + 'static) -> Deleting {
        Deleting(Some(Box::new(wait)))
    }

    /// Waits until the delete has finished (its outcome is not reported: see delete_force).
    pub fn wait(mut self) {
        if let Some(w) = self.0.take() {
            w()
        }
    }
}

/// A delete nobody waited for (a caller unwinding) is waited for here: a long-lived caller
/// would keep a zombie.
impl Drop for Deleting {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            w()
        }
    }
}

/// The runtime's CLI (runc's): `RUNTIME --root ROOT VERB ARGS...`.
pub struct Cli {
    pub runtime: PathBuf,
    pub root: PathBuf,
}

impl Cli {
    /// A runtime command with the engine's --root.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.runtime);
        c.arg("--root").arg(&self.root);
        // Traced at debug: the runtime's --debug lines go to our stderr, as the monitor's do.
        if let Some(level) = hull_trace::current_level() {
            c.args(hull_monitor::trace::runtime_args(
                level,
                std::process::id() as i32,
            ));
        }
        c
    }

    fn err(&self, verb: &str, msg: String) -> RuntimeError {
        RuntimeError {
            runtime: self.runtime.display().to_string(),
            verb: verb.into(),
            msg,
        }
    }

    /// Runs `runtime VERB ARGS...` and returns its output; an error carries its stderr.
    pub fn run(&self, verb: &str, args: &[&str]) -> Result<Output, RuntimeError> {
        let out = self
            .command()
            .arg(verb)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.err(verb, e.to_string()))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(self.err(verb, msg));
        }
        Ok(out)
    }
}

impl OciRuntime for Cli {
    fn kill(&self, id: &str, signal: i32) -> Result<(), RuntimeError> {
        self.run("kill", &[id, &signal.to_string()]).map(|_| ())
    }

    fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        self.run("pause", &[id]).map(|_| ())
    }

    fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        self.run("resume", &[id]).map(|_| ())
    }

    fn delete_force(&self, id: &str) {
        let _ = self.run("delete", &["--force", id]);
    }

    fn start_delete(&self, id: &str) -> Deleting {
        let child = self
            .command()
            .args(["delete", "--force", id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        Deleting::new(move || {
            if let Some(mut c) = child {
                let _ = c.wait();
            }
        })
    }

    fn update(&self, id: &str, resources: &serde_json::Value) -> Result<(), RuntimeError> {
        use std::io::Write;
        let mut child = self
            .command()
            .args(["update", "--resources", "-", id])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.err("update", e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(resources.to_string().as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| self.err("update", e.to_string()))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(self.err("update", msg));
        }
        Ok(())
    }

    fn exec(&self, id: &str, call: &ExecCall) -> Command {
        let mut cmd = self.command();
        cmd.current_dir(&call.dir)
            .arg("exec")
            .arg("--process")
            .arg(&call.process);
        if let Some(s) = &call.console_socket {
            cmd.arg("--console-socket").arg(s);
        }
        if let Some(p) = &call.pid_file {
            cmd.arg("--pid-file").arg(p);
        }
        if call.detach {
            cmd.arg("--detach");
        }
        cmd.arg(id);
        cmd
    }
}

/// The CLI driver of the engine's runtime binary and root.
pub fn cli(runtime: &Path, root: PathBuf) -> Cli {
    Cli {
        runtime: runtime.to_path_buf(),
        root,
    }
}

/// A runtime command with the engine's --root (exec and update wire its stdio themselves).
pub fn command(eng: &Engine) -> Command {
    cli(&eng.runtime, eng.paths.runtime_root()).command()
}

/// Runs `runtime VERB ARGS...` and returns its output; an error carries its stderr.
pub fn run(eng: &Engine, verb: &str, args: &[&str]) -> Result<Output, RuntimeError> {
    cli(&eng.runtime, eng.paths.runtime_root()).run(verb, args)
}
