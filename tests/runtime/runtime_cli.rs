//! hullrt's command line as the clients drive it: `features`, runc's global flags in the
//! positions containerd and podman put them, `--systemd-cgroup`, `state` in every status and
//! `delete --force`, `--pidfd-socket`, and `--rootless`. (`hullrt exec` and terminals:
//! tests/runtime/exec.rs.)

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use hull_e2e::bundle::text;
use hull_e2e::{hullrt_path, unique_id, Bundle};
use serde_json::{json, Value};

#[test]
fn features_document() {
    let out = Command::new(hullrt_path())
        .arg("features")
        .output()
        .unwrap();
    assert!(out.status.success());
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert!(f["ociVersionMax"].as_str().unwrap().starts_with("1."));
    let has = |v: &Value, s: &str| v.as_array().unwrap().iter().any(|x| x == s);
    for ns in [
        "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
    ] {
        assert!(has(&f["linux"]["namespaces"], ns), "{ns}");
    }
    assert!(has(&f["linux"]["capabilities"], "CAP_SYS_ADMIN"));
    assert!(has(&f["linux"]["seccomp"]["actions"], "SCMP_ACT_NOTIFY"));
    assert!(has(
        &f["linux"]["seccomp"]["operators"],
        "SCMP_CMP_MASKED_EQ"
    ));
    assert!(has(&f["mountOptions"], "rbind"));
    assert!(!has(&f["mountOptions"], "idmap"));
    assert!(has(&f["hooks"], "createRuntime"));
    assert_eq!(f["linux"]["cgroup"]["v1"], true);
    assert_eq!(f["linux"]["cgroup"]["systemd"], true);
}

#[test]
fn global_flags_in_the_positions_clients_use() {
    let b = Bundle::new("sleep 1000");
    let id = unique_id("glob");
    let log = b.path().join("log.json");
    let log = log.to_str().unwrap();
    let root = b.root.to_str().unwrap();
    b.save();
    let run = |args: &[&str]| {
        // A file, not a pipe: the container keeps hullrt's stderr open.
        let mut err = tempfile::tempfile().unwrap();
        let st = Command::new(hullrt_path())
            .args(args)
            .current_dir(b.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err.try_clone().unwrap())
            .status()
            .unwrap();
        let mut e = String::new();
        use std::io::{Read, Seek};
        err.seek(std::io::SeekFrom::Start(0)).unwrap();
        err.read_to_string(&mut e).unwrap();
        (st.code().unwrap_or(-1), String::new(), e)
    };
    // containerd's shim: globals first, as go-runc writes them.
    let (c, _, e) = run(&[
        "--root",
        root,
        "--log",
        log,
        "--log-format",
        "json",
        "create",
        "--bundle",
        ".",
        "--no-new-keyring",
        &id,
    ]);
    assert_eq!(c, 0, "{e}");
    // ...and after the verb, as some callers do.
    let (c, _, e) = run(&["start", "--root", root, &id, "--log-format", "json"]);
    assert_eq!(c, 0, "{e}");
    let (c, _, e) = run(&["kill", "--root", root, "--all", &id, "KILL"]);
    assert_eq!(c, 0, "{e}");
    let (c, _, e) = run(&["--root", root, "delete", "--force", &id]);
    assert_eq!(c, 0, "{e}");
    // An error goes to the --log file as one JSON object.
    let (c, _, _) = run(&[
        "--root",
        root,
        "--log",
        log,
        "--log-format",
        "json",
        "state",
        &id,
    ]);
    assert_eq!(c, 1);
    let line = std::fs::read_to_string(log).unwrap();
    let v: Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap().contains("does not exist"), "{v}");
    // --systemd-cgroup on a host without systemd (this one): a clear refusal, nothing left.
    let id2 = unique_id("sysd");
    let (c, _, e) = run(&["--root", root, "--systemd-cgroup", "create", &id2]);
    assert_eq!(c, 1);
    assert!(
        e.contains("--systemd-cgroup") && e.contains("systemd is not running"),
        "{e}"
    );
    assert!(b.no_state_left(&id2));
}

#[test]
fn systemd_cgroup_refuses_a_cgroupfs_path() {
    // runc's rule: under --systemd-cgroup, cgroupsPath must be "slice:prefix:name". Checked
    // before systemd is asked (this host has none), so it fails the same way everywhere.
    let mut b = Bundle::new("true");
    b.config["linux"]["cgroupsPath"] = json!("/hull/x");
    b.save();
    let id = unique_id("sdpath");
    let out = b.hullrt(&["--systemd-cgroup", "create", &id]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("linux.cgroupsPath") && e.contains("slice:prefix:name"),
        "{e}"
    );
    assert!(b.no_state_left(&id));
}

