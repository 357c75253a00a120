//! Attacks on hullrt that must fail with the host untouched: mount destinations and symlink
//! chains leading out of the rootfs, a /dev/null replaced by a symlink, the runtime binary
//! written or executed through /proc/self/exe, the caller's fds and a cwd outside the root.
//! (Escapes attempted through hull: tests/engine/attacks.rs.)

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use hull_e2e::{hullrt_path, unique_id, wait_for, Bundle};
use serde_json::{json, Value};

#[test]
fn attack_mount_destination_symlinked_to_host_etc() {
    let mut b = Bundle::new("grep ' /data \\| /etc ' /proc/self/mounts | cut -d' ' -f2,3; ls /etc");
    std::fs::remove_dir_all(b.rootfs().join("etc")).ok();
    std::fs::create_dir(b.rootfs().join("etc")).unwrap();
    // The image makes /data an absolute symlink to /etc, hoping the runtime follows it on the host.
    std::os::unix::fs::symlink("/etc", b.rootfs().join("data")).unwrap();
    b.mount(
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}),
    );
    let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let out = b.run_ok(&unique_id("atk-etc"));
    // The tmpfs landed on the rootfs's own /etc, inside the container.
    assert!(out.contains("/etc tmpfs"), "{out}");
    let after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(
        before.lines().filter(|l| l.contains(" /etc ")).count(),
        after.lines().filter(|l| l.contains(" /etc ")).count()
    );
    assert!(
        std::path::Path::new("/etc/passwd").exists(),
        "host /etc was covered"
    );
}

#[test]
fn attack_symlink_chain_out_of_the_rootfs() {
    let outside = tempfile::tempdir().unwrap();
    // Followed on the host, the chain would reach this existing directory.
    std::fs::create_dir(outside.path().join("bound")).unwrap();
    let mut b = Bundle::new("ls -d /escape/bound && echo inside");
    let depth = b.rootfs().components().count() + 2;
    let up = "../".repeat(depth);
    let target = format!(
        "{up}{}",
        outside.path().display().to_string().trim_start_matches('/')
    );
    // A chain: /escape -> /hop, /hop -> ../../../../<outside dir> (relative, many levels up).
    std::os::unix::fs::symlink("/hop", b.rootfs().join("escape")).unwrap();
    std::os::unix::fs::symlink(&target, b.rootfs().join("hop")).unwrap();
    let src = tempfile::tempdir().unwrap();
    b.mount(json!({"destination": "/escape/bound", "type": "bind", "source": src.path(), "options": ["rbind"]}));
    b.config["root"]["readonly"] = json!(false);
    let id = unique_id("atk-chain");
    // Resolved inside the rootfs the chain dangles: the container fails safely (or, were the
    // target created inside, runs); either way nothing outside is touched.
    let (code, out, err) = b.run(&id);
    assert!(code != 0 || out.contains("inside"), "{out}{err}");
    assert!(b.no_state_left(&id) || code == 0);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_dir(outside.path().join("bound"))
            .unwrap()
            .count(),
        0
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&outside.path().display().to_string()));
}

#[test]
fn attack_dev_null_replaced_by_a_symlink_to_a_host_file() {
    // No /dev mount: the image's own /dev is used, and its "null" points at a host file.
    let mut b = Bundle::new("cat /proc/keys");
    let mounts: Vec<Value> = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["destination"].as_str().unwrap().starts_with("/dev"))
        .cloned()
        .collect();
    b.config["mounts"] = Value::Array(mounts);
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "host secret\n").unwrap();
    std::os::unix::fs::symlink(secret.path(), b.rootfs().join("dev/null")).unwrap();
    let id = unique_id("atk-null");
    let (code, out, err) = b.run(&id);
    assert_ne!(code, 0, "masking used a fake /dev/null: {out}");
    assert!(!out.contains("host secret"));
    assert!(err.contains("/dev/null"), "{err}");
    assert!(b.no_state_left(&id));
}

#[test]
fn attack_write_runtime_binary_through_proc_exe() {
    let exe = hullrt_path();
    let before = std::fs::read(&exe).unwrap();
    // Container A is created: its init is the runtime, waiting for start.
    let a = Bundle::new("sleep 5");
    let ida = unique_id("atk-exe-a");
    assert!(a.hullrt(&["create", &ida]).status.success());
    let pid = a.state(&ida)["pid"].as_i64().unwrap();
    // Container B joins A's pid namespace, so B's own init could be seen by A's processes:
    // B's runtime re-execs from a sealed view of its binary before it makes anything.
    let mut b = Bundle::new(
        "(echo pwned > /proc/1/exe) 2>/dev/null && echo WROTE > /tmp/result || echo refused > /tmp/result",
    );
    b.config["hostname"] = json!(null);
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["namespaces"] = json!([
        {"type": "mount"}, {"type": "pid", "path": format!("/proc/{pid}/ns/pid")}
    ]);
    b.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_DAC_OVERRIDE"], "effective": ["CAP_DAC_OVERRIDE"], "permitted": ["CAP_DAC_OVERRIDE"]
    });
    let idb = unique_id("atk-exe-b");
    assert!(b.hullrt(&["create", &idb]).status.success());
    let bpid = b.state(&idb)["pid"].as_i64().unwrap();
    assert_sealed(&format!("/proc/{bpid}/exe"));
    // From inside B, A's waiting init (pid 1 there) is the runtime: it must not be writable.
    assert!(b.hullrt(&["start", &idb]).status.success());
    wait_for(30, || b.state(&idb)["status"] == "stopped");
    let result = std::fs::read_to_string(b.rootfs().join("tmp/result")).unwrap_or_default();
    assert_eq!(result, "refused\n");
    assert!(b.hullrt(&["delete", &idb]).status.success());
    assert!(a.hullrt(&["delete", "--force", &ida]).status.success());
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        before,
        "runtime binary changed"
    );
}

