//! What a container is, as kept on disk between hullrt invocations (ROOT/ID/state.json), and
//! its status, which is always worked out from the kernel, never trusted from the file: a
//! container whose process was killed by someone else reads as stopped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Hooks;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const OCI_VERSION: &str = "1.2.0";
const STATE_FILE: &str = "state.json";
pub const FIFO: &str = "exec.fifo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(s)
    }
}

/// The record of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub pid: i32,
    /// Start time of `pid` in clock ticks, to tell it from a later process with the same pid.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub created: String,
    pub owner: String,
    pub cgroups_path: Option<String>,
    pub hooks: Option<Hooks>,
    /// Whether the container has a pid namespace of its own: if not, killing its init does
    /// not end its other processes, so delete must kill every process in its cgroup.
    pub private_pid_ns: bool,
}

/// The OCI state document that `hullrt state` prints and hooks get on stdin.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'static str,
    pub id: &'a str,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    /// Left out when empty, as runc leaves it out of both `state` and the hooks' state.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

pub fn valid_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadId(id.to_string()))
    }
}

pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

impl Saved {
    pub fn load(root: &Path, id: &str) -> Result<Saved> {
        valid_id(id)?;
        let path = dir(root, id).join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(Error::sys("read", &path, e)),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Other(format!("{}: corrupt state: {e}", path.display())))
    }

    /// Written to a temporary file and renamed, so a reader never sees half a state.
    pub fn save(&self, root: &Path) -> Result<()> {
        let d = dir(root, &self.id);
        let tmp = d.join(".state.json.tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| Error::Other(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(|e| Error::sys("write", &tmp, e))?;
        std::fs::rename(&tmp, d.join(STATE_FILE)).map_err(|e| Error::sys("rename", &tmp, e))
    }

    /// Whether `pid` is still our process (not a zombie, not a reused pid).
    pub fn alive(&self) -> bool {
        match hull_sys::process_start_time(self.pid) {
            Some((start, state)) => start == self.start_time && state != 'Z' && state != 'X',
            None => false,
        }
    }

    pub fn status(&self, root: &Path) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        // Paused first, as runc: a created container can be paused too, and must then read
        // as paused for resume to accept it.
        if crate::cgroup::is_paused(self) {
            return Status::Paused;
        }
        if dir(root, &self.id).join(FIFO).exists() {
            return Status::Created;
        }
        Status::Running
    }

    pub fn oci<'a>(&'a self, status: Status) -> OciState<'a> {
        OciState {
            oci_version: OCI_VERSION,
            id: &self.id,
            status,
            pid: (status != Status::Stopped).then_some(self.pid),
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }
}

/// RFC 3339 UTC time with nanoseconds, as runc prints `created`.
pub fn now_rfc3339() -> String {
    hull_clock::civil::format_system_time(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("abc-1_2.x").is_ok());
        assert!(valid_id("../etc").is_err());
        assert!(valid_id("a/b").is_err());
        assert!(valid_id("").is_err());
    }

    #[test]
    fn time_format() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20"), "{t}");
        assert!(t.ends_with('Z'));
    }
}
