//! Which namespaces a container creates and which it joins, and where in the start sequence
//! each is entered. The kernel fixes most of the order:
//!
//! * pid and time namespaces apply to a process's *children* (`pid_for_children`,
//!   `time_for_children`), so the parent enters or creates them before clone; a new time
//!   namespace's offsets can only be written before any process is in it.
//! * every other new namespace is created by the one clone(2) that makes init, and is owned by
//!   the new user namespace when there is one (the kernel creates that first).
//! * a cgroup namespace is unshared by init after the parent has put it in its cgroup, so the
//!   namespace's root is the container's cgroup, not the runtime's.
//! * namespaces given by `path` are joined by init with setns, the user namespace first.

use std::os::fd::AsFd;
use std::path::PathBuf;

use nix::sched::{setns, unshare, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Context, Error, Result};

#[derive(Debug)]
pub struct Plan {
    /// Flags for the clone that creates init.
    pub clone_flags: CloneFlags,
    /// Unshared by init right after the parent lets it continue.
    pub unshare_in_init: CloneFlags,
    /// Joined by init (user first), in this order.
    pub join_in_init: Vec<(LinuxNamespaceType, PathBuf)>,
    /// Joined by the parent before clone (pid, time).
    pub join_in_parent: Vec<(LinuxNamespaceType, PathBuf)>,
    pub new_user: bool,
    pub new_pid: bool,
    pub new_time: bool,
    /// A network namespace of the container's own: init brings its `lo` up, as runc does.
    pub new_net: bool,
    pub joins_user: bool,
}

pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

pub fn plan(spec: &Spec) -> Plan {
    let mut p = Plan {
        clone_flags: CloneFlags::empty(),
        unshare_in_init: CloneFlags::empty(),
        join_in_init: Vec::new(),
        join_in_parent: Vec::new(),
        new_user: false,
        new_pid: false,
        new_time: false,
        new_net: false,
        joins_user: false,
    };
    let nss = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    p.joins_user = nss
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
    for ns in &nss {
        let t = ns.typ();
        match (t, ns.path()) {
            (LinuxNamespaceType::Pid | LinuxNamespaceType::Time, Some(path)) => {
                p.join_in_parent.push((t, path.clone()))
            }
            (_, Some(path)) => {
                if t == LinuxNamespaceType::User {
                    p.join_in_init.insert(0, (t, path.clone()));
                } else {
                    p.join_in_init.push((t, path.clone()));
                }
            }
            (LinuxNamespaceType::Time, None) => p.new_time = true,
            (LinuxNamespaceType::Cgroup, None) => p.unshare_in_init |= flag(t),
            (LinuxNamespaceType::Pid, None) => {
                p.new_pid = true;
                p.clone_flags |= flag(t);
            }
            (_, None) => {
                if t == LinuxNamespaceType::User {
                    p.new_user = true;
                }
                if t == LinuxNamespaceType::Network {
                    p.new_net = true;
                }
                // With a joined user namespace, new namespaces must be created after joining
                // it so that it owns them.
                if p.joins_user {
                    p.unshare_in_init |= flag(t);
                } else {
                    p.clone_flags |= flag(t);
                }
            }
        }
    }
    p
}

pub fn join(t: LinuxNamespaceType, path: &PathBuf) -> Result<()> {
    let f = std::fs::File::open(path).at("open namespace", path)?;
    setns(f.as_fd(), flag(t)).map_err(|e| Error::sys("setns", path, e))
}

/// In the parent, before clone: creates the time namespace for init's sake and sets its
/// offsets (`linux.timeOffsets`: seconds and nanoseconds per clock).
pub fn new_time_ns(spec: &Spec) -> Result<()> {
    unshare(flag(LinuxNamespaceType::Time)).ctx(|| "unshare time namespace".into())?;
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if text.is_empty() {
        return Ok(());
    }
    crate::rootfs::procfs::write("self/timens_offsets", &text)
        .map_err(|e| Error::config("linux.timeOffsets", e.to_string()))
}
