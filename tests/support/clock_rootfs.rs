//! Rootfs pieces for the clock tests: the host's glibc programs (`date`, `bash`) with every
//! library `ldd` lists for them.

use std::path::Path;
use std::process::Command;

/// The glibc `date` and `bash` inside the rootfs (busybox's applets stay in /bin).
pub const DATE: &str = "/usr/bin/date";
pub const BASH: &str = "/usr/bin/bash";

/// Copies `path` to the same path under `rootfs`, creating directories (not symlinks).
fn copy_in(rootfs: &Path, path: &str) {
    let dest = rootfs.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(path, &dest).unwrap_or_else(|e| panic!("copy {path}: {e}"));
}

fn ldd_paths(bin: &str) -> Vec<String> {
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    assert!(out.status.success(), "ldd {bin}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // "libc.so.6 => /lib/.../libc.so.6 (0x..)" or "/lib64/ld-linux-x86-64.so.2 (0x..)"
            let p = l.split("=>").last()?.split_whitespace().next()?;
            p.starts_with('/').then(|| p.to_string())
        })
        .collect()
}

/// Puts the host's `date` and `bash`, and the libraries they need, in rootfs.
pub fn add_glibc_programs(rootfs: &Path) {
    let mut files = vec![DATE.to_string(), BASH.to_string()];
    for bin in [DATE, BASH] {
        files.extend(ldd_paths(bin));
    }
    files.sort();
    files.dedup();
    for f in files {
        copy_in(rootfs, &f);
    }
}

/// Host's `date -u -d @SECS +FMT`.
pub fn host_date(secs: i64, fmt: &str) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), &format!("+{fmt}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Seconds since the epoch on the host's real clock.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
