//! The runtime's error type: every message names what it is about (a config field, a path, a
//! container) so that one line is enough to act on.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json is unreadable, malformed, or asks for something invalid.
    #[error("config.json: {field}: {reason}")]
    Config { field: String, reason: String },
    /// A system call on a named object failed.
    #[error("{what} {path}: {source}")]
    Sys {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A system call with no path of its own failed.
    #[error("{what}: {source}")]
    Call {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("container {0:?} does not exist")]
    NotFound(String),
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("container {id:?}: {reason}")]
    State { id: String, reason: String },
    #[error(
        "invalid container id {0:?}: use letters, digits, '_', '-', '.' (not starting with '.')"
    )]
    BadId(String),
    #[error("hook {kind}[{index}] {path}: {reason}")]
    Hook {
        kind: &'static str,
        index: usize,
        path: PathBuf,
        reason: String,
    },
    #[error("cgroup: {0}")]
    Cgroup(String),
    /// An error reported by the container's init process over the sync socket.
    #[error("{0}")]
    Init(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn sys(what: &'static str, path: impl Into<PathBuf>, source: impl Into<io::Error>) -> Self {
        Error::Sys {
            what,
            path: path.into(),
            source: source.into(),
        }
    }

    pub fn call(what: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Error::Call {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Attach a description to a bare errno from nix.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
    fn at(self, what: &'static str, path: impl AsRef<std::path::Path>) -> Result<T>;
}

impl<T, E: Into<io::Error>> Context<T> for std::result::Result<T, E> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::call(what(), e))
    }
    fn at(self, what: &'static str, path: impl AsRef<std::path::Path>) -> Result<T> {
        self.map_err(|e| Error::sys(what, path.as_ref(), e))
    }
}
