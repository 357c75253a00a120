//! Process attributes beyond identity and capabilities: LSM labels, scheduling, I/O priority,
//! and the seccomp filter with its notify hand-off.

use std::os::unix::net::UnixStream;
use std::path::Path;

use oci_spec::runtime::{IOPriorityClass, LinuxSchedulerFlag, LinuxSchedulerPolicy, Process, Spec};

use crate::error::{Error, Result};

fn lsm_active(name: &str) -> bool {
    let lsms = std::fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
    lsms.split(',').any(|l| l.trim() == name)
        || match name {
            "apparmor" => {
                Path::new("/sys/module/apparmor/parameters/enabled").exists()
                    && std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                        .is_ok_and(|s| s.trim() == "Y")
            }
            "selinux" => Path::new("/sys/fs/selinux/enforce").exists(),
            _ => false,
        }
}

/// Checked before anything is created, so asking for a profile on a host without the LSM is
/// a config error rather than a half-made container.
pub fn validate(spec: &Spec) -> Result<()> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    if p.apparmor_profile()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        && !lsm_active("apparmor")
    {
        return Err(Error::config(
            "process.apparmorProfile",
            "AppArmor is not enabled on this host",
        ));
    }
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty()) && !lsm_active("selinux") {
        return Err(Error::config(
            "process.selinuxLabel",
            "SELinux is not enabled on this host",
        ));
    }
    if let Some(io) = p.io_priority() {
        if !(0..=7).contains(&io.priority()) {
            return Err(Error::config(
                "process.ioPriority.priority",
                format!("{} is outside 0..7", io.priority()),
            ));
        }
    }
    if let Some(s) = p.scheduler() {
        if let Some(n) = *s.nice() {
            if !(-20..=19).contains(&n) {
                return Err(Error::config(
                    "process.scheduler.nice",
                    format!("{n} is outside -20..19"),
                ));
            }
        }
    }
    Ok(())
}

/// LSM labels for the program: written to /proc/self/attr/.../exec, they take effect at exec.
pub fn set_lsm_labels(p: &Process) -> Result<()> {
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        let path = if Path::new("/proc/self/attr/apparmor/exec").exists() {
            "/proc/self/attr/apparmor/exec"
        } else {
            "/proc/self/attr/exec"
        };
        crate::rootfs::paths::write_proc(Path::new(path), &format!("exec {profile}"))
            .map_err(|e| Error::config("process.apparmorProfile", e.to_string()))?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        crate::rootfs::paths::write_proc(Path::new("/proc/self/attr/exec"), label)
            .map_err(|e| Error::config("process.selinuxLabel", e.to_string()))?;
    }
    Ok(())
}

pub fn set_scheduling(p: &Process) -> Result<()> {
    if let Some(s) = p.scheduler() {
        let policy = match s.policy() {
            LinuxSchedulerPolicy::SchedOther => libc::SCHED_OTHER,
            LinuxSchedulerPolicy::SchedFifo => libc::SCHED_FIFO,
            LinuxSchedulerPolicy::SchedRr => libc::SCHED_RR,
            LinuxSchedulerPolicy::SchedBatch => libc::SCHED_BATCH,
            LinuxSchedulerPolicy::SchedIso => 4,
            LinuxSchedulerPolicy::SchedIdle => libc::SCHED_IDLE,
            LinuxSchedulerPolicy::SchedDeadline => 6,
        };
        let mut flags = 0u64;
        for f in s.flags().iter().flatten() {
            flags |= match f {
                LinuxSchedulerFlag::SchedResetOnFork => 0x01,
                LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
                LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
                LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
                LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
                LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
                LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
            };
        }
        let mut attr = hull_sys::SchedAttr {
            policy: policy as u32,
            flags,
            nice: s.nice().unwrap_or(0),
            priority: s.priority().unwrap_or(0).max(0) as u32,
            runtime: s.runtime().unwrap_or(0),
            deadline: s.deadline().unwrap_or(0),
            period: s.period().unwrap_or(0),
            ..Default::default()
        };
        hull_sys::sched_setattr(&mut attr)
            .map_err(|e| Error::config("process.scheduler", format!("sched_setattr: {e}")))?;
    }
    if let Some(io) = p.io_priority() {
        let class = match io.class() {
            IOPriorityClass::IoprioClassRt => 1,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        hull_sys::ioprio_set(class, io.priority() as u32)
            .map_err(|e| Error::config("process.ioPriority", format!("ioprio_set: {e}")))?;
    }
    Ok(())
}

/// The compiled `linux.seccomp` filter and, for NOTIFY rules, a connection to the listener,
/// made while the host's filesystem is still visible (before pivot_root).
pub struct Seccomp {
    pub filter: hull_seccomp::Filter,
    pub listener: Option<(UnixStream, String)>,
}

/// Where compiled filters are kept between runs (see hull_seccomp::cache): root's
/// /var/cache/hullrt/seccomp, or $HULLRT_SECCOMP_CACHE (`off` disables it). Not used unless
/// the directory belongs to us and nobody else can write to it: its entries become filters.
fn seccomp_cache_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let euid = nix::unistd::geteuid();
    let dir = match std::env::var_os("HULLRT_SECCOMP_CACHE") {
        Some(v) if v == "off" => return None,
        Some(v) if !v.is_empty() => std::path::PathBuf::from(v),
        _ if euid.is_root() => std::path::PathBuf::from("/var/cache/hullrt/seccomp"),
        _ => return None,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .ok()?;
    }
    let md = std::fs::symlink_metadata(&dir).ok()?;
    (md.is_dir() && md.uid() == euid.as_raw() && md.mode() & 0o022 == 0).then_some(dir)
}

