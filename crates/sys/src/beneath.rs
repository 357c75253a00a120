//! Opening and creating paths beneath a directory fd without ever leaving it: the one home of
//! the runtime's mount targets in a rootfs, image extraction into a layer directory and
//! `hull cp` into a container.
//!
//! Every lookup is one `openat2(2)` from the directory fd, with one of two rules ([`Resolve`]):
//! - [`Resolve::InRoot`]: the directory is the path's `/`; `..` and absolute symlinks stop at
//!   it (RESOLVE_IN_ROOT). For a rootfs whose own symlinks must work (`/var/run -> /run`).
//! - [`Resolve::NoSymlinks`]: no symlink is followed at all and `..` may not climb above the
//!   directory (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): it fails with ELOOP or EXDEV. For
//!   writing a tree whose links belong to someone else (a layer, a running container).
//!
//! Magic links (`/proc/self/fd/N`) are refused under both. Directories are created one name
//! at a time: `mkdirat` in the fd of the parent just opened, then the prefix reopened from the
//! root with the same rule, so a symlink swapped in for a directory between the two calls
//! cannot carry the next name out (CVE-2018-15664, CVE-2021-30465). A failure says which
//! component and which step failed ([`Failed`]), so each caller words its own error.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

/// How a path beneath the directory is resolved (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// RESOLVE_IN_ROOT: the directory acts as `/`; symlinks are followed but stay inside.
    InRoot,
    /// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: no symlink followed, no `..` above the directory.
    NoSymlinks,
}

impl Resolve {
    fn flags(self) -> u64 {
        let rule = match self {
            Resolve::InRoot => libc::RESOLVE_IN_ROOT,
            Resolve::NoSymlinks => libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS,
        };
        rule | libc::RESOLVE_NO_MAGICLINKS
    }
}

/// The step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    Mkdir,
    Create,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Open => "open",
            Op::Mkdir => "mkdir",
            Op::Create => "create",
        }
    }
}

/// Which component failed, at which step, and why. `path` is relative to the directory and
/// ends at the failing component (`a/b` when `a/b/c` was asked and `a/b` is a symlink).
#[derive(Debug)]
pub struct Failed {
    pub op: Op,
    pub path: PathBuf,
    pub error: io::Error,
}

impl Failed {
    fn new(op: Op, path: &Path, error: io::Error) -> Self {
        Failed {
            op,
            path: path.to_path_buf(),
            error,
        }
    }

    /// The errno, for callers that word their own message per case.
    pub fn errno(&self) -> Option<i32> {
        self.error.raw_os_error()
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.op.as_str(),
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `openat2(2)` of `path` beneath `dir` under `resolve`, with open `flags` (O_CLOEXEC is
/// added) and, when `flags` has O_CREAT, `mode`. An empty path or `/` opens `dir` itself.
pub fn open(
    dir: BorrowedFd<'_>,
    path: &Path,
    resolve: Resolve,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let cpath = cstr(rel)?;
    // SAFETY: open_how is a plain C struct of integers, for which all-zeroes is valid; it is
    // non-exhaustive in libc because the kernel may grow it.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = u64::from(mode);
    how.resolve = resolve.flags();
    // SAFETY: `cpath` is a valid NUL-terminated string and `how` a fully initialised open_how
    // whose size is passed; the kernel only reads them. On success the returned fd is new and
    // owned by no one else.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            cpath.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    let fd = super::cvt(ret)? as RawFd;
    // SAFETY: fd was just returned by the kernel and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The names of `path` to walk: `/` and `.` dropped, `..` kept for the kernel to judge.
fn names(path: &Path) -> Vec<&std::ffi::OsStr> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            Component::ParentDir => Some(std::ffi::OsStr::new("..")),
            _ => None,
        })
        .collect()
}

/// `mkdir -p` beneath `dir`: every missing directory of `path` is made (with `mode`) in its
/// parent's fd, then reopened from `dir` under `resolve`. Returns the last directory opened
/// with `flags` (O_DIRECTORY is added; O_PATH or O_RDONLY).
pub fn mkdir_all(
    dir: BorrowedFd<'_>,
    path: &Path,
    resolve: Resolve,
    mode: libc::mode_t,
    flags: libc::c_int,
) -> Result<OwnedFd, Failed> {
    let flags = flags | libc::O_DIRECTORY;
    match open(dir, path, resolve, flags, 0) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => {
            // Name the first component that is wrong, not the whole path.
            let mut cur = PathBuf::new();
            for n in names(path) {
                cur.push(n);
                if let Err(e) = open(dir, &cur, resolve, flags, 0) {
                    return Err(Failed::new(Op::Open, &cur, e));
                }
            }
            return Err(Failed::new(Op::Open, path, e));
        }
    }
    let mut parent = open(dir, Path::new("."), resolve, libc::O_PATH | flags, 0)
        .map_err(|e| Failed::new(Op::Open, Path::new("."), e))?;
    let mut cur = PathBuf::new();
    for n in names(path) {
        cur.push(n);
        let name = cstr(Path::new(n)).map_err(|e| Failed::new(Op::Mkdir, &cur, e))?;
        // SAFETY: `parent` is an open directory fd and `name` a NUL-terminated single name;
        // mkdirat only reads them. O_PATH fds are valid bases for it.
        let ret = unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), mode) };
        if let Err(e) = super::cvt(ret.into()) {
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(Failed::new(Op::Mkdir, &cur, e));
            }
        }
        parent = open(dir, &cur, resolve, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| Failed::new(Op::Open, &cur, e))?;
    }
    open(dir, path, resolve, flags, 0).map_err(|e| Failed::new(Op::Open, path, e))
}

/// Creates regular file `path` beneath `dir` with `mode`, its missing parents as `mkdir_all`
/// does (0755), and returns it opened with `flags` (O_CREAT and O_NOFOLLOW are added: a
/// symlink at the last name fails with ELOOP; the caller chooses O_EXCL or O_TRUNC).
pub fn create_file(
    dir: BorrowedFd<'_>,
    path: &Path,
    resolve: Resolve,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> Result<OwnedFd, Failed> {
    let (parent, name) = match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => (p, n),
        _ => {
            let e = io::Error::from_raw_os_error(libc::EISDIR);
            return Err(Failed::new(Op::Create, path, e));
        }
    };
    let pfd = mkdir_all(dir, parent, resolve, 0o755, libc::O_PATH)?;
    let flags = flags | libc::O_CREAT | libc::O_NOFOLLOW;
    // One name beneath its parent: under InRoot a symlink there is not followed either.
    open(pfd.as_fd(), Path::new(name), resolve, flags, mode)
        .map_err(|e| Failed::new(Op::Create, path, e))
}

#[cfg(test)]
mod tests;
