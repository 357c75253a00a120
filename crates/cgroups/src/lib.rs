//! cgroups v1 and v2 behind one interface: create, limit, add tasks, freeze, stats, destroy.
//!
//! [`manager`] picks the backend from what is mounted: cgroup2 at /sys/fs/cgroup means v2,
//! anything else (v1 only, or "hybrid" with an empty cgroup2 at /sys/fs/cgroup/unified) is
//! driven as v1. [`manager_at`] does the same against a fake directory tree for tests.

#![forbid(unsafe_code)]

use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::LinuxResources;

mod bpf;
mod devices;
mod error;
mod fs;
pub mod stats;
#[cfg(feature = "systemd")]
pub mod systemd;
#[cfg(test)]
mod testutil;
pub(crate) mod v1;
mod v2;

pub use error::{Error, Result};
pub use stats::{Stats, Usage};

/// Where cgroup file systems live on every distribution we support.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// cgroup2's statfs f_type (linux/magic.h CGROUP2_SUPER_MAGIC).
pub(crate) const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Which kernel interface a [`Manager`] drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// v2 if /sys/fs/cgroup itself is cgroup2, else v1 (which covers hybrid hosts).
pub fn detect() -> Result<CgroupVersion> {
    let root = Path::new(CGROUP_ROOT);
    let st = nix::sys::statfs::statfs(root).map_err(|e| Error::Dir {
        op: "statfs",
        path: root.to_path_buf(),
        errno: e,
    })?;
    // f_type's integer type differs between libc targets; widen to compare.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    let ftype = st.filesystem_type().0 as i64;
    if ftype == CGROUP2_SUPER_MAGIC {
        return Ok(CgroupVersion::V2);
    }
    if v1::mounted_hierarchies()?.is_empty() {
        return Err(Error::NotMounted {
            path: root.to_path_buf(),
        });
    }
    Ok(CgroupVersion::V1)
}

/// The v1 hierarchies of this host (none on a v2 host): each one's mount point and its
/// controllers ("name=systemd" for a named one). Found once per process, without reading
/// /proc/self/mountinfo on a host laid out as systemd does it.
pub fn v1_hierarchies() -> Result<Vec<(PathBuf, Vec<String>)>> {
    if detect()? == CgroupVersion::V2 {
        return Ok(Vec::new());
    }
    Ok(v1::mounted_hierarchies()?
        .into_iter()
        .filter(|h| !h.controllers.is_empty())
        .map(|h| (h.mount, h.controllers))
        .collect())
}

/// A manager for the cgroup of container `id` on this host.
///
/// `cgroups_path` is linux.cgroupsPath: absolute ("/a/b") or relative ("a/b"); both are taken
/// under the hierarchy root as runc does. None means "/hullrt/<id>".
pub fn manager(cgroups_path: Option<&str>, id: &str) -> Result<Box<dyn Manager>> {
    manager_for(cgroup_path(cgroups_path, id)?)
}

/// The cgroupfs manager of `path` (relative to the hierarchy root) on this host.
pub(crate) fn manager_for(path: PathBuf) -> Result<Box<dyn Manager>> {
    Ok(match detect()? {
        CgroupVersion::V2 => Box::new(v2::V2Manager::new(PathBuf::from(CGROUP_ROOT), path)),
        CgroupVersion::V1 => Box::new(v1::V1Manager::new(v1::mounted_hierarchies()?, path)),
    })
}

/// Same as [`manager`], against a fake root: for v2 `root` is the cgroup2 mount; for v1 each
/// sub-directory of `root` is one hierarchy named by its controllers ("cpu,cpuacct").
pub fn manager_at(
    root: &Path,
    version: CgroupVersion,
    cgroups_path: Option<&str>,
    id: &str,
) -> Result<Box<dyn Manager>> {
    let path = cgroup_path(cgroups_path, id)?;
    Ok(match version {
        CgroupVersion::V2 => Box::new(v2::V2Manager::new(root.to_path_buf(), path)),
        CgroupVersion::V1 => Box::new(v1::V1Manager::new(v1::hierarchies_under(root)?, path)),
    })
}

/// The cgroup path relative to the hierarchy root, without a leading "/".
fn cgroup_path(cgroups_path: Option<&str>, id: &str) -> Result<PathBuf> {
    let raw = match cgroups_path {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => format!("/hullrt/{id}"),
    };
    let bad = |reason| Error::BadPath {
        path: raw.clone(),
        reason,
    };
    // "slice:prefix:name" is the systemd driver's syntax; we only drive cgroupfs.
    if raw.contains(':') {
        return Err(bad(
            "systemd-style paths (slice:prefix:name) are not supported",
        ));
    }
    let mut out = PathBuf::new();
    for c in Path::new(&raw).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(bad("must not contain \"..\""))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(bad("must name a cgroup below the root"));
    }
    Ok(out)
}

/// One container's cgroup, in whichever version the host runs.
pub trait Manager {
    /// The cgroup version this manager drives.
    fn version(&self) -> CgroupVersion;
    /// The cgroup path relative to the hierarchy root (no leading "/").
    fn path(&self) -> &Path;
    /// mkdir -p in every hierarchy (v1) or the one directory (v2), enabling every available
    /// controller in the ancestors' cgroup.subtree_control on v2.
    fn create(&self) -> Result<()>;
    /// Move `pid` (the whole thread group) into the cgroup, in every hierarchy.
    fn add_task(&self, pid: i32) -> Result<()>;
    /// Set every field of `res` that is present; used at create and by live update.
    fn apply(&self, res: &LinuxResources) -> Result<()>;
    /// Freeze and wait until the kernel reports the cgroup frozen.
    fn freeze(&self) -> Result<()>;
    /// Thaw and wait until the kernel reports it running.
    fn thaw(&self) -> Result<()>;
    /// Whether the cgroup is frozen.
    fn is_frozen(&self) -> Result<bool>;
    /// Every pid in the cgroup and its descendants, as the host sees them, sorted.
    fn pids(&self) -> Result<Vec<i32>>;
    /// Usage counters in runc's `events --stats` shape.
    fn stats(&self) -> Result<Stats>;
    /// What a `docker stats` row shows, from the handful of files that hold it (`stats` of
    /// many containers reads this, not [`Self::stats`]'s few dozen files each).
    fn usage(&self) -> Result<Usage> {
        self.stats().map(|s| Usage::of(&s))
    }
    /// CPU time in nanoseconds, one file (the first of `stats`' two readings needs only it).
    fn cpu_ns(&self) -> Result<u64> {
        self.usage().map(|u| u.cpu_ns)
    }
    /// How many times the OOM killer killed a task of this cgroup.
    fn oom_kill_count(&self) -> Result<u64>;
    /// SIGKILL whatever is left (thawing first), wait for it to empty, rmdir. Ok if gone.
    fn destroy(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(cgroup_path(None, "x").unwrap(), Path::new("hullrt/x"));
        assert_eq!(cgroup_path(Some("/a/b"), "x").unwrap(), Path::new("a/b"));
        assert_eq!(cgroup_path(Some("a/b"), "x").unwrap(), Path::new("a/b"));
        assert_eq!(cgroup_path(Some(""), "x").unwrap(), Path::new("hullrt/x"));
        let e = cgroup_path(Some("/a/../../etc"), "x").unwrap_err();
        assert!(e.to_string().contains("linux.cgroupsPath"), "{e}");
        assert!(cgroup_path(Some("/"), "x").is_err());
        assert!(cgroup_path(Some("system.slice:hull:x"), "x").is_err());
    }
}
