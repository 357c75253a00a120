//! cgroup v1: one directory per mounted hierarchy. Controllers may be co-mounted
//! ("cpu,cpuacct") or separate (cpu and cpuacct apart, as on this project's CI host); both
//! layouts are found from /proc/self/cgroup at systemd's paths, checked by statfs, or else
//! from /proc/self/mountinfo (see [`mounted_hierarchies`]).

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::{fs, CgroupVersion, Manager, Stats};

pub(crate) mod resources;
mod stats;
#[cfg(test)]
mod tests;

/// Controllers the kernel knows in v1; anything else in a cgroup mount's options is an option.
const CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "pids",
    "hugetlb",
    "rdma",
    "misc",
];

/// One mounted v1 hierarchy, or on a hybrid host the unified (v2) one beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// Controllers attached to it, plus "name=X" for named hierarchies; none for the unified
    /// hierarchy, which a container joins (as with runc, `0::/PATH` in /proc/self/cgroup)
    /// but whose controllers stay with v1.
    pub controllers: Vec<String>,
    pub mount: PathBuf,
}

/// The v1 hierarchies, then the unified one if mounted too (a hybrid host:
/// /sys/fs/cgroup/unified). Found once per process: where systemd and every distribution put
/// them when that checks out (see [`at_known_paths`]), else from /proc/self/mountinfo, whose
/// size grows with every container on the host.
pub(crate) fn mounted_hierarchies() -> Result<Vec<Hierarchy>> {
    static FOUND: std::sync::OnceLock<Vec<Hierarchy>> = std::sync::OnceLock::new();
    if let Some(h) = FOUND.get() {
        return Ok(h.clone());
    }
    let found = match at_known_paths() {
        Some(h) => h,
        None => parse_mountinfo(&fs::read(Path::new("/proc/self/mountinfo"))?),
    };
    Ok(FOUND.get_or_init(|| found).clone())
}

/// cgroup v1's statfs f_type (linux/magic.h CGROUP_SUPER_MAGIC).
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

fn fs_type(path: &Path) -> Option<i64> {
    // f_type's integer type differs between libc targets; widen to compare.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    nix::sys::statfs::statfs(path)
        .ok()
        .map(|s| s.filesystem_type().0 as i64)
}

/// The hierarchies this process is in (/proc/self/cgroup: a few short lines, whatever the
/// number of mounts), each at /sys/fs/cgroup/CONTROLLERS ("cpu,cpuacct"; "systemd" for
/// name=systemd) as systemd mounts them, each checked with one statfs. None when any is
/// not there: the layout is unusual and mountinfo tells.
fn at_known_paths() -> Option<Vec<Hierarchy>> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let root = Path::new(crate::CGROUP_ROOT);
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (id, ctrls) = (parts.next()?.parse::<u32>().ok()?, parts.next()?);
        if ctrls.is_empty() {
            continue;
        }
        let dir = root.join(ctrls.strip_prefix("name=").unwrap_or(ctrls));
        if fs_type(&dir) != Some(CGROUP_SUPER_MAGIC) {
            return None;
        }
        let controllers: Vec<String> = ctrls.split(',').map(str::to_string).collect();
        if controllers
            .iter()
            .any(|c| !CONTROLLERS.contains(&c.as_str()) && !c.starts_with("name="))
        {
            return None;
        }
        out.push((
            id,
            Hierarchy {
                controllers,
                mount: dir,
            },
        ));
    }
    // Hierarchy ids count up in mount order, the order mountinfo (and runc) lists them in;
    // /proc/self/cgroup lists them the other way round.
    out.sort_by_key(|(id, _)| *id);
    let mut out: Vec<Hierarchy> = out.into_iter().map(|(_, h)| h).collect();
    let unified = root.join("unified");
    if !out.is_empty() && fs_type(&unified) == Some(crate::CGROUP2_SUPER_MAGIC) {
        out.push(Hierarchy {
            controllers: Vec::new(),
            mount: unified,
        });
    }
    Some(out)
}

