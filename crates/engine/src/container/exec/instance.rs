//! Exec instances: docker's exec is created, then started, then inspected (the client reads
//! the exit code from the inspect after the stream ends). An instance is a JSON file in its
//! container's run directory, so it lives as long as the container runs, in whatever process
//! asks (the service's requests each open their own engine).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ExecError, Opts};
use crate::engine::Engine;

/// One exec, as docker's `exec inspect` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecInstance {
    pub id: String,
    pub container_id: String,
    pub args: Vec<String>,
    pub opts: Opts,
    pub started: bool,
    pub running: bool,
    /// Once it ended (None while it runs, and for a detached exec).
    pub exit_code: Option<i32>,
    /// The process's pid on the host, once started (0 before).
    #[serde(default)]
    pub pid: i32,
}

/// Where instance `id` of container `cid` is kept.
fn file(eng: &Engine, cid: &str, id: &str) -> PathBuf {
    eng.paths.run_dir(cid).join(format!("exec-{id}.instance"))
}

/// Where the runtime writes the process's pid (`--pid-file`): named by the id's last 12
/// digits, its own (the first 12 are the container's).
pub(super) fn pid_file(eng: &Engine, cid: &str, id: &str) -> PathBuf {
    eng.paths
        .run_dir(cid)
        .join(format!("exec-{}.pid", &id[id.len().saturating_sub(12)..]))
}

/// The digits of an exec id taken from its container's id: [`ExecInstance::load`] finds
/// the container by them (an indexed lookup) instead of looking in every container's
/// directory, which made each exec cost more the more containers there were (issue 23).
const OWNER_DIGITS: usize = 12;

impl ExecInstance {
    pub(super) fn new(container_id: &str, args: Vec<String>, opts: Opts) -> ExecInstance {
        ExecInstance {
            // 64 hex digits as docker's: the container's first 12, then random ones.
            id: format!(
                "{}{}",
                &container_id[..OWNER_DIGITS],
                &crate::container::names::new_id()[OWNER_DIGITS..]
            ),
            container_id: container_id.into(),
            args,
            opts,
            started: false,
            running: false,
            exit_code: None,
            pid: 0,
        }
    }

    pub(super) fn save(&self, eng: &Engine) -> std::io::Result<()> {
        let path = file(eng, &self.container_id, &self.id);
        let tmp = path.with_extension("tmp");
        hull_image::perms::write_private(&tmp, &serde_json::to_vec(self).expect("json"))?;
        std::fs::rename(tmp, path)
    }

    /// The instance `id` (its full id) of whichever container has it.
    pub(super) fn load(eng: &Engine, id: &str) -> crate::Result<ExecInstance> {
        let missing = || crate::Error::NotFound(ExecError::NoSuchExec(id.into()).to_string());
        if id.len() < 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(missing());
        }
        let parse = |data: Vec<u8>| {
            serde_json::from_slice(&data)
                .map_err(|e| crate::Error::Internal(format!("exec instance {id}: {e}")))
        };
        if let Ok(c) = crate::state::containers::lookup(&eng.conn, &id[..OWNER_DIGITS]) {
            if let Ok(data) = std::fs::read(file(eng, &c.id, id)) {
                return parse(data);
            }
        }
        // Not found so (an id made before exec ids carried their container's digits): every
        // container's directory.
        let dirs =
            std::fs::read_dir(eng.paths.runroot.join("containers")).map_err(|_| missing())?;
        for d in dirs.flatten() {
            let cid = d.file_name().to_string_lossy().into_owned();
            if let Ok(data) = std::fs::read(file(eng, &cid, id)) {
                return parse(data);
            }
        }
        Err(missing())
    }

    pub(super) fn remove(eng: &Engine, id: &str) {
        if let Ok(x) = ExecInstance::load(eng, id) {
            let _ = std::fs::remove_file(file(eng, &x.container_id, id));
            let _ = std::fs::remove_file(pid_file(eng, &x.container_id, id));
        }
    }

    /// With the pid the runtime wrote, and a detached exec whose process is gone marked so.
    pub(super) fn refreshed(mut self, eng: &Engine) -> ExecInstance {
        if let Some(pid) = std::fs::read_to_string(pid_file(eng, &self.container_id, &self.id))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            self.pid = pid;
        }
        if self.running && self.opts.detach && self.pid > 0 {
            self.running = std::path::Path::new(&format!("/proc/{}", self.pid)).exists();
        }
        self
    }
}
