//! `hull cp`: files between the host and a container's file tree, both ways.
//!
//! The container's side is never walked by path from the host: it is a directory fd (the
//! container's `/proc/<pid>/root` while it runs, so its volumes and mounts are seen as it sees
//! them; the overlay's merged dir when it is stopped), every container path is resolved with
//! `openat2(RESOLVE_IN_ROOT)` against it, and everything below a resolved directory is opened
//! relative to its parent's fd with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`. A symlink the
//! container planted (`/etc -> /`, `x -> ../../../../host`) therefore resolves inside the
//! container, and a name swapped for a symlink half-way through fails instead of escaping.
//!
//! docker's rules for where things land (`docker cp` documentation):
//! - a file onto an existing file overwrites it; into an existing directory it keeps its name;
//!   to a missing path it takes that name (whose parent must exist; a trailing `/` means the
//!   directory must exist);
//! - a directory into an existing directory is copied as a sub-directory, or only its contents
//!   when the source ends in `/.`; to a missing path it is created with that name.

mod archive;
mod into;
mod out;
mod tar;
mod tree;

pub use archive::PathStat;
pub use tree::root_ids;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{openat2, FileType, Mode, OFlags, ResolveFlags, CWD};

pub use into::copy_in;
pub use out::copy_out;
pub use tar::{archive_out, extract_in};

#[derive(Debug, thiserror::Error)]
pub enum CpError {
    #[error("{path}: {source}")]
    Host { path: String, source: io::Error },
    #[error("container path {path}: {source}")]
    Container { path: String, source: io::Error },
    #[error("{0}")]
    Usage(String),
    /// The path the copy starts from is not in the container.
    #[error("no such file or directory in the container: {0}")]
    Missing(String),
}

pub type Result<T> = std::result::Result<T, CpError>;

pub(crate) fn host_err(path: &Path) -> impl FnOnce(io::Error) -> CpError + '_ {
    move |source| CpError::Host {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn ctr_err(path: &str) -> impl FnOnce(rustix::io::Errno) -> CpError + '_ {
    move |e| CpError::Container {
        path: path.to_string(),
        source: e.into(),
    }
}

/// How a copy treats owners and links.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// `-a`: keep the source's uid and gid. Otherwise files copied in belong to the
    /// container's root (`root_uid`/`root_gid` as the host sees them) and files copied out
    /// to the caller.
    pub archive: bool,
    /// `-L`: a source that is a symlink is followed.
    pub follow_link: bool,
    /// The host uid and gid of the container's root (0 without a user namespace).
    pub root_uid: u32,
    pub root_gid: u32,
}

/// A container's file tree, held by a directory fd.
pub struct ContainerFs {
    root: OwnedFd,
}

/// The resolve flags for one name below an already resolved directory fd.
pub(crate) const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

impl ContainerFs {
    /// Opens the tree at `dir` (`/proc/<pid>/root` or an overlay's merged dir).
    pub fn open(dir: &Path) -> Result<ContainerFs> {
        let root = openat2(
            CWD,
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::empty(),
        )
        .map_err(|e| CpError::Host {
            path: dir.display().to_string(),
            source: e.into(),
        })?;
        Ok(ContainerFs { root })
    }

