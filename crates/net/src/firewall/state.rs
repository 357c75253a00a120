//! The firewall's applied state, a JSON file changed under an exclusive flock so concurrent
//! `hull run`s each see the others' mappings.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::{FirewallError, NetworkRules, PortMapping};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallState {
    /// By network name.
    pub networks: BTreeMap<String, NetworkRules>,
    /// By owner (container id).
    pub ports: BTreeMap<String, Vec<PortMapping>>,
}

/// The state file and its lock (`<path>.lock`, so the state itself is replaced atomically).
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

/// The state, locked until dropped.
pub struct Locked {
    _lock: Flock<File>,
    path: PathBuf,
    pub state: FirewallState,
}

fn err(path: &Path, msg: impl std::fmt::Display) -> FirewallError {
    FirewallError::State {
        path: path.display().to_string(),
        msg: msg.to_string(),
    }
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Locks and reads the state (empty when there is no file yet).
    pub fn lock(&self) -> Result<Locked, FirewallError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        }
        let lockpath = self.path.with_extension("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lockpath)
            .map_err(|e| err(&lockpath, e))?;
        let lock = Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| err(&lockpath, e))?;
        let state = match File::open(&self.path) {
            Ok(mut f) => {
                let mut s = String::new();
                f.read_to_string(&mut s).map_err(|e| err(&self.path, e))?;
                serde_json::from_str(&s).map_err(|e| err(&self.path, e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FirewallState::default(),
            Err(e) => return Err(err(&self.path, e)),
        };
        Ok(Locked {
            _lock: lock,
            path: self.path.clone(),
            state,
        })
    }
}

impl Locked {
    /// Writes the state: a temporary file renamed over the old one, so a crash leaves the old
    /// or the new state, never a torn one.
    pub fn save(&self) -> Result<(), FirewallError> {
        let tmp = self.path.with_extension("tmp");
        let body = serde_json::to_vec_pretty(&self.state).map_err(|e| err(&self.path, e))?;
        let mut f = File::create(&tmp).map_err(|e| err(&tmp, e))?;
        f.write_all(&body).map_err(|e| err(&tmp, e))?;
        f.sync_all().map_err(|e| err(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| err(&self.path, e))
    }
}
