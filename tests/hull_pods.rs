//! Pods: the infra process (hull-pause) on its own under hullrt, and `hull pod` end to end.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hull_e2e::*;
use serde_json::json;

fn pause_path() -> PathBuf {
    let p = bin_dir().join("hull-pause");
    assert!(
        p.exists(),
        "{} missing: run `cargo build` first",
        p.display()
    );
    p
}

/// A bundle whose rootfs is an empty directory with nothing but hull-pause bind-mounted
/// read-only, as the engine runs it for a pod's infra.
fn pause_bundle() -> Bundle {
    let mut b = Bundle::new("");
    std::fs::remove_dir_all(b.rootfs()).unwrap();
    std::fs::create_dir(b.rootfs()).unwrap();
    std::fs::write(b.rootfs().join("pause"), "").unwrap();
    b.config["process"]["args"] = json!(["/pause"]);
    b.config["root"]["readonly"] = json!(true);
    b.config["mounts"] = json!([{
        "destination": "/pause", "type": "bind",
        "source": pause_path(), "options": ["bind", "ro"]
    }]);
    b.config["linux"]["maskedPaths"] = json!([]);
    b.config["linux"]["readonlyPaths"] = json!([]);
    b.namespaces(&["mount", "pid", "ipc", "uts", "network"]);
    b
}

fn children_of(pid: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i64>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(1).and_then(|pp| pp.parse::<i64>().ok()) == Some(pid) {
            out.push((p, f[0].to_string()));
        }
    }
    out
}

fn poll(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn pause_is_static() {
    let out = Command::new("ldd").arg(pause_path()).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("statically linked") || text.contains("not a dynamic executable"),
        "ldd hull-pause: {text}"
    );
}

#[test]
fn pause_runs_alone_as_pid_1_reaps_orphans_and_exits_on_term() {
    let b = pause_bundle();
    let id = unique_id("pause-reap");
    let out = b.hullrt(&["create", &id]);
    assert!(out.status.success(), "create: {out:?}");
    let out = b.hullrt(&["start", &id]);
    assert!(out.status.success(), "start: {out:?}");
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(nspid.trim_end().ends_with("\t1"), "{nspid}");
    // An orphan in the pause's pid namespace: its parent shell exits at once, so the kernel
    // re-parents it to the namespace's PID 1. It waits on a fifo until the test has seen that;
    // once it exits, nothing of it may stay (a zombie would, if pause did not reap).
    let fifo = b.path().join("release");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let st = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-p",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
        ])
        .arg(format!(
            "/bin/busybox sh -c 'read x < {}' >/dev/null 2>&1 & exit 0",
            fifo.display()
        ))
        .status()
        .unwrap();
    assert!(st.success());
    poll("the orphan to be re-parented to pause", || {
        !children_of(pid).is_empty()
    });
    std::fs::write(&fifo, "go\n").unwrap();
    poll("pause to reap its orphan", || children_of(pid).is_empty());
    let out = b.hullrt(&["kill", &id, "TERM"]);
    assert!(out.status.success(), "kill: {out:?}");
    poll("pause to exit on SIGTERM", || {
        b.state(&id)["status"] == "stopped"
    });
    let out = b.hullrt(&["delete", &id]);
    assert!(out.status.success(), "delete: {out:?}");
}

#[test]
fn pause_exits_0_on_sigint_in_the_foreground() {
    let b = pause_bundle();
    let id = unique_id("pause-int");
    b.save();
    let mut child = Command::new(hullrt_path())
        .arg("--root")
        .arg(&b.root)
        .args(["run", &id])
        .current_dir(b.path())
        .spawn()
        .unwrap();
    poll("pause to run", || {
        let out = b.hullrt(&["state", &id]);
        out.status.success()
            && serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .map(|v| v["status"] == "running")
                .unwrap_or(false)
    });
    let out = b.hullrt(&["kill", &id, "INT"]);
    assert!(out.status.success(), "kill: {out:?}");
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(0), "hullrt run exits with pause's status");
}
