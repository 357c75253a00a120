//! The OCI runtime's CLI as the engine calls it directly (the monitor runs create and start):
//! kill, delete, state, exec, pause, resume, update, with `--root <runroot>/runtime`.

use std::process::{Command, Output, Stdio};

use crate::engine::Engine;

#[derive(Debug, thiserror::Error)]
#[error("runtime {runtime} {verb}: {msg}")]
pub struct RuntimeError {
    pub runtime: String,
    pub verb: String,
    pub msg: String,
}

/// A runtime command with the engine's --root.
pub fn command(eng: &Engine) -> Command {
    let mut c = Command::new(&eng.runtime);
    c.arg("--root").arg(eng.paths.runtime_root());
    // Traced at debug: the runtime's --debug lines go to our stderr, as the monitor's do.
    if let Some(level) = hull_trace::current_level() {
        c.args(hull_monitor::trace::runtime_args(
            level,
            std::process::id() as i32,
        ));
    }
    c
}

/// Runs `runtime VERB ARGS...` and returns its output; an error carries its stderr.
pub fn run(eng: &Engine, verb: &str, args: &[&str]) -> Result<Output, RuntimeError> {
    let out = command(eng)
        .arg(verb)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RuntimeError {
            runtime: eng.runtime.display().to_string(),
            verb: verb.into(),
            msg: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(RuntimeError {
            runtime: eng.runtime.display().to_string(),
            verb: verb.into(),
            msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

/// `kill ID SIGNAL`.
pub fn kill(eng: &Engine, id: &str, signal: i32) -> Result<(), RuntimeError> {
    run(eng, "kill", &[id, &signal.to_string()]).map(|_| ())
}

/// `delete --force ID`, errors ignored (it may be gone already).
pub fn delete_force(eng: &Engine, id: &str) {
    let _ = run(eng, "delete", &["--force", id]);
}

/// Starts `delete --force ID` without waiting (see `wait_delete`).
pub fn spawn_delete(eng: &Engine, id: &str) -> Option<std::process::Child> {
    command(eng)
        .args(["delete", "--force", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Waits for a delete from `spawn_delete`.
pub fn wait_delete(child: Option<std::process::Child>) {
    if let Some(mut c) = child {
        let _ = c.wait();
    }
}