    /// Resolves a container path inside the root: `..` and symlinks never leave it.
    pub(crate) fn resolve(&self, path: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        openat2(
            &self.root,
            rel,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
    }

    /// The path a copy out of the container starts from, as an `O_PATH` fd (its last
    /// symlink followed with `follow_link`); `CpError::Missing` when it is not there.
    pub(crate) fn resolve_source(&self, src: &str, follow_link: bool) -> Result<OwnedFd> {
        let mut flags = OFlags::PATH;
        if !follow_link {
            flags |= OFlags::NOFOLLOW;
        }
        self.resolve(src, flags).map_err(|e| match e {
            rustix::io::Errno::NOENT => CpError::Missing(src.into()),
            e => ctr_err(src)(e),
        })
    }
}

impl ContainerFs {
    /// Bind-mounts host `source` on the directory `target` inside this tree (which must be a
    /// private mount of hull's own: a stopped container's overlay mounted for a copy), so a copy
    /// sees the container's volumes and binds where the container sees them. The target is
    /// resolved inside the root and mounted on through its fd; a target the container does not
    /// have yet is skipped (the runtime creates it at start).
    pub fn bind_inside(&self, source: &Path, target: &str, read_only: bool) -> Result<bool> {
        use nix::mount::{mount, MsFlags};
        use std::os::fd::AsRawFd;
        let dir = match self.resolve(target, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            // Never started: make the mount point as the runtime would at start, one name at a
            // time beneath the root; a path it cannot make that way is left alone.
            Err(rustix::io::Errno::NOENT) => match self.make_dirs(target) {
                Some(fd) => fd,
                None => return Ok(false),
            },
            Err(e) => return Err(ctr_err(target)(e)),
        };
        let on = format!("/proc/self/fd/{}", dir.as_raw_fd());
        let err = |e: nix::Error| CpError::Container {
            path: target.to_string(),
            source: std::io::Error::from_raw_os_error(e as i32),
        };
        mount(
            Some(source),
            on.as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(err)?;
        if read_only {
            // The new mount is what the target resolves to now.
            let mounted = self
                .resolve(target, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(ctr_err(target))?;
            let on = format!("/proc/self/fd/{}", mounted.as_raw_fd());
            mount(
                None::<&str>,
                on.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .map_err(err)?;
        }
        Ok(true)
    }
}

impl ContainerFs {
    /// `mkdir -p` of a container path, each name made and opened beneath its parent without
    /// following links; None when a name is in the way.
    fn make_dirs(&self, path: &str) -> Option<OwnedFd> {
        let mut cur = into::reopen_dir(self.root.as_fd()).ok()?;
        let mut at = String::new();
        for name in path.split('/').filter(|n| !n.is_empty() && *n != ".") {
            if name == ".." {
                return None;
            }
            at = format!("{at}/{name}");
            cur = into::make_dir(cur.as_fd(), std::ffi::OsStr::new(name), &at).ok()?;
        }
        Some(cur)
    }
}

/// A path's last name and whether it asks for a directory's contents (`/.`) or insists on a
/// directory (trailing `/`). `/` and `` have no name.
pub(crate) struct Split<'a> {
    pub parent: String,
    pub name: Option<&'a str>,
    pub contents: bool,
    pub trailing_slash: bool,
}

pub(crate) fn split(path: &str) -> Split<'_> {
    let contents = path == "." || path.ends_with("/.");
    let trailing_slash = path.ends_with('/') || contents;
    let mut p = path;
    if contents {
        p = &p[..p.len() - 1];
    }
    let p = p.trim_end_matches('/');
    match p.rfind('/') {
        Some(i) => Split {
            parent: if i == 0 { "/".into() } else { p[..i].into() },
            name: Some(&p[i + 1..]).filter(|n| !n.is_empty()),
            contents,
            trailing_slash,
        },
        None => Split {
            parent: ".".into(),
            name: Some(p).filter(|n| !n.is_empty()),
            contents,
            trailing_slash,
        },
    }
}

/// What a copy needs to know about one file, from either side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub kind: FileType,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub rdev: u64,
    pub size: u64,
}

impl Meta {
    pub fn from_stat(st: &rustix::fs::Stat) -> Meta {
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        Meta {
            kind: FileType::from_raw_mode(st.st_mode as _),
            mode: (st.st_mode as u32) & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            atime: (st.st_atime as i64, st.st_atime_nsec as i64),
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            rdev: st.st_rdev as u64,
            size: st.st_size as u64,
        }
    }

    pub fn from_host(md: &std::fs::Metadata) -> Meta {
        use std::os::unix::fs::MetadataExt;
        Meta {
            kind: FileType::from_raw_mode(md.mode() as _),
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            atime: (md.atime(), md.atime_nsec()),
            mtime: (md.mtime(), md.mtime_nsec()),
            rdev: md.rdev(),
            size: md.len(),
        }
    }

    pub fn timestamps(&self) -> rustix::fs::Timestamps {
        let ts = |(s, n): (i64, i64)| rustix::fs::Timespec {
            tv_sec: s as _,
            tv_nsec: n as _,
        };
        rustix::fs::Timestamps {
            last_access: ts(self.atime),
            last_modification: ts(self.mtime),
        }
    }
}

/// File systems a copy out of a running container does not descend into: the kernel's
/// views (/proc, /sys, cgroups, ptys, mqueue), which are not the container's files.
pub(crate) fn is_pseudo_fs(fd: BorrowedFd<'_>) -> bool {
    const PSEUDO: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x1cd1,      // devpts
        0x1980_0202, // mqueue
        0x6462_6720, // debugfs
        0x7363_6673, // securityfs
        0x7472_6163, // tracefs
        0xcafe_4a11, // bpf
    ];
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    rustix::fs::fstatfs(fd).is_ok_and(|s| PSEUDO.contains(&(s.f_type as i64)))
}

#[cfg(test)]
mod tests;
