//! `hull rm`: a stopped container's directories, overlay, runtime state and row; `-f` kills a
//! running one first; `-v` also removes its anonymous volumes. Each step is idempotent, so a
//! remove racing the monitor's own --rm cleanup, or after a killed hull, finishes the job.

use crate::container::config::MountKind;
use crate::container::{self, Container};
use crate::engine::Engine;
use crate::{container::stop, volume};

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("cannot remove container {0}: container is running: stop the container before removing or force remove")]
    Running(String),
    #[error(transparent)]
    Container(#[from] container::ContainerError),
}

pub fn remove(eng: &Engine, c: &Container, force: bool, volumes: bool) -> Result<(), RemoveError> {
    if c.status.is_live() {
        if !force {
            return Err(RemoveError::Running(c.name.clone()));
        }
        let _ = container::set_stop_requested(&eng.conn, &c.id, true);
        // This process tears the container down when it exits (no hook process).
        let waiter = stop::ExitWaiter::connect(eng, c, true);
        // Straight to the init: one runtime process fewer per container.
        if !crate::container::reconcile::sigkill_init(c) {
            crate::container::reconcile::kill_init(eng, c, 9);
            stop::thaw_after_kill(eng, c, 9);
        }
        waiter.wait(eng, c, Some(std::time::Duration::from_secs(30)));
        if crate::container::reconcile::monitor_alive(c.monitor_pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.monitor_pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    remove_all(eng, c, volumes);
    Ok(())
}

/// Removes everything of `c` regardless of its state.
pub fn remove_all(eng: &Engine, c: &Container, volumes: bool) {
    // The exit's teardown (the monitor's hook, or this process's) deleted the runtime's
    // state already; a runtime process is started only when some is left.
    if eng.paths.runtime_root().join(&c.id).exists() {
        eng.oci.delete_force(&c.id);
    }
    eng.bundler.release(eng, c);
    remove_files(eng, c, volumes);
}

/// The row, the directories and (`volumes`) the anonymous volumes, once the runtime's state,
/// the network and the mounts are gone (the monitor's hook, or [`remove_all`], took them down).
pub fn remove_files(eng: &Engine, c: &Container, volumes: bool) {
    // The row first: killed after it, the directories are left without one, which `system
    // check` finds and removes; the other way round would leave a row whose files are half
    // gone, a container that can neither start nor be told from a healthy one.
    if container::delete(&eng.conn, &c.id).unwrap_or(false) {
        crate::events::container(&eng.paths, c, "destroy", &[]);
    }
    hull_sys::fault_point("hull-rm-files");
    let _ = std::fs::remove_dir_all(eng.paths.run_dir(&c.id));
    let _ = std::fs::remove_dir_all(eng.paths.container_dir(&c.id));
    if volumes {
        for m in c
            .config
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Volume && m.anonymous)
        {
            let _ = volume::remove(&eng.conn, &eng.paths, &m.source);
        }
    }
}

impl Engine {
    /// `rm`: removes the container `key` (a running one only with `force`, which kills it
    /// first), and its anonymous volumes with `volumes`.
    pub fn remove(&self, key: &str, force: bool, volumes: bool) -> crate::Result<()> {
        let c = self.lookup(key)?;
        Ok(remove(self, &c, force, volumes)?)
    }
}
