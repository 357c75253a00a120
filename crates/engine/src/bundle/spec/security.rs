//! Privileges: docker's 14 capabilities with --cap-add/--cap-drop, docker's seccomp profile
//! (or a given one, or none), no_new_privs, masked and read-only /proc paths, sysctls, and
//! devices (--device, or every host device with --privileged).

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use oci_spec::runtime::{
    Capability, LinuxCapabilitiesBuilder, LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType, Spec,
};

use super::{invalid, linux_mut, process_mut, Ctx, Result, SpecError};

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
pub fn device_numbers(path: &str) -> Option<(LinuxDeviceType, i64, i64)> {
    let md = std::fs::metadata(path).ok()?;
    let kind = if md.file_type().is_char_device() {
        LinuxDeviceType::C
    } else if md.file_type().is_block_device() {
        LinuxDeviceType::B
    } else {
        return None;
    };
    let rdev = md.rdev();
    Some((
        kind,
        i64::from(libc::major(rdev)),
        i64::from(libc::minor(rdev)),
    ))
}

fn device_entry(host: &str, container: &str, md: &std::fs::Metadata) -> Option<LinuxDevice> {
    let (kind, major, minor) = device_numbers(host)?;
    LinuxDeviceBuilder::default()
        .path(container)
        .typ(kind)
        .major(major)
        .minor(minor)
        .file_mode(md.mode() & 0o7777)
        .uid(md.uid())
        .gid(md.gid())
        .build()
        .ok()
}

/// Every device node under the host's /dev (for --privileged), as docker adds them.
fn host_devices() -> Vec<LinuxDevice> {
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

/// The capability names as oci-spec's set (names are checked by `capabilities`).
fn cap_set(names: &[String]) -> Result<oci_spec::runtime::Capabilities> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value::<Capability>(n.as_str().into())
                .map_err(|_| SpecError::Invalid(format!("unknown capability {n:?}")))
        })
        .collect()
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<()> {
    let cfg = &ctx.c.config;
    let caps = capabilities(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)?;
    let set = cap_set(&caps)?;
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .build()
        .map_err(invalid)?;
    // Not asked for: LinuxCapabilities' default fills them (module doc of super).
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    let process = process_mut(spec);
    process.set_capabilities(Some(capabilities));
    if cfg.no_new_privileges {
        process.set_no_new_privileges(Some(true));
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
    let linux = linux_mut(spec);
    if !cfg.privileged {
        linux.set_masked_paths(Some(MASKED.iter().map(|p| p.to_string()).collect()));
        linux.set_readonly_paths(Some(READONLY.iter().map(|p| p.to_string()).collect()));
    }
    linux.set_seccomp(seccomp);
    if !cfg.sysctls.is_empty() {
        linux.set_sysctl(Some(cfg.sysctls.clone().into_iter().collect()));
    }
    let mut devices = Vec::new();
    if cfg.privileged {
        devices.extend(host_devices());
    }
    for d in &cfg.devices {
        let md = std::fs::metadata(&d.host).map_err(|source| SpecError::Io {
            path: format!("--device {}", d.host),
            source,
        })?;
        let entry = device_entry(&d.host, &d.container, &md).ok_or_else(|| {
            SpecError::Invalid(format!("invalid --device {:?}: not a device node", d.host))
        })?;
        devices.push(entry);
    }
    if !devices.is_empty() {
        linux.set_devices(Some(devices));
    }
    Ok(())
}
