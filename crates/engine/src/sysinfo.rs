//! Facts about the host that `hull info` and `hull version` print: kernel, distribution,
//! CPUs, memory, cgroup version, and the OCI runtime's own version.

use std::path::Path;
use std::process::{Command, Stdio};

/// Go's name for this machine (docker's `Arch`), one home: the image store's.
pub use hull_image::go_arch;

/// `uname -r`.
pub fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `uname -m` of this build's target (`x86_64`, `aarch64`).
pub fn machine() -> &'static str {
    std::env::consts::ARCH
}

/// The host's name.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// PRETTY_NAME from /etc/os-release (`Debian GNU/Linux 12 (bookworm)`).
pub fn operating_system() -> String {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// Online CPUs.
pub fn ncpu() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// MemTotal from /proc/meminfo, in bytes.
pub fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// "1" or "2": which cgroup interface containers get (hybrid hosts count as 1): "2" when
/// /sys/fs/cgroup itself is a cgroup2 file system (one statfs, not a scan of mountinfo).
pub fn cgroup_version() -> &'static str {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    match nix::sys::statfs::statfs("/sys/fs/cgroup") {
        // f_type's integer type differs between libc targets; widen to compare.
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        Ok(st) if st.filesystem_type().0 as i64 == CGROUP2_SUPER_MAGIC => "2",
        _ => "1",
    }
}

/// The file system type holding `path` (`extfs`, `xfs`, `btrfs`, `tmpfs`...), as docker names
/// the backing file system.
pub fn backing_fs(path: &Path) -> String {
    let mut p = path.to_path_buf();
    // The root may not exist yet: ask about its nearest existing ancestor.
    while !p.exists() {
        if !p.pop() {
            break;
        }
    }
    let Ok(st) = nix::sys::statfs::statfs(&p) else {
        return "unknown".into();
    };
    // f_type's integer type differs between libc targets; widen to compare.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    let t = st.filesystem_type().0 as i64;
    match t {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6573_5546 => "fuse",
        _ => "unknown",
    }
    .to_string()
}

/// The OCI runtime's version: the first line of `RUNTIME --version` without the program's
/// name (`0.1.0`, `1.1.5`), or None when it does not run.
pub fn runtime_version(runtime: &Path) -> Option<String> {
    let out = Command::new(runtime)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next()?.trim();
    // "hullrt 0.1.0", "runc version 1.1.5", "crun version 1.8.1".
    Some(first.rsplit(' ').next().unwrap_or(first).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_facts_are_sane() {
        assert!(!kernel_version().is_empty());
        assert!(ncpu() >= 1);
        assert!(mem_total() > 64 << 20);
        assert!(matches!(cgroup_version(), "1" | "2"));
        assert_ne!(backing_fs(Path::new("/nonexistent/below")), "");
    }

    #[test]
    fn runtime_versions_parse() {
        assert_eq!(runtime_version(Path::new("/nonexistent")), None);
        // `true --version` prints coreutils' banner: some word, never a failure to run.
        if Path::new("/bin/true").exists() {
            assert!(runtime_version(Path::new("/bin/true")).is_some());
        }
    }
}
