//! The monitor's hook (`hull internal-hook started|exited ID VALUE`): records what happened
//! in the state database, tears the container's runtime state down, applies the restart
//! policy (exit status 3 asks the monitor to start the container again) and --rm.

use crate::container::config::Restart;
use crate::container::remove;
use crate::container::{self, Container};
use crate::engine::Engine;

/// Exit status that tells the monitor to restart the container.
pub const RESTART: i32 = 3;

/// The monitor saw an OOM kill while the container ran (cgroup v2: under systemd its scope's
/// cgroup is gone by now), or the container's cgroup (wherever it is: a pod's containers live
/// under the pod's parent) recorded one.
fn oom_killed(eng: &Engine, c: &Container) -> bool {
    if eng.paths.oom_file(&c.id).exists() {
        return true;
    }
    let path = crate::container::cgroup::cgroups_path(c);
    crate::container::cgroup::manager(&path, &c.id)
        .and_then(|m| m.oom_kill_count())
        .is_ok_and(|n| n > 0)
}

/// The restart policy's decision after an exit with `code`: never after a stop or kill by
/// the user; `always` and `unless-stopped` always; `on-failure[:N]` on a non-zero code, at
/// most N times (0: no limit).
pub fn should_restart(c: &Container, code: i32) -> bool {
    if c.stop_requested {
        return false;
    }
    let p = &c.config.restart;
    match p.name {
        Restart::Always | Restart::UnlessStopped => true,
        Restart::OnFailure => code != 0 && (p.max_retries == 0 || c.restart_count < p.max_retries),
        Restart::No => false,
    }
}

/// `exited ID CODE`: returns the hook's exit status (0, or RESTART).
pub fn exited(eng: &Engine, id: &str, code: i32) -> i32 {
    record_exit(eng, id, code, true)
}

/// Records the exit and tears the container down, or (`may_restart`, the policy agreeing)
/// keeps its network for the monitor's restart. Also run by hull itself for a container
/// whose monitor is dead (reconcile.rs).
pub fn record_exit(eng: &Engine, id: &str, code: i32, may_restart: bool) -> i32 {
    let _span = tracing::debug_span!("exit_hook", id).entered();
    let Ok(c) = container::lookup(&eng.conn, id) else {
        tracing::debug!(code, "no such container: nothing to record");
        return 0;
    };
    tracing::debug!(code, "record the exit");
    let oom = oom_killed(eng, &c);
    // The runtime's delete (its state, the cgroup) runs beside the rest of the teardown.
    let delete = eng.oci.start_delete(id);
    let now = crate::time::nanotime::now_nanos();
    let _ = container::set_exited(&eng.conn, id, code, oom, &now);
    if oom {
        crate::events::container(&eng.paths, &c, "oom", &[]);
    }
    crate::events::container(&eng.paths, &c, "die", &[("exitCode", code.to_string())]);
    if may_restart && should_restart(&c, code) {
        delete.wait();
        let _ = container::bump_restart(&eng.conn, id);
        tracing::debug!("the restart policy brings it back");
        return RESTART;
    }
    // Not restarting: the network and the mounts go (a restart keeps namespace, address
    // and ports).
    eng.bundler.release(eng, &c);
    if c.config.auto_remove {
        remove::remove_files(eng, &c, true);
    } else {
        let _ = std::fs::remove_dir_all(eng.paths.run_dir(id));
    }
    delete.wait();
    tracing::debug!(removed = c.config.auto_remove, "torn down");
    0
}

/// `network ID 0`, the createRuntime hook of a container whose namespace is wired once the
/// runtime has made it (a remapped one): `state` is the runtime's state JSON, with the pid.
pub fn network(eng: &Engine, id: &str, state: &str) -> Result<(), String> {
    let pid = serde_json::from_str::<serde_json::Value>(state)
        .ok()
        .and_then(|v| v["pid"].as_i64())
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("network hook: no pid in the runtime's state {state:?}"))?;
    let c = container::lookup(&eng.conn, id).map_err(|e| e.to_string())?;
    crate::network::hooks::created(eng, &c, pid as i32).map_err(|e| {
        // For the starter, which reports it instead of the runtime's account of the hook.
        let _ = std::fs::write(hook_error_file(eng, id), e.to_string());
        e.to_string()
    })
}

fn hook_error_file(eng: &Engine, id: &str) -> std::path::PathBuf {
    eng.paths.run_dir(id).join("hook-error")
}

/// The message of a createRuntime hook of ours that failed the start, if one did.
pub fn take_hook_error(eng: &Engine, id: &str) -> Option<String> {
    let p = hook_error_file(eng, id);
    let msg = std::fs::read_to_string(&p).ok()?;
    let _ = std::fs::remove_file(&p);
    Some(msg)
}

/// `started ID PID` after a restart by the policy.
pub fn started(eng: &Engine, id: &str, pid: i32) -> i32 {
    let monitor = nix::unistd::getppid().as_raw();
    let now = crate::time::nanotime::now_nanos();
    let _ = container::set_running(&eng.conn, id, pid, monitor, &now);
    if let Ok(c) = container::lookup(&eng.conn, id) {
        crate::container::health::reset(&eng.paths, &c);
    }
    0
}
