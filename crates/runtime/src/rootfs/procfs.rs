//! Every write the runtime makes under /proc (sysctls, oom_score_adj, LSM labels, time
//! namespace offsets) goes through a procfs handle of our own, never through the path
//! `/proc/...` of the container's mount namespace: the container may have put a bind mount
//! or a symlink anywhere under its /proc (a volume at /proc/sys/net holding a symlink
//! `ipv4/x -> ../../kernel/x` turned a namespaced sysctl into a host-wide one). As runc
//! 1.2.8 and libpathrs after CVE-2025-52881:
//! - the handle is a fresh procfs instance (`fsopen("proc")` + `fsmount`, a detached mount
//!   no one else sees), else a non-recursive clone of /proc (`open_tree`, no submounts),
//!   else /proc itself once checked to be the root of a procfs;
//! - each file is opened beneath it with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//!   RESOLVE_NO_XDEV)`: no symlink is followed and no mount crossed, so anything mounted
//!   over a /proc file is refused rather than written;
//! - `self` and `thread-self` are read as links of that same procfs and then resolved with
//!   the same rules, so they name this process in the handle's own pid namespace.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{Error, Result};

/// The inode number of a procfs root directory.
const PROC_ROOT_INO: u64 = 1;

/// A procfs root directory that nothing of the container's can have been mounted over.
pub struct Procfs(OwnedFd);

impl Procfs {
    pub fn open() -> Result<Procfs> {
        let fd = fresh()
            .or_else(|_| clone_of_proc())
            .or_else(|_| {
                rustix::fs::open(
                    "/proc",
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
            })
            .map_err(|e| Error::sys("open a procfs handle", "/proc", std::io::Error::from(e)))?;
        let st = rustix::fs::fstatfs(&fd)
            .map_err(|e| Error::sys("statfs", "/proc", std::io::Error::from(e)))?;
        let ino = rustix::fs::fstat(&fd)
            .map_err(|e| Error::sys("stat", "/proc", std::io::Error::from(e)))?
            .st_ino;
        if st.f_type != rustix::fs::PROC_SUPER_MAGIC || ino != PROC_ROOT_INO {
            return Err(Error::Other(
                "/proc is not the root of a procfs: refusing to write through it".into(),
            ));
        }
        Ok(Procfs(fd))
    }

    /// Writes `value` to `rel` (e.g. `sys/kernel/shmmax`, `self/oom_score_adj`,
    /// `thread-self/attr/exec`) under this procfs.
    pub fn write(&self, rel: &str, value: &str) -> Result<()> {
        let shown = format!("/proc/{rel}");
        let path = self.resolve_self(rel)?;
        let fd = rustix::fs::openat2(
            self.0.as_fd(),
            path.as_str(),
            OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV,
        )
        .map_err(|e| Error::sys("open", &shown, std::io::Error::from(e)))?;
        let st = rustix::fs::fstatfs(&fd)
            .map_err(|e| Error::sys("statfs", &shown, std::io::Error::from(e)))?;
        if st.f_type != rustix::fs::PROC_SUPER_MAGIC {
            return Err(Error::Other(format!(
                "{shown} is not on procfs: refusing to write to it"
            )));
        }
        std::fs::File::from(fd)
            .write_all(value.as_bytes())
            .map_err(|e| Error::sys("write", &shown, e))
    }

    /// `self/...` and `thread-self/...` with the link read from this procfs (`1234`,
    /// `1234/task/1234`); any other path as it is.
    fn resolve_self(&self, rel: &str) -> Result<String> {
        let (first, rest) = rel.split_once('/').unwrap_or((rel, ""));
        if first != "self" && first != "thread-self" {
            return Ok(rel.to_string());
        }
        let link = rustix::fs::readlinkat(self.0.as_fd(), first, Vec::new()).map_err(|e| {
            Error::sys(
                "readlink",
                format!("/proc/{first}"),
                std::io::Error::from(e),
            )
        })?;
        Ok(format!("{}/{rest}", link.to_string_lossy()))
    }
}

/// A new procfs instance for our pid namespace, mounted nowhere.
fn fresh() -> rustix::io::Result<OwnedFd> {
    use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags};
    let fs = rustix::mount::fsopen("proc", FsOpenFlags::FSOPEN_CLOEXEC)?;
    rustix::mount::fsconfig_create(&fs)?;
    rustix::mount::fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_NOSUID
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOEXEC,
    )
}

/// A detached copy of the /proc mount without anything mounted beneath it.
fn clone_of_proc() -> rustix::io::Result<OwnedFd> {
    use rustix::mount::OpenTreeFlags;
    rustix::mount::open_tree(
        rustix::fs::CWD,
        "/proc",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_SYMLINK_NOFOLLOW,
    )
}

/// Writes `value` to `/proc/REL` through a fresh handle (see the module's comment).
pub fn write(rel: &str, value: &str) -> Result<()> {
    Procfs::open()?.write(rel, value)
}

/// Files under /proc that may be mounted over (lxcfs emulates them; CRIU needs
/// ns_last_pid): runc 1.2's list in checkProcMount.
const MOUNTABLE_UNDER_PROC: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
];

/// Whether a mount may land at `dest` (absolute, as the container sees it, `..` resolved):
/// anywhere outside /proc; on /proc itself only a procfs (a new one, or a bind of a procfs
/// root); under /proc only the few files of `MOUNTABLE_UNDER_PROC`. As runc's
/// checkProcMount; the reason, naming the destination, when it may not.
pub fn check_mount_destination(
    dest: &std::path::Path,
    fs_type: &str,
    bind_source: Option<&std::path::Path>,
) -> std::result::Result<(), String> {
    let Ok(rel) = dest.strip_prefix("/proc") else {
        return Ok(());
    };
    if rel.as_os_str().is_empty() {
        let ok = match bind_source {
            None => fs_type == "proc",
            Some(src) => is_procfs_root(src),
        };
        return if ok {
            Ok(())
        } else {
            Err(format!(
                "{dest:?} cannot be mounted because it is not of type proc"
            ))
        };
    }
    if MOUNTABLE_UNDER_PROC
        .iter()
        .any(|p| dest == std::path::Path::new(p))
    {
        return Ok(());
    }
    Err(format!(
        "{dest:?} cannot be mounted because it is inside /proc"
    ))
}

fn is_procfs_root(p: &std::path::Path) -> bool {
    let Ok(fd) = rustix::fs::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    let magic = rustix::fs::fstatfs(&fd).map(|s| s.f_type);
    let ino = rustix::fs::fstat(&fd).map(|s| s.st_ino);
    matches!((magic, ino), (Ok(m), Ok(PROC_ROOT_INO)) if m == rustix::fs::PROC_SUPER_MAGIC)
}

/// `path` made absolute with `.` and `..` resolved lexically (`..` stops at `/`).
pub fn clean(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}
