//! One module per verb: its clap arguments and a small `exec` over hull-engine.

pub mod attach;
pub mod clock;
pub mod commit;
pub mod container;
pub mod cp;
pub mod create;
pub mod df;
pub mod diff;
pub mod events;
pub mod exec;
pub mod export;
pub mod flags;
pub mod history;
pub mod hook;
pub mod image;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod kill;
pub mod kube;
pub mod limits;
pub mod load;
pub mod login;
pub mod logs;
pub mod many;
pub mod network;
pub mod pause;
pub mod pod;
pub mod port;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod runopts;
pub mod save;
pub mod start;
pub mod stats;
pub mod stop;
pub mod system;
pub mod tag;
pub mod top;
pub mod unpause;
pub mod update;
pub mod version;
pub mod volume;
pub mod wait;

use std::path::PathBuf;
use std::sync::OnceLock;

use hull_engine::{Engine, Paths};

/// A verb's failure: the one-line message printed after "hull: " and the exit code (125 for
/// hull's own errors, as docker's; a container's own code is passed through).
#[derive(Debug)]
pub struct CmdError {
    pub msg: String,
    pub code: i32,
}

impl CmdError {
    pub fn new(msg: String) -> CmdError {
        CmdError { msg, code: 125 }
    }

    /// Exit with `code` and print nothing (a container's own exit code).
    pub fn exit(code: i32) -> CmdError {
        CmdError {
            msg: String::new(),
            code,
        }
    }

    /// The same error, exiting 1: what docker's client exits with for an error the daemon
    /// answers (`No such container`), outside `run` and `create`.
    pub fn daemon(self) -> CmdError {
        CmdError { code: 1, ..self }
    }

    pub fn exit_code(&self) -> i32 {
        self.code
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Any error exits 125 (hull's own failure, as docker's), except an engine error whose kind
/// gives docker's code for it (126/127: the container's command could not be run).
impl<E: std::error::Error + 'static> From<E> for CmdError {
    fn from(e: E) -> Self {
        let code = match (&e as &dyn std::any::Any).downcast_ref::<hull_engine::Error>() {
            Some(e) => e.exit_code(),
            None => 125,
        };
        CmdError {
            msg: e.to_string(),
            code,
        }
    }
}

pub type CmdResult = Result<(), CmdError>;

/// The end of a verb that acts on several names and goes on past a failure: done when none
/// failed, else every failure on one line, exit 1 (as docker's).
pub fn all_done(errors: Vec<String>) -> CmdResult {
    if errors.is_empty() {
        return Ok(());
    }
    Err(CmdError {
        msg: errors.join("; "),
        code: 1,
    })
}

static RUNTIME: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Called once by main with --runtime/HULL_RUNTIME.
pub fn set_runtime(r: Option<PathBuf>) {
    let _ = RUNTIME.set(r);
}

/// --runtime/HULL_RUNTIME as given (None: the default, hullrt).
pub fn runtime_flag() -> Option<PathBuf> {
    RUNTIME.get().cloned().flatten()
}

static CGROUP_MANAGER: OnceLock<Option<hull_engine::container::cgroup::CgroupManager>> =
    OnceLock::new();

/// Called once by main with --cgroup-manager/HULL_CGROUP_MANAGER.
pub fn set_cgroup_manager(m: Option<hull_engine::container::cgroup::CgroupManager>) {
    let _ = CGROUP_MANAGER.set(m);
}

/// The cgroup manager new containers get (docker info's CgroupDriver).
pub fn cgroup_manager() -> hull_engine::container::cgroup::CgroupManager {
    CGROUP_MANAGER
        .get()
        .copied()
        .flatten()
        .unwrap_or_else(hull_engine::container::cgroup::CgroupManager::host_default)
}

/// Opens the engine (state database, runtime binary, cgroup manager) for a verb.
pub fn engine(paths: &Paths) -> Result<Engine, CmdError> {
    let rt = RUNTIME.get().cloned().flatten();
    let mut eng = Engine::open(paths.clone(), rt)?;
    eng.cgroup_manager = CGROUP_MANAGER.get().copied().flatten();
    Ok(eng)
}

/// Opens the engine for a verb that runs no container (volumes, networks, images): no error
/// when the runtime binary is missing.
pub fn state_engine(paths: &Paths) -> Result<Engine, CmdError> {
    let rt = RUNTIME.get().cloned().flatten();
    let mut eng = Engine::open_state(paths.clone(), rt)?;
    eng.cgroup_manager = CGROUP_MANAGER.get().copied().flatten();
    Ok(eng)
}
