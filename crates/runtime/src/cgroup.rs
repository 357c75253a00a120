//! The runtime's use of the cgroups crate: one place that turns a container into its cgroup.

use hull_cgroups::Manager;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, Spec};

use crate::error::{Error, Result};
use crate::state::Saved;

fn err(e: impl std::fmt::Display) -> Error {
    Error::Cgroup(e.to_string())
}

/// The manager of a container's cgroup: the systemd driver's for a "slice:prefix:name" path
/// (what create saves under `--systemd-cgroup`), cgroupfs otherwise.
pub fn manager(cgroups_path: Option<&str>, id: &str) -> Result<Box<dyn Manager>> {
    match cgroups_path {
        Some(p) if hull_cgroups::systemd::is_systemd_path(p) => {
            hull_cgroups::systemd::manager(p, id).map_err(err)
        }
        _ => hull_cgroups::manager(cgroups_path, id).map_err(err),
    }
}

/// The cgroupsPath create saves: under `--systemd-cgroup` the spec's "slice:prefix:name"
/// (checked; runc's default "system.slice:hullrt:ID" when it has none), else the spec's.
pub fn cgroups_path(spec_path: Option<String>, systemd: bool, id: &str) -> Result<Option<String>> {
    if !systemd {
        return Ok(spec_path);
    }
    let p = hull_cgroups::systemd::cgroups_path(spec_path.as_deref(), "hullrt", id).map_err(err)?;
    crate::features::systemd_cgroup()?;
    Ok(Some(p))
}

pub fn for_saved(s: &Saved) -> Result<Box<dyn Manager>> {
    manager(s.cgroups_path.as_deref(), &s.id)
}

/// An existing sub-cgroup of the container's (`exec --cgroup SUB`, runc 1.1): the same
/// relative path in every hierarchy.
pub fn sub_of_saved(s: &Saved, sub: &str) -> Result<Box<dyn Manager>> {
    let sub = sub.trim_matches('/');
    if sub.is_empty() || sub.split('/').any(|c| c == ".." || c == ".") {
        return Err(Error::Other(format!(
            "--cgroup {sub:?}: must be a path below the container's cgroup"
        )));
    }
    let base = for_saved(s)?;
    let path = std::path::Path::new("/").join(base.path()).join(sub);
    manager(Some(&path.display().to_string()), &s.id)
}

/// Creates the container's cgroup, puts `pid` in it and applies `linux.resources`. Called by
/// the parent before it lets init run anything of its own.
pub fn setup(
    spec: &Spec,
    cgroups_path: Option<&str>,
    id: &str,
    pid: i32,
    rootless: bool,
) -> Result<Option<Box<dyn Manager>>> {
    // Rootless, as runc: without write access to the cgroup tree a container that asks for
    // no resource limits runs in the caller's cgroup; one that asks for limits fails.
    let tolerate = rootless && !wants_limits(spec);
    let m = match manager(cgroups_path, id) {
        Ok(m) => m,
        Err(_) if tolerate => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Err(e) = m.create() {
        if tolerate {
            return Ok(None);
        }
        return Err(err(e));
    }
    let res = (|| {
        m.apply(&with_default_devices(spec)).map_err(err)?;
        m.add_task(pid).map_err(err)
    })();
    if let Err(e) = res {
        let _ = m.destroy();
        return Err(e);
    }
    Ok(Some(m))
}

fn wants_limits(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .is_some_and(|r| {
            r.memory().is_some()
                || r.cpu().is_some()
                || r.pids().is_some()
                || r.block_io().is_some()
                || r.hugepage_limits().is_some()
        })
}

pub fn is_paused(s: &Saved) -> bool {
    for_saved(s)
        .and_then(|m| m.is_frozen().map_err(err))
        .unwrap_or(false)
}

/// `linux.resources` with the device rules every container needs appended, as runc does:
/// mknod of any node (the node itself is still checked on open), the default devices, the
/// pty devices, /dev/net/tun, and each entry of `linux.devices`. Not /dev/console (5:1):
/// runc leaves it out (a terminal's console is a bind of the pty, major 136).
pub fn with_default_devices(spec: &Spec) -> LinuxResources {
    let linux = spec.linux().as_ref();
    let mut res = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut rules = res.devices().clone().unwrap_or_default();
    let rule = |typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true)
            .set_typ(Some(typ))
            .set_major(major)
            .set_minor(minor)
            .set_access(Some(access.to_string()));
        r
    };
    rules.push(rule(LinuxDeviceType::C, None, None, "m"));
    rules.push(rule(LinuxDeviceType::B, None, None, "m"));
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 2),
        (10, 200),
    ] {
        rules.push(rule(LinuxDeviceType::C, Some(major), Some(minor), "rwm"));
    }
    rules.push(rule(LinuxDeviceType::C, Some(136), None, "rwm"));
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        // As runc: a fifo has no device cgroup rule, an unbuffered char device is a char
        // device to the cgroup.
        let typ = match d.typ() {
            LinuxDeviceType::P => continue,
            LinuxDeviceType::U => LinuxDeviceType::C,
            t => t,
        };
        rules.push(rule(typ, Some(d.major()), Some(d.minor()), "rwm"));
    }
    res.set_devices(Some(rules));
    res
}