/// Compiled in the parent, before clone: a bad filter fails create before anything runs.
/// A filter compiled before from the same profile is taken from the cache.
pub fn compile(spec: &Spec) -> Result<Option<hull_seccomp::Filter>> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let cache = seccomp_cache_dir();
    let filter = match cache
        .as_deref()
        .and_then(|d| hull_seccomp::cache::get(d, sc))
    {
        Some(f) => f,
        None => {
            let f =
                hull_seccomp::compile(sc).map_err(|e| Error::Other(format!("config.json: {e}")))?;
            if let Some(d) = &cache {
                let _ = hull_seccomp::cache::put(d, sc, &f);
            }
            f
        }
    };
    if filter.uses_notify()
        && sc
            .listener_path()
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
    {
        return Err(Error::config(
            "linux.seccomp.listenerPath",
            "SCMP_ACT_NOTIFY needs a listenerPath",
        ));
    }
    Ok(Some(filter))
}

pub fn connect_listener(
    spec: &Spec,
    filter: &hull_seccomp::Filter,
) -> Result<Option<(UnixStream, String)>> {
    if !filter.uses_notify() {
        return Ok(None);
    }
    let sc = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .expect("compiled");
    let path = sc.listener_path().clone().unwrap_or_default();
    let stream = hull_sys::fdpass::connect(&path).map_err(|e| {
        Error::config(
            "linux.seccomp.listenerPath",
            format!("{}: {e}", path.display()),
        )
    })?;
    Ok(Some((
        stream,
        sc.listener_metadata().clone().unwrap_or_default(),
    )))
}

/// Installs the filter as the last step before exec, in init and in exec alike, so that
/// nothing the runtime does for itself is subject to it (runc does the same): after it only
/// the notify fd's hand-off (with NOTIFY rules), the capset of `held` (without
/// no_new_privs, see HeldAdmin) and execve run. A profile must allow those, as under runc.
pub fn load_last(
    sc: &Seccomp,
    state_json: &str,
    held: Option<super::process::HeldAdmin>,
) -> Result<()> {
    load(sc, state_json)?;
    match held {
        Some(h) => h.release(),
        None => Ok(()),
    }
}

/// Installs the filter; a notify fd goes to the listener with the container state.
fn load(sc: &Seccomp, state_json: &str) -> Result<()> {
    let fd = hull_seccomp::load(&sc.filter).map_err(|e| Error::Other(format!("seccomp: {e}")))?;
    if let (Some(fd), Some((stream, meta))) = (fd, &sc.listener) {
        use std::os::fd::AsFd;
        hull_seccomp::send_notify_fd_on(stream, fd.as_fd(), state_json.as_bytes(), meta)
            .map_err(|e| Error::Other(format!("seccomp listener: {e}")))?;
    }
    Ok(())
}