/// Parse mountinfo lines: "id parent maj:min root mountpoint opts [optional...] - fstype src superopts".
pub(crate) fn parse_mountinfo(s: &str) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    let mut unified = Vec::new();
    for line in s.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split_whitespace();
        let fstype = post.next();
        let (Some(mount), Some(opts)) = (pre.split_whitespace().nth(4), post.nth(1)) else {
            continue;
        };
        if fstype == Some("cgroup2") {
            if !unified.iter().any(|h: &Hierarchy| h.controllers.is_empty()) {
                unified.push(Hierarchy {
                    controllers: Vec::new(),
                    mount: PathBuf::from(mount.replace("\\040", " ")),
                });
            }
            continue;
        }
        if fstype != Some("cgroup") {
            continue;
        }
        let controllers: Vec<String> = opts
            .split(',')
            .filter(|o| CONTROLLERS.contains(o) || o.starts_with("name="))
            .map(str::to_string)
            .collect();
        if controllers.is_empty() || out.iter().any(|h| h.controllers == controllers) {
            continue;
        }
        out.push(Hierarchy {
            controllers,
            mount: PathBuf::from(mount.replace("\\040", " ")),
        });
    }
    if !out.is_empty() {
        out.extend(unified);
    }
    out
}

/// Fake-tree layout for tests: each real (non-symlink) sub-directory of `root` is a hierarchy
/// named by its controllers, "cpu,cpuacct" or "memory".
pub(crate) fn hierarchies_under(root: &Path) -> Result<Vec<Hierarchy>> {
    let mut out = Vec::new();
    for dir in fs::child_dirs(root)? {
        if dir
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            continue;
        }
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        out.push(Hierarchy {
            controllers: name.split(',').map(str::to_string).collect(),
            mount: dir.clone(),
        });
    }
    out.sort_by(|a, b| a.mount.cmp(&b.mount));
    Ok(out)
}

pub(crate) struct V1Manager {
    hierarchies: Vec<Hierarchy>,
    path: PathBuf,
}

impl V1Manager {
    pub fn new(hierarchies: Vec<Hierarchy>, path: PathBuf) -> Self {
        V1Manager { hierarchies, path }
    }

