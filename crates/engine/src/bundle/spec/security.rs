//! Privileges: docker's 14 capabilities with --cap-add/--cap-drop, docker's seccomp profile
//! (or a given one, or none), no_new_privs, masked and read-only /proc paths, sysctls, and
//! devices (--device, or every host device with --privileged).

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use serde_json::{json, Value};

use super::{push, Ctx, Result, SpecError};

pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

pub const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

pub const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Every capability hull itself may hand on: the kernel's, within our own bounding set (a
/// host that dropped one from it, as some sandboxes do, cannot give it to a container).
fn all_caps() -> Vec<String> {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::all());
    caps::all()
        .into_iter()
        .filter(|c| u32::from(c.index()) <= last && bounding.contains(c))
        .map(|c| c.to_string())
        .collect()
}

fn normalize(cap: &str) -> String {
    let up = cap.to_ascii_uppercase();
    if up.starts_with("CAP_") || up == "ALL" {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// The capability set from docker's defaults and the flags.
pub fn capabilities(privileged: bool, add: &[String], drop: &[String]) -> Result<Vec<String>> {
    if privileged {
        return Ok(all_caps());
    }
    let known = all_caps();
    let mut set: Vec<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
    for d in drop.iter().map(|c| normalize(c)) {
        if d == "ALL" {
            set.clear();
        } else if !known.contains(&d) && !caps_known(&d) {
            return Err(SpecError::Invalid(format!(
                "invalid --cap-drop {d:?}: unknown capability"
            )));
        } else {
            set.retain(|c| *c != d);
        }
    }
    for a in add.iter().map(|c| normalize(c)) {
        if a == "ALL" {
            set = known.clone();
        } else if !caps_known(&a) {
            return Err(SpecError::Invalid(format!(
                "invalid --cap-add {a:?}: unknown capability"
            )));
        } else if !set.contains(&a) {
            set.push(a);
        }
    }
    Ok(set)
}

fn caps_known(name: &str) -> bool {
    name.parse::<caps::Capability>().is_ok()
}

/// (type, major, minor) of a device node on the host.
pub fn device_numbers(path: &str) -> Option<(&'static str, u64, u64)> {
    let md = std::fs::metadata(path).ok()?;
    let kind = if md.file_type().is_char_device() {
        "c"
    } else if md.file_type().is_block_device() {
        "b"
    } else {
        return None;
    };
    let rdev = md.rdev();
    Some((kind, libc::major(rdev) as u64, libc::minor(rdev) as u64))
}

fn device_entry(host: &str, container: &str, md: &std::fs::Metadata) -> Option<Value> {
    let (kind, major, minor) = device_numbers(host)?;
    Some(
        json!({"path": container, "type": kind, "major": major, "minor": minor,
                "fileMode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid()}),
    )
}

/// Every device node under the host's /dev (for --privileged), as docker adds them.
fn host_devices() -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/dev")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let name = p.to_string_lossy().to_string();
            if md.is_dir() {
                if !matches!(name.as_str(), "/dev/pts" | "/dev/shm" | "/dev/mqueue") {
                    stack.push(p);
                }
            } else if (md.file_type().is_char_device() || md.file_type().is_block_device())
                && !matches!(name.as_str(), "/dev/console" | "/dev/ptmx" | "/dev/tty")
            {
                if let Some(d) = device_entry(&name, &name, &md) {
                    out.push(d);
                }
            }
        }
    }
    out
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Value) -> Result<()> {
    let cfg = &ctx.c.config;
    let caps = capabilities(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)?;
    spec["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps,
    });
    if cfg.no_new_privileges {
        spec["process"]["noNewPrivileges"] = json!(true);
    }
    let linux = &mut spec["linux"];
    if !cfg.privileged {
        linux["maskedPaths"] = json!(MASKED);
        linux["readonlyPaths"] = json!(READONLY);
    }
    let seccomp = match cfg.seccomp.as_deref() {
        _ if cfg.privileged => None,
        Some("unconfined") => None,
        None => Some(
            hull_seccomp::default_profile(&caps).map_err(|e| SpecError::Seccomp(e.to_string()))?,
        ),
        Some(json_text) => Some(
            hull_seccomp::docker_to_oci(json_text.as_bytes(), &caps, hull_seccomp::native_arch())
                .map_err(|e| SpecError::Seccomp(e.to_string()))?,
        ),
    };
    if let Some(s) = seccomp {
        linux["seccomp"] =
            serde_json::to_value(s).map_err(|e| SpecError::Seccomp(e.to_string()))?;
    }
    if !cfg.sysctls.is_empty() {
        linux["sysctl"] = json!(cfg.sysctls);
    }
    if cfg.privileged {
        for d in host_devices() {
            push(linux, "devices", d);
        }
    }
    for d in &cfg.devices {
        let md = std::fs::metadata(&d.host).map_err(|source| SpecError::Io {
            path: format!("--device {}", d.host),
            source,
        })?;
        let entry = device_entry(&d.host, &d.container, &md).ok_or_else(|| {
            SpecError::Invalid(format!("invalid --device {:?}: not a device node", d.host))
        })?;
        push(linux, "devices", entry);
    }
    Ok(())
}
