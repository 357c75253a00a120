//! The support library of the end-to-end tests (the `hull-e2e` crate's lib): every test file
//! under tests/ uses it with `use hull_e2e::...`.
//!
//! - the binaries under test: `hull_bin`, `hullrt_path`, `busybox` (here)
//! - [`api_service`]: one `hull system service` per test file, for the API clients
//! - [`bundle`]: an OCI bundle with a busybox rootfs, run by the real `hullrt`
//! - [`hull`]: the one harness for the `hull` engine (a private state, one cleanup rule)
//! - [`image`]: image stores, archives and rootfs tarballs built by hand
//! - [`net`]: a remote host in a namespace, a server container, what the host reaches
//! - [`registry`]: a private `docker-registry` on a free loopback port
//! - [`procs`]: processes, namespaces and cgroups as the host sees them; polling
//! - [`client_support`], [`client_session`]: the real clients (containerd, dockerd, podman)
//!   started privately, and a scenario run under hullrt and under runc
//! - [`runc_pair`], [`docker_pair`]: hullrt beside runc, hull beside docker;
//!   [`build_compare`]: a build by hull and by docker's builder compared
//! - [`clock_rootfs`]: the host's glibc programs inside a rootfs, for the clock tests
//!
//! Every test gets its own state root and bundle, so tests run in parallel.

pub mod api_service;
pub mod build_compare;
pub mod bundle;
pub mod client_session;
pub mod client_support;
pub mod clock_rootfs;
pub mod cri;
pub mod docker_pair;
pub mod hull;
pub mod image;
pub mod net;
pub mod probes;
pub mod procs;
pub mod registry;
pub mod runc_pair;
pub mod trace;

pub use bundle::Bundle;
pub use procs::{
    cgroup_dirs_named, cgroup_procs, kill9, ns_of, proc_state, read_all, recv_with_fd, stopped_at,
    unique_id, unmount_under, wait_for,
};

use std::path::{Path, PathBuf};

/// target/debug (or release), found from the test executable's own path.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("target dir").to_path_buf()
}

/// The `hull` binary, after checking that the hull-monitor beside it is built and newer than
/// its sources: it is its own workspace (crates/monitor-bin), which `cargo build` at the root
/// does not build, and a stale one would fail tests far from the cause.
pub fn hull_bin() -> PathBuf {
    static STALE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let stale = STALE.get_or_init(|| {
        let mon = bin_dir().join("hull-monitor");
        let built = std::fs::metadata(&mon).and_then(|m| m.modified()).ok();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sources = newest(&root.join("crates/monitor-bin"));
        let sources = sources.max(newest(&root.join("crates/monitor")));
        let fresh = built.is_some_and(|b| Some(b) >= sources);
        (!fresh).then(|| {
            format!(
                "{} is missing or older than crates/monitor-bin or crates/monitor: \
                 run `cargo build-monitor` (its own workspace; scripts/test.sh builds it)",
                mon.display()
            )
        })
    });
    if let Some(msg) = stale {
        panic!("{msg}");
    }
    let p = bin_dir().join("hull");
    assert!(
        p.exists(),
        "{} missing: run `cargo build` first",
        p.display()
    );
    p
}

/// The newest modification time of the files under `dir`, leaving out build output.
fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    let mut best = None;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let t = if p.is_dir() {
            if e.file_name() == "target" {
                continue;
            }
            newest(&p)
        } else {
            e.metadata().and_then(|m| m.modified()).ok()
        };
        best = best.max(t);
    }
    best
}

pub fn hullrt_path() -> PathBuf {
    let p = bin_dir().join("hullrt");
    assert!(
        p.exists(),
        "{} missing: run `cargo build` first",
        p.display()
    );
    p
}

pub fn require_root() {
    assert!(
        nix_is_root(),
        "these tests run real containers and must run as root"
    );
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid cannot fail and has no side effects.
    unsafe { libc::geteuid() == 0 }
}

/// A static busybox, from Debian's busybox-static.
pub fn busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = PathBuf::from(p);
        if p.exists() {
            return p;
        }
    }
    panic!("busybox not found: apt-get install busybox-static");
}