    /// This cgroup's directory in the hierarchy carrying `controller`, if mounted.
    pub(crate) fn dir(&self, controller: &str) -> Option<PathBuf> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
            .map(|h| h.mount.join(&self.path))
    }

    /// Like [`Self::dir`] but an error naming the controller when it is not mounted.
    pub(crate) fn need(&self, controller: &'static str) -> Result<PathBuf> {
        self.dir(controller).ok_or_else(|| Error::NoController {
            controller,
            path: self.path.clone(),
        })
    }

    fn dirs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.hierarchies.iter().map(|h| h.mount.join(&self.path))
    }

    /// The directory whose cgroup.procs we trust for "who is in here": freezer (what freeze
    /// and kill act on), else pids, else any hierarchy.
    fn tasks_dir(&self) -> Option<PathBuf> {
        self.dir("freezer")
            .or_else(|| self.dir("pids"))
            .or_else(|| self.dirs().next())
    }

    /// mkdir each level; in cpuset, a new cgroup starts with empty cpus/mems and the kernel
    /// refuses tasks until they are filled, so copy the parent's values down every level.
    fn mkdir_levels(&self, h: &Hierarchy) -> Result<()> {
        let is_cpuset = h.controllers.iter().any(|c| c == "cpuset");
        let mut cur = h.mount.clone();
        for comp in self.path.components() {
            let parent = cur.clone();
            cur.push(comp);
            fs::mkdir(&cur)?;
            if is_cpuset {
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let own = fs::read_opt(&cur.join(f))?.unwrap_or_default();
                    if own.trim().is_empty() {
                        let from = fs::read(&parent.join(f))?;
                        fs::write_create(&cur.join(f), from.trim())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn freezer_state(&self) -> Result<Option<String>> {
        let Some(dir) = self.dir("freezer") else {
            return Ok(None);
        };
        Ok(fs::read_opt(&dir.join("freezer.state"))?.map(|s| s.trim().to_string()))
    }

    fn set_freezer(&self, want: &'static str) -> Result<()> {
        let file = self.need("freezer")?.join("freezer.state");
        // The kernel may report FREEZING for a while (a task in an uninterruptible sleep);
        // writing again nudges it, as runc does.
        fs::poll(
            &file,
            if want == "FROZEN" { "freeze" } else { "thaw" },
            || {
                fs::write(&file, want)?;
                Ok(fs::read(&file)?.trim() == want)
            },
        )
    }
}

impl Manager for V1Manager {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V1
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn create(&self) -> Result<()> {
        if self.hierarchies.is_empty() {
            return Err(Error::NotMounted {
                path: PathBuf::from(crate::CGROUP_ROOT),
            });
        }
        self.hierarchies
            .iter()
            .try_for_each(|h| self.mkdir_levels(h))
    }

    fn add_task(&self, pid: i32) -> Result<()> {
        self.dirs()
            .try_for_each(|d| fs::write(&d.join("cgroup.procs"), &pid.to_string()))
    }

    fn apply(&self, res: &LinuxResources) -> Result<()> {
        resources::apply(self, res)
    }

    fn freeze(&self) -> Result<()> {
        self.set_freezer("FROZEN")
    }

    fn thaw(&self) -> Result<()> {
        self.set_freezer("THAWED")
    }

    fn is_frozen(&self) -> Result<bool> {
        Ok(self.freezer_state()?.as_deref() == Some("FROZEN"))
    }

    fn pids(&self) -> Result<Vec<i32>> {
        match self.tasks_dir() {
            Some(d) => fs::pids_recursive(&d),
            None => Ok(Vec::new()),
        }
    }

    fn stats(&self) -> Result<Stats> {
        stats::stats(self)
    }

    fn usage(&self) -> Result<crate::Usage> {
        stats::usage(self)
    }

    fn cpu_ns(&self) -> Result<u64> {
        stats::cpu_ns(self)
    }

    fn oom_kill_count(&self) -> Result<u64> {
        let file = self.need("memory")?.join("memory.oom_control");
        Ok(fs::read_flat_keyed(&file)?
            .get("oom_kill")
            .copied()
            .unwrap_or(0))
    }

    fn destroy(&self) -> Result<()> {
        let mut errors = Vec::new();
        let Some(tasks) = self.tasks_dir() else {
            return Ok(());
        };
        // An empty cgroup (the usual case: the container's init is gone and its pid
        // namespace with it) is not frozen: nothing in it can fork, and each freeze and thaw
        // flips a kernel-wide static key, patching the kernel's text on every CPU. Anything
        // that joins meanwhile is killed by the removal's retries below.
        let running = tasks.exists() && fs::pids_recursive(&tasks).map_or(true, |p| !p.is_empty());
        if running {
            // Freeze so nothing forks between listing and killing; a frozen task only dies
            // once thawed, so thaw right after sending SIGKILL.
            let frozen = self.dir("freezer").is_some() && self.freeze().is_ok();
            if let Err(e) = fs::pids_recursive(&tasks).and_then(|p| fs::kill_all(&tasks, &p)) {
                errors.push(e);
            }
            if frozen {
                if let Err(e) = self.thaw() {
                    errors.push(e);
                }
            }
        }
        // Keep going in every hierarchy even if one fails, then report everything.
        for d in self.dirs() {
            let again = || fs::pids_recursive(&tasks).and_then(|p| fs::kill_all(&tasks, &p));
            if let Err(e) = fs::remove_cgroup(&d, again) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Destroy {
                path: self.path.clone(),
                errors,
            })
        }
    }
}
