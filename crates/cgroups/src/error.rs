//! The crate's error type. Every message is lowercase and names the file (or the spec field)
//! and the value it is about.

use std::path::PathBuf;

use nix::errno::Errno;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while managing a cgroup.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a value to a cgroup file failed.
    #[error("write {value} to {}: {errno:?}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        errno: Errno,
    },
    /// Reading a cgroup file failed.
    #[error("read {}: {errno:?}", path.display())]
    Read { path: PathBuf, errno: Errno },
    /// A cgroup file held something we could not parse.
    #[error("parse {}: unexpected content {content:?}", path.display())]
    Parse { path: PathBuf, content: String },
    /// A directory operation (mkdir, rmdir, open, readdir) failed.
    #[error("{op} {}: {errno:?}", path.display())]
    Dir {
        op: &'static str,
        path: PathBuf,
        errno: Errno,
    },
    /// The user set a field the running kernel (or cgroup version) has no file for.
    #[error("linux.resources.{field}: not supported by this kernel")]
    Unsupported { field: String },
    /// The user set a field to a value we refuse before touching the kernel.
    #[error("linux.resources.{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// `linux.cgroupsPath` is unusable.
    #[error("linux.cgroupsPath {path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    /// No cgroup file system is mounted where we look.
    #[error("no cgroup hierarchy mounted at {}", path.display())]
    NotMounted { path: PathBuf },
    /// A controller the operation needs is not mounted (v1) or enabled (v2).
    #[error("cgroup controller {controller} is not available for {}", path.display())]
    NoController {
        controller: &'static str,
        path: PathBuf,
    },
    /// Waiting for the kernel to reach a state timed out.
    #[error("timed out after {secs}s waiting for {} to {what}", path.display())]
    Timeout {
        path: PathBuf,
        what: &'static str,
        secs: u64,
    },
    /// Sending a signal to a member of the cgroup failed.
    #[error("kill -{signal} {pid} (member of {}): {errno:?}", path.display())]
    Kill {
        pid: i32,
        signal: &'static str,
        path: PathBuf,
        errno: Errno,
    },
    /// A bpf(2) call for the v2 device filter failed.
    #[error("bpf {op} for {}: {errno:?}{}", path.display(), if log.is_empty() { String::new() } else { format!(" (verifier: {log})") })]
    Bpf {
        op: &'static str,
        path: PathBuf,
        errno: Errno,
        log: String,
    },
    /// A call of systemd's D-Bus API failed (the systemd cgroup driver).
    #[error("systemd: {op}: {msg}")]
    Systemd { op: String, msg: String },
    /// destroy() ran into several failures; it keeps going and reports all of them.
    #[error("destroy {}: {}", path.display(), errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Destroy { path: PathBuf, errors: Vec<Error> },
}

impl Error {
    pub(crate) fn unsupported(field: impl Into<String>) -> Self {
        Error::Unsupported {
            field: field.into(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The errno inside an io::Error (EIO when it has none, which std never does for syscalls).
pub(crate) fn errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO)
}
