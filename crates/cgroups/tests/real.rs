//! Real-kernel tests: run as root against the host's own cgroupfs (v1 or hybrid on the CI
//! host, v2 inside tests/run-v2-vm.sh's guest). Each test makes its own uniquely named cgroup
//! and looks at the result from the kernel's side: the files, /proc/PID/cgroup, /proc/PID/status.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hull_cgroups::{manager, CgroupVersion, Manager};
use oci_spec::runtime::LinuxResources;

fn skip() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: real cgroup tests need root");
        return true;
    }
    false
}

fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("/hull-test-{}/{name}-{n}", std::process::id())
}

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

/// Where `file` of this cgroup lives on this host. v1: /sys/fs/cgroup/<controller>/...,
/// which is also right on co-mounting hosts (cpu -> cpu,cpuacct symlink).
fn file(m: &dyn Manager, controller: &str, name: &str) -> PathBuf {
    let root = Path::new("/sys/fs/cgroup");
    match m.version() {
        CgroupVersion::V1 => root.join(controller).join(m.path()).join(name),
        CgroupVersion::V2 => root.join(m.path()).join(name),
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

fn proc_state(pid: u32) -> String {
    let s = read(Path::new(&format!("/proc/{pid}/status")));
    let line = s.lines().find(|l| l.starts_with("State:")).unwrap();
    line["State:".len()..].trim().to_string()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A shell that waits for a line on stdin (so we can move it into the cgroup before it does
/// anything), then runs `script`.
fn gated_sh(script: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("read go; {script}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn release(child: &mut Child) {
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
}

/// Kills the child if a test fails half way, so no busy loop outlives the test.
struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// destroy() and check no directory is left, in any hierarchy.
fn destroy_and_check(m: &dyn Manager) {
    m.destroy().unwrap();
    let parent = m.path().parent().unwrap().to_path_buf();
    let root = Path::new("/sys/fs/cgroup");
    let dirs: Vec<PathBuf> = match m.version() {
        CgroupVersion::V2 => vec![root.join(m.path())],
        CgroupVersion::V1 => std::fs::read_dir(root)
            .unwrap()
            .flatten()
            .map(|e| e.path().join(m.path()))
            .collect(),
    };
    for d in dirs {
        assert!(!d.exists(), "{} still exists after destroy", d.display());
    }
    // The per-run parent is ours too: rmdir it (not recursively: other tests may still be
    // using it, and then rmdir fails with EBUSY, which is fine).
    let parents: Vec<PathBuf> = match m.version() {
        CgroupVersion::V2 => vec![root.join(&parent)],
        CgroupVersion::V1 => std::fs::read_dir(root)
            .unwrap()
            .flatten()
            .map(|e| e.path().join(&parent))
            .collect(),
    };
    for p in parents {
        let _ = std::fs::remove_dir(p);
    }
}

#[test]
fn lifecycle_limits_freeze_stats_destroy() {
    if skip() {
        return;
    }
    let m = manager(Some(&unique("life")), "life").unwrap();
    println!("cgroup {:?} on {:?}", m.path(), m.version());
    m.create().unwrap();
    let mut child = Killer(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    m.add_task(i32::try_from(pid).unwrap()).unwrap();

    m.apply(&res(r#"{
        "memory": {"limit": 67108864},
        "pids": {"limit": 20},
        "cpu": {"quota": 50000, "period": 100000, "cpus": "0", "mems": "0", "shares": 1024}
    }"#))
        .unwrap();
    let v1 = m.version() == CgroupVersion::V1;
    if v1 {
        assert_eq!(
            read(&file(&*m, "memory", "memory.limit_in_bytes")),
            "67108864"
        );
        assert_eq!(read(&file(&*m, "cpu", "cpu.cfs_quota_us")), "50000");
        assert_eq!(read(&file(&*m, "cpu", "cpu.cfs_period_us")), "100000");
        assert_eq!(read(&file(&*m, "cpu", "cpu.shares")), "1024");
    } else {
        assert_eq!(read(&file(&*m, "memory", "memory.max")), "67108864");
        assert_eq!(read(&file(&*m, "cpu", "cpu.max")), "50000 100000");
        assert_eq!(read(&file(&*m, "cpu", "cpu.weight")), "39");
    }
    assert_eq!(read(&file(&*m, "pids", "pids.max")), "20");
    assert_eq!(read(&file(&*m, "cpuset", "cpuset.cpus")), "0");

    // Membership as the kernel reports it for the child.
    let cg = read(Path::new(&format!("/proc/{pid}/cgroup")));
    let want = format!(":/{}", m.path().display());
    let key = if v1 { ":pids:" } else { "0::" };
    let line = cg.lines().find(|l| l.contains(key)).unwrap();
    assert!(line.ends_with(&want), "/proc/{pid}/cgroup: {cg}");
    assert_eq!(m.pids().unwrap(), [i32::try_from(pid).unwrap()]);

    // A busy loop is "R" until frozen.
    wait_until("child running", || proc_state(pid).starts_with('R'));
    m.freeze().unwrap();
    assert!(m.is_frozen().unwrap());
    std::thread::sleep(Duration::from_millis(50));
    let frozen_state = proc_state(pid);
    println!("frozen child state: {frozen_state}");
    assert!(
        !frozen_state.starts_with('R'),
        "frozen child is {frozen_state}"
    );
    m.thaw().unwrap();
    assert!(!m.is_frozen().unwrap());
    wait_until("child running again", || proc_state(pid).starts_with('R'));

    let s = m.stats().unwrap();
    println!("{}", serde_json::to_string(&s).unwrap());
    assert_eq!(s.pids.current, 1);
    assert_eq!(s.pids.limit, 20);
    assert!(s.cpu.usage.total > 0);
    // v1 does not move charges on migration (move_charge_at_immigrate is off), so usage may
    // still be 0 for a shell that allocated before it moved; memory.stat must be there.
    assert!(!s.memory.raw.is_empty());
    assert_eq!(s.memory.usage.limit, 67108864);
    assert_eq!(m.oom_kill_count().unwrap(), 0);

    // Live update: raise the pids limit.
    m.apply(&res(r#"{"pids": {"limit": -1}}"#)).unwrap();
    assert_eq!(read(&file(&*m, "pids", "pids.max")), "max");

    // destroy() from the frozen state: it must thaw, kill and remove.
    m.freeze().unwrap();
    destroy_and_check(&*m);
    let status = child.0.wait().unwrap();
    assert!(!status.success());
    // Destroying again is fine.
    m.destroy().unwrap();
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    if skip() {
        return;
    }
    let m = manager(Some(&unique("forks")), "forks").unwrap();
    m.create().unwrap();
    m.apply(&res(r#"{"pids": {"limit": 5}}"#)).unwrap();
    let mut child =
        gated_sh("n=0; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 </dev/null >/dev/null 2>&1 & n=$((n+1)); done; echo started $n");
    m.add_task(i32::try_from(child.id()).unwrap()).unwrap();
    release(&mut child);
    // The shell either reports fork failures or dies of one; either way it ends.
    let _ = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let pids = m.pids().unwrap();
    println!("pids in cgroup: {pids:?}; shell stderr: {}", err.trim());
    assert!(
        pids.len() <= 5,
        "{} processes in a cgroup limited to 5",
        pids.len()
    );
    assert!(
        err.to_lowercase().contains("fork"),
        "no fork failure reported: {err}"
    );
    destroy_and_check(&*m);
}

#[test]
fn device_allow_list_is_enforced() {
    if skip() {
        return;
    }
    let m = manager(Some(&unique("dev")), "dev").unwrap();
    m.create().unwrap();
    // Deny everything, then allow /dev/null (c 1:3) only.
    m.apply(&res(r#"{"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ]}"#))
        .unwrap();
    let mut child = gated_sh(
        "echo hi > /dev/null && echo null-ok; \
         if head -c1 /dev/zero > /dev/null 2>&1; then echo zero-ok; else echo zero-denied; fi",
    );
    m.add_task(i32::try_from(child.id()).unwrap()).unwrap();
    release(&mut child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "null-ok\nzero-denied",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Live update to allow-all: /dev/zero opens again.
    m.apply(&res(r#"{"devices": [{"allow": true, "access": "rwm"}]}"#))
        .unwrap();
    let mut child = gated_sh("head -c1 /dev/zero > /dev/null && echo zero-ok");
    m.add_task(i32::try_from(child.id()).unwrap()).unwrap();
    release(&mut child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "zero-ok");
    destroy_and_check(&*m);
}