/// `exe` (a /proc/PID/exe) is a sealed view of the runtime: a sealed memfd copy, or the binary
/// through a read-only mount, through which nothing can open it for writing (EROFS; checked as
/// the mount's flag: while any process runs the binary, the open fails with ETXTBSY first).
fn assert_sealed(exe: &str) {
    let link = std::fs::read_link(exe).unwrap();
    let ro = nix::sys::statvfs::statvfs(exe)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
    assert!(
        ro || link.display().to_string().starts_with("/memfd:hullrt"),
        "{exe} -> {link:?}: neither read-only nor a sealed copy"
    );
}

/// CVE-2019-5736 through `exec`: the exec'd program is a script whose interpreter is
/// /proc/self/exe, which the kernel resolves while the exec process is still the runtime, so
/// the container runs the runtime itself (here its `update --resources -`, which waits on
/// stdin). What it runs must be a view of the binary that nobody can write.
#[test]
fn attack_exec_interpreter_is_proc_self_exe() {
    let exe = hullrt_path();
    let before = std::fs::read(&exe).unwrap();
    let b = Bundle::new("sleep 60");
    // The runtime's libraries, so that it can run inside the container.
    let ldd = Command::new("ldd").arg(&exe).output().unwrap();
    for lib in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
    {
        let dest = b.rootfs().join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(lib, dest).unwrap();
    }
    std::fs::write(b.rootfs().join("bin/evil"), "#!/proc/self/exe --log\n").unwrap();
    std::fs::set_permissions(
        b.rootfs().join("bin/evil"),
        PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let id = unique_id("atk-exec-exe");
    assert!(b.hullrt(&["create", &id]).status.success());
    assert!(b.hullrt(&["start", &id]).status.success());
    let pid_file = b.path().join("exec.pid");
    let mut child = Command::new(&exe)
        .arg("--root")
        .arg(&b.root)
        .args(["exec", "--pid-file"])
        .arg(&pid_file)
        .args([&id, "/bin/evil", "update", "--resources", "-", "x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(30, || pid_file.exists()), "exec did not start");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("update"),
        "the interpreter did not run: {cmdline:?}"
    );
    assert_sealed(&format!("/proc/{pid}/exe"));
    drop(child.stdin.take());
    let _ = child.wait();
    assert!(b.hullrt(&["delete", "--force", &id]).status.success());
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        before,
        "runtime binary changed"
    );
}

#[test]
fn attack_entrypoint_is_proc_self_exe() {
    let exe = hullrt_path();
    let before = std::fs::read(&exe).unwrap();
    // The image's program is /proc/self/exe: without the sealed trampoline, init would exec
    // the runtime's own binary inside the container (CVE-2019-5736).
    let mut b = Bundle::new("true");
    b.config["process"]["args"] = json!(["/proc/self/exe", "--version"]);
    let (code, out, err) = b.run(&unique_id("atk-selfexe"));
    assert!(
        !out.contains("hullrt") && !err.contains("hullrt "),
        "{out}{err}"
    );
    assert_ne!(code, 0);
    // The same through a script whose interpreter is /proc/self/exe.
    let mut b = Bundle::new("true");
    std::fs::write(b.rootfs().join("bin/evil"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(
        b.rootfs().join("bin/evil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    b.config["process"]["args"] = json!(["/bin/evil"]);
    let (code, out, _) = b.run(&unique_id("atk-shebang"));
    assert_eq!(code, 127, "{out}");
    // And a process that looks at its own exe sees the sealed trampoline, not the runtime.
    let b = Bundle::new("exec /proc/self/exe");
    let (code, _, _) = b.run(&unique_id("atk-exec-self"));
    assert_eq!(code, 127);
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        before,
        "runtime binary changed"
    );
}

#[test]
fn no_fd_of_the_caller_leaks_into_the_container() {
    use std::os::unix::process::CommandExt;
    let b = Bundle::new("ls /proc/self/fd");
    b.save();
    let dir = std::fs::File::open("/etc").unwrap();
    let raw = dir.as_raw_fd();
    let mut cmd = Command::new(hullrt_path());
    cmd.arg("--root")
        .arg(&b.root)
        .args(["run", &unique_id("fdleak")])
        .current_dir(b.path());
    // SAFETY: only dup2 (async-signal-safe) runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    // 0-2 and the fd ls opens for the directory itself.
    assert!(!fds.contains(&"7".to_string()), "fd 7 leaked: {fds:?}");
    assert!(fds.len() <= 4, "{fds:?}");
}

#[test]
fn cwd_cannot_leave_the_root() {
    let mut b = Bundle::new("pwd; ls / | grep -c busybox; ls /bin/busybox");
    b.config["process"]["cwd"] = json!("/../../../..");
    let out = b.run_ok(&unique_id("cwd"));
    assert!(out.starts_with("/\n"), "{out}");
    std::thread::sleep(Duration::from_millis(1));
}
