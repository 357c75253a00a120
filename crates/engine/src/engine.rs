//! An open engine: the paths, the state database (tables ensured), and the binaries a
//! command drives (the OCI runtime, hull-monitor, hull itself for the monitor's exit hook).

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::bundle::{host::HostBundler, Bundler};
use crate::ocirt::driver::OciRuntime;
use crate::ocirt::monitor::{HullMonitor, Monitor};
use crate::{container, state, Paths};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Db(#[from] state::DbError),
    #[error(transparent)]
    Container(#[from] container::ContainerError),
    #[error("store {root}: {source}")]
    Store {
        root: String,
        source: std::io::Error,
    },
    #[error("{what} not found: looked next to {exe} and in PATH")]
    Binary { what: String, exe: String },
}

pub struct Engine {
    pub paths: Paths,
    pub(crate) conn: Connection,
    /// The OCI runtime binary (runc's CLI).
    pub runtime: PathBuf,
    /// --cgroup-manager/HULL_CGROUP_MANAGER; None: the host's default (crate::container::cgroup).
    pub cgroup_manager: Option<crate::container::cgroup::CgroupManager>,
    /// What the lifecycle asks of the OCI runtime (its CLI, `runtime`).
    pub oci: Box<dyn OciRuntime>,
    /// The monitor a start spawns (hull-monitor).
    pub monitor: Box<dyn Monitor>,
    /// The bundle a start makes on the host (mounts, network, config.json).
    pub bundler: Box<dyn Bundler>,
}

impl Engine {
    /// Opens the state; `runtime` from --runtime/HULL_RUNTIME, else `hullrt` next to hull,
    /// else from PATH.
    pub fn open(paths: Paths, runtime: Option<PathBuf>) -> Result<Engine, EngineError> {
        paths.secure().map_err(|source| EngineError::Store {
            root: paths.root.display().to_string(),
            source,
        })?;
        let conn = state::open(&paths.db())?;
        let runtime = match runtime {
            Some(r) if !r.as_os_str().is_empty() => r,
            _ => find_binary("hullrt")?,
        };
        Ok(Engine {
            oci: Box::new(crate::ocirt::driver::cli(&runtime, paths.runtime_root())),
            monitor: Box::new(HullMonitor),
            bundler: Box::new(HostBundler),
            paths,
            conn,
            runtime,
            cgroup_manager: None,
        })
    }

    /// Opens the state for verbs that never run a container (volumes, networks, images):
    /// as `open`, but a runtime binary that cannot be found is no error (`hullrt` from PATH
    /// is named for a verb that would need it).
    pub fn open_state(paths: Paths, runtime: Option<PathBuf>) -> Result<Engine, EngineError> {
        let runtime = match runtime {
            Some(r) if !r.as_os_str().is_empty() => Some(r),
            _ => find_binary("hullrt").ok(),
        };
        Engine::open(
            paths,
            Some(runtime.unwrap_or_else(|| PathBuf::from("hullrt"))),
        )
    }

    /// The cgroup manager new containers and pods get.
    pub fn cgroup_manager(&self) -> crate::container::cgroup::CgroupManager {
        self.cgroup_manager
            .unwrap_or_else(crate::container::cgroup::CgroupManager::host_default)
    }

    /// A container by name or id, with its status checked against the kernel.
    pub fn lookup(&self, key: &str) -> Result<container::Container, container::ContainerError> {
        let mut c = container::lookup(&self.conn, key)?;
        crate::container::reconcile::reconcile(self, &mut c);
        c.health = container::health::load(&self.paths, &c);
        Ok(c)
    }

    /// Every container as stored, statuses not checked (for a report that must work without
    /// the runtime).
    pub fn list_stored(&self) -> Result<Vec<container::Container>, container::ContainerError> {
        container::list(&self.conn)
    }

    /// Every container, statuses checked.
    pub fn list(&self) -> Result<Vec<container::Container>, container::ContainerError> {
        let mut all = container::list(&self.conn)?;
        for c in &mut all {
            crate::container::reconcile::reconcile(self, c);
            c.health = container::health::load(&self.paths, c);
        }
        Ok(all)
    }
}

/// `name` next to the running executable, else in PATH.
pub fn find_binary(name: &str) -> Result<PathBuf, EngineError> {
    let exe = std::env::current_exe().unwrap_or_default();
    if let Some(dir) = exe.parent() {
        let p = dir.join(name);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if is_executable(&p) {
                return Ok(p);
            }
        }
    }
    Err(EngineError::Binary {
        what: name.into(),
        exe: exe.display().to_string(),
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
