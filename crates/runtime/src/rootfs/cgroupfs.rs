//! A `type: cgroup` mount: the container's own cgroups at /sys/fs/cgroup. With a cgroup
//! namespace the hierarchies are mounted afresh (the kernel shows the namespace root);
//! without one the container's own cgroup directory is bind-mounted from the host.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use super::mounts::remount_bind;
use super::options::Parsed;
use super::paths::{ensure_in_root, fd_path, open_in_root};
use crate::error::{Error, Result};

/// A v1 hierarchy as the host mounts it.
struct Hierarchy {
    /// Where the host mounts it, e.g. /sys/fs/cgroup/memory.
    mountpoint: PathBuf,
    /// Its controllers (or "name=systemd").
    subsystems: Vec<String>,
}

/// The host's v1 hierarchies, none on a v2 host; from hull_cgroups, which finds them once per
/// process without scanning /proc/self/mountinfo (it grows with every container).
fn v1_hierarchies() -> Vec<Hierarchy> {
    hull_cgroups::v1_hierarchies()
        .unwrap_or_default()
        .into_iter()
        .map(|(mountpoint, subsystems)| Hierarchy {
            mountpoint,
            subsystems,
        })
        .collect()
}

static OWN_CGROUPS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static OWN_CGROUP_NS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Reads /proc/self/cgroup and our cgroup namespace now, before a cgroup namespace is
/// entered (it makes every path read "/").
pub fn remember_own_cgroups() {
    if let Ok(t) = std::fs::read_to_string("/proc/self/cgroup") {
        let _ = OWN_CGROUPS.set(t);
    }
    if let Ok(ns) = std::fs::read_link("/proc/self/ns/cgroup") {
        let _ = OWN_CGROUP_NS.set(ns);
    }
}

/// This process's cgroup path in the hierarchy that has `subsystems`, as the host names it.
fn own_path(subsystems: &[String], v2: bool) -> Option<String> {
    let text = match OWN_CGROUPS.get() {
        Some(t) => t.clone(),
        None => std::fs::read_to_string("/proc/self/cgroup").ok()?,
    };
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let _id = parts.next()?;
        let ctrls = parts.next()?;
        let path = parts.next()?;
        let matches = if v2 {
            ctrls.is_empty()
        } else {
            let set: Vec<&str> = ctrls.split(',').collect();
            !subsystems.is_empty() && subsystems.iter().all(|s| set.contains(&s.as_str()))
        };
        matches.then(|| path.to_string())
    })
}

/// Whether init has entered a cgroup namespace since [`remember_own_cgroups`]. (Comparing
/// with /proc/1/ns/cgroup does not work: init may not read that link.)
fn in_cgroup_ns() -> bool {
    match (
        OWN_CGROUP_NS.get(),
        std::fs::read_link("/proc/self/ns/cgroup"),
    ) {
        (Some(before), Ok(now)) => *before != now,
        _ => false,
    }
}

pub fn mount_cgroups(root: BorrowedFd<'_>, dest: &Path, opts: &Parsed, shown: &Path) -> Result<()> {
    let v2_only = matches!(hull_cgroups::detect(), Ok(hull_cgroups::CgroupVersion::V2));
    let cgns = in_cgroup_ns();
    let flags = opts.flags & !MsFlags::MS_RDONLY;

    if v2_only {
        let target = ensure_in_root(root, dest, false)?;
        // Mounting needs a cgroup namespace of our own (and, in a user namespace, one it
        // owns); otherwise our own directory is bind-mounted.
        let mounted = cgns
            && mount(
                Some("cgroup2"),
                &fd_path(&target),
                Some("cgroup2"),
                opts.flags,
                None::<&str>,
            )
            .is_ok();
        if !mounted {
            let own = own_path(&[], true).unwrap_or_else(|| "/".into());
            let src = Path::new("/sys/fs/cgroup").join(own.trim_start_matches('/'));
            mount(
                Some(&src),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| Error::sys("bind mount cgroup at", shown, e))?;
            let again = open_in_root(root, dest).map_err(|e| Error::sys("open", shown, e))?;
            remount_bind(&fd_path(&again), opts.flags, shown)?;
        }
        return Ok(());
    }

    // v1 (or hybrid): a tmpfs with one directory per v1 hierarchy (the unified one is not
    // shown, as with runc).
    let target = ensure_in_root(root, dest, false)?;
    mount(
        Some("tmpfs"),
        &fd_path(&target),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )
    .map_err(|e| Error::sys("mount tmpfs for cgroups at", shown, e))?;
    for h in v1_hierarchies() {
        let Some(name) = h.mountpoint.file_name() else {
            continue;
        };
        let sub = dest.join(name);
        let t = ensure_in_root(root, &sub, false)?;
        let data = h.subsystems.join(",");
        // runc names the systemd hierarchy's source "systemd" (mountinfo shows it).
        let source = if h.subsystems.iter().any(|s| s == "name=systemd") {
            "systemd"
        } else {
            "cgroup"
        };
        // v1 hierarchies cannot be mounted inside a user namespace: bind our own directory.
        let mounted = cgns
            && mount(
                Some(source),
                &fd_path(&t),
                Some("cgroup"),
                opts.flags,
                Some(data.as_str()),
            )
            .is_ok();
        if !mounted {
            let own = own_path(&h.subsystems, false).unwrap_or_else(|| "/".into());
            let src = h.mountpoint.join(own.trim_start_matches('/'));
            // Our cgroup may be outside what this mount namespace shows (a rootless caller's
            // cgroup under a container manager): leave the directory empty then.
            if !src.is_dir() {
                continue;
            }
            mount(
                Some(&src),
                &fd_path(&t),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| Error::sys("bind mount cgroup", &sub, e))?;
            let again = open_in_root(root, &sub).map_err(|e| Error::sys("open", &sub, e))?;
            remount_bind(&fd_path(&again), opts.flags, &sub)?;
        }
        // Co-mounted controllers (cpu,cpuacct) get a symlink per controller name.
        for s in &h.subsystems {
            if s.as_str() != name.to_string_lossy() && !s.starts_with("name=") {
                let parent = open_in_root(root, dest).map_err(|e| Error::sys("open", dest, e))?;
                let _ = nix::unistd::symlinkat(
                    Path::new(name),
                    std::os::fd::AsFd::as_fd(&parent),
                    Path::new(s.as_str()),
                );
            }
        }
    }
    // The tmpfs itself stays read-write, as runc leaves it; `ro` applies to the hierarchies.
    Ok(())
}