#[test]
fn state_in_every_status_and_delete_force() {
    let b = Bundle::new("sleep 1000");
    let id = unique_id("states");
    let status = || b.state(&id)["status"].as_str().unwrap().to_string();
    assert!(b.hullrt(&["create", &id]).status.success());
    assert_eq!(status(), "created");
    assert!(b.hullrt(&["start", &id]).status.success());
    assert_eq!(status(), "running");
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    assert!(b.hullrt(&["pause", &id]).status.success());
    assert_eq!(status(), "paused");
    assert!(b.hullrt(&["resume", &id]).status.success());
    assert_eq!(status(), "running");
    // Plain delete refuses a running container; --force kills it and removes everything.
    let (code, _, err) = text(&b.hullrt(&["delete", &id]));
    assert_eq!(code, 1);
    assert!(err.contains("running"), "{err}");
    assert!(b.hullrt(&["delete", "--force", &id]).status.success());
    assert!(b.no_state_left(&id));
    assert!(gone(pid), "init {pid} still running");
    // And a container whose process exited reads as stopped, with pid 0 as runc's does.
    let b2 = Bundle::new("true");
    let id2 = unique_id("stopped");
    assert!(b2.hullrt(&["run", "-d", &id2]).status.success());
    std::thread::sleep(Duration::from_millis(300));
    let st = b2.state(&id2);
    assert_eq!(st["status"], "stopped");
    assert_eq!(st["pid"], 0, "{st}");
    assert!(b2.hullrt(&["delete", &id2]).status.success());
}

/// Whether a process has exited (it may stay a zombie until whoever inherited it reaps it).
fn gone(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'),
        Err(_) => true,
    }
}

/// The pid a pidfd refers to, as the kernel reports it in fdinfo.
fn pidfd_pid(fd: &OwnedFd) -> String {
    use std::os::fd::AsRawFd;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap_or_else(|| panic!("not a pidfd: {info}"))
        .trim()
        .to_string()
}

#[test]
fn pidfd_socket_receives_the_init_and_the_exec_process() {
    let b = Bundle::new("sleep 1000");
    let id = unique_id("pidfd");
    let path = b.path().join("pidfd.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let sock = path.to_str().unwrap();
    let o = b.hullrt(&["create", "--pidfd-socket", sock, &id]);
    assert!(o.status.success(), "{o:?}");
    let (conn, _) = listener.accept().unwrap();
    let (payload, fd) = hull_e2e::recv_with_fd(&conn);
    assert_eq!(payload, b"pidfd");
    let init = b.state(&id)["pid"].to_string();
    assert_eq!(pidfd_pid(&fd), init);

    let pidf = b.path().join("exec.pid");
    let o = b.hullrt(&[
        "exec",
        "--detach",
        "--pid-file",
        pidf.to_str().unwrap(),
        "--pidfd-socket",
        sock,
        &id,
        "sleep",
        "999",
    ]);
    assert!(o.status.success(), "{o:?}");
    let (conn, _) = listener.accept().unwrap();
    let (_, fd) = hull_e2e::recv_with_fd(&conn);
    let exec_pid = std::fs::read_to_string(&pidf).unwrap();
    assert_eq!(pidfd_pid(&fd), exec_pid.trim());
    assert_ne!(exec_pid.trim(), init);
    let _ = b.hullrt(&["delete", "--force", &id]);
}

#[test]
fn pidfd_socket_that_nobody_listens_on_fails_and_leaves_nothing() {
    let b = Bundle::new("sleep 1000");
    let id = unique_id("pidfdx");
    let sock = b.path().join("nobody.sock");
    let (code, _, err) =
        text(&b.hullrt(&["create", "--pidfd-socket", sock.to_str().unwrap(), &id]));
    assert_ne!(code, 0);
    assert!(err.contains("pidfd socket"), "{err}");
    assert!(b.no_state_left(&id));
    assert!(hull_e2e::cgroup_dirs_named(&id).is_empty());
}

/// runc's global `--rootless`: with it, a container that asks for no limits runs even where
/// its cgroup cannot be made (here: a mount namespace whose /sys/fs/cgroup is an empty tmpfs);
/// without it the same create fails and leaves nothing. Bad values are refused.
#[test]
fn rootless_flag_tolerates_a_missing_cgroup_tree() {
    let b = Bundle::new("echo ran; cat /proc/self/cgroup >/dev/null");
    b.save();
    let run = |mode: &str, id: &str| {
        let line = format!(
            "mount -t tmpfs none /sys/fs/cgroup && exec {} --root {} run --rootless {mode} {id}",
            hullrt_path().display(),
            b.root.display()
        );
        let o = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &line])
            .current_dir(b.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        text(&o)
    };
    let id = unique_id("rl-on");
    let (code, out, err) = run("true", &id);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("ran"), "{out}");
    let id = unique_id("rl-off");
    let (code, _, err) = run("false", &id);
    assert_ne!(code, 0);
    assert!(err.contains("cgroup"), "{err}");
    assert!(b.no_state_left(&id));
    let (code, _, err) = text(&b.hullrt(&["--rootless", "maybe", "state", "x"]));
    assert_eq!(code, 2);
    assert!(err.contains("--rootless"), "{err}");
}
