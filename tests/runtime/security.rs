//! Privileges and hardening, seen from inside the container: seccomp (profiles, notify, the
//! filter cache), user namespaces, rootless, LSM and scheduling attributes. (Attacks that must
//! fail with the host untouched: tests/runtime/security_attacks.rs.)

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hull_e2e::{cgroup_dirs_named, hullrt_path, unique_id, Bundle};
use serde_json::{json, Value};

#[test]
fn seccomp_errno_kill_and_argument_conditions() {
    let mut b = Bundle::new(
        "grep -E '^Seccomp:' /proc/self/status; mkdir /tmp/x 2>&1; \
         kill -0 $$ && echo kill0-ok; kill -USR1 $$ 2>&1 || echo usr1-denied",
    );
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
        ]
    });
    let out = b.run_ok(&unique_id("sc-errno"));
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(
        out.contains("Permission denied"),
        "mkdir not denied with EACCES: {out}"
    );
    assert!(out.contains("kill0-ok"), "{out}");
    assert!(out.contains("usr1-denied"), "{out}");

    // Without no_new_privs (loaded before the capability drop), as a non-root user.
    b.config["process"]["noNewPrivileges"] = json!(false);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let out = b.run_ok(&unique_id("sc-nnp0"));
    assert!(
        out.contains("Seccomp:\t2") && out.contains("Permission denied"),
        "{out}"
    );

    let mut b = Bundle::new("echo before; exec mkdir /tmp/y");
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]
    });
    let (code, out, _) = b.run(&unique_id("sc-kill"));
    assert_eq!(code, 128 + 31, "SIGSYS expected: {out}");
    assert_eq!(out, "before\n");
}

#[test]
fn seccomp_bad_action_names_the_field() {
    let mut b = Bundle::new("true");
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"},
                     {"names": ["kill"], "action": "SCMP_ACT_BOGUS"}]
    });
    let id = unique_id("sc-bad");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("linux.seccomp.syscalls[1].action"), "{err}");
    assert!(b.no_state_left(&id));
}

#[test]
fn docker_default_profile_behaves_as_under_docker() {
    let docker_caps: Vec<String> = [
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
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let profile = hull_seccomp::default_profile(&docker_caps).expect("default profile");
    let mut b = Bundle::new(
        "grep -E '^Seccomp:' /proc/self/status; unshare -n true 2>&1 || echo unshare-denied; \
         mkdir -p /tmp/m && mount -t tmpfs none /tmp/m 2>&1 || echo mount-denied; echo alive",
    );
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["seccomp"] = serde_json::to_value(&profile).unwrap();
    b.config["process"]["capabilities"] = json!({
        "bounding": docker_caps, "effective": docker_caps, "permitted": docker_caps,
    });
    let out = b.run_ok(&unique_id("sc-docker"));
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("unshare-denied"), "{out}");
    assert!(out.contains("mount-denied"), "{out}");
    assert!(out.ends_with("alive\n"), "{out}");
}

/// The listener's message: the first packet carries the fd, the rest of the JSON may follow.
fn recv_fd(conn: &std::os::unix::net::UnixStream) -> (Vec<u8>, OwnedFd) {
    let (mut data, fd) = hull_e2e::recv_with_fd(conn);
    let mut c = conn;
    let _ = c.read_to_end(&mut data);
    (data, fd)
}

#[test]
fn seccomp_notify_hands_the_fd_to_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut b = Bundle::new("mkdir /tmp/n 2>&1; echo done");
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "hello-agent",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let id = unique_id("sc-notify");
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let (msg, fd) = recv_fd(&conn);
        let req = libseccomp::ScmpNotifReq::receive(fd.as_raw_fd()).expect("notification");
        // Answer: the syscall fails with EROFS.
        libseccomp::ScmpNotifResp::new_error(
            req.id,
            -libc::EROFS,
            libseccomp::ScmpNotifRespFlags::empty(),
        )
        .respond(fd.as_raw_fd())
        .expect("respond");
        msg
    });
    let out = b.run_ok(&id);
    let msg: Value = serde_json::from_slice(&agent.join().unwrap()).unwrap();
    assert_eq!(msg["fds"], json!(["seccompFd"]));
    assert_eq!(msg["metadata"], "hello-agent");
    assert_eq!(msg["state"]["id"], id.as_str());
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.ends_with("done\n"), "{out}");
}

#[test]
fn user_namespace_maps_and_file_ownership() {
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        shared.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let mut b = Bundle::new(
        "id -u; cat /proc/self/uid_map /proc/self/gid_map; touch /shared/made-by-root; \
         readlink /proc/self/ns/user; hostname renamed && hostname; \
         ip link set lo up && echo net-owned",
    );
    b.namespaces(&["mount", "uts", "ipc", "pid", "network", "cgroup", "user"]);
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.mount(json!({"destination": "/shared", "type": "bind", "source": shared.path(), "options": ["rbind"]}));
    // Powerful capabilities, but only over namespaces the container's user namespace owns.
    let caps = json!(["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]);
    b.config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    let status = Command::new("chown")
        .args(["-R", "200000:200000"])
        .arg(b.rootfs())
        .status()
        .unwrap();
    assert!(status.success());
    let out = b.run_ok(&unique_id("userns"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    let fields: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(fields, ["0", "200000", "65536"], "{out}");
    let fields: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(fields, ["0", "200000", "65536"], "{out}");
    assert_ne!(lines[3], hull_e2e::ns_of("self", "user"));
    // The container's root owns its other namespaces: it may rename its host and configure
    // its network, which needs capabilities in the namespace's owning user namespace.
    assert_eq!(lines[4], "renamed", "{out}");
    assert_eq!(lines[5], "net-owned", "{out}");
    let meta = std::fs::metadata(shared.path().join("made-by-root")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (200000, 200000));
}

/// A bundle and state dir owned by nobody (65534), for running hullrt as nobody.
struct NobodyBundle {
    dir: tempfile::TempDir,
}

impl NobodyBundle {
    fn new(applets: &[&str]) -> NobodyBundle {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "rootfs/bin",
            "rootfs/proc",
            "rootfs/dev",
            "rootfs/sys",
            "rootfs/tmp",
            "state",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy(hull_e2e::busybox(), root.join("rootfs/bin/busybox")).unwrap();
        for a in applets {
            std::os::unix::fs::symlink("busybox", root.join("rootfs/bin").join(a)).unwrap();
        }
        Command::new("chmod").arg("755").arg(root).status().unwrap();
        let chown = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(root)
            .status();
        assert!(chown.unwrap().success());
        NobodyBundle { dir }
    }

    fn root(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// `hullrt --root STATE ARGS...` as nobody, without XDG_RUNTIME_DIR.
    fn hullrt(&self, args: &[&str]) -> std::process::Output {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(hullrt_path())
            .arg("--root")
            .arg(self.root().join("state"))
            .args(args)
            .current_dir(self.root())
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .unwrap()
    }
}

#[test]
fn rootless_as_an_unprivileged_user() {
    let nb = NobodyBundle::new(&["sh", "id", "cat", "grep"]);
    let root = nb.root();
    let as_nobody = |args: &[&str]| nb.hullrt(args);
    let out = as_nobody(&["spec", "--rootless"]);
    assert!(out.status.success(), "{out:?}");
    let cfg_path = root.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    assert_eq!(
        cfg["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": 65534, "size": 1}])
    );
    cfg["process"]["terminal"] = json!(false);
    cfg["process"]["args"] = json!([
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status"
    ]);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let id = unique_id("rootless");
    let out = as_nobody(&["run", &id]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "0", "{stdout}");
    let fields: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(fields, ["0", "65534", "1"], "{stdout}");
    assert!(!root.join("state").join(&id).exists());
}

#[test]
fn rootless_with_subordinate_ids_uses_newuidmap() {
    // nobody gets a range in /etc/subuid and /etc/subgid (CI machines are fresh).
    for f in ["/etc/subuid", "/etc/subgid"] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if !text.lines().any(|l| l.starts_with("nobody:")) {
            std::fs::write(f, format!("{text}nobody:300000:65536\n")).unwrap();
        }
    }
    let nb = NobodyBundle::new(&["sh", "cat"]);
    let root = nb.root();
    let nobody = |args: &[&str]| nb.hullrt(args);
    assert!(nobody(&["spec", "--rootless"]).status.success());
    let cfg_path = root.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    let maps = json!([{"containerID": 0, "hostID": 65534, "size": 1},
                      {"containerID": 1, "hostID": 300000, "size": 65536}]);
    cfg["linux"]["uidMappings"] = maps.clone();
    cfg["linux"]["gidMappings"] = maps;
    cfg["process"]["terminal"] = json!(false);
    cfg["process"]["args"] = json!(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map"]);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let out = nobody(&["run", &unique_id("newuidmap")]);
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[1], ["1", "300000", "65536"]);
    assert_eq!(rows[3], ["1", "300000", "65536"]);
    // A range nobody was not given is refused by newuidmap, with the field named.
    cfg["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 65534, "size": 1},
                                         {"containerID": 1, "hostID": 500000, "size": 10}]);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let id = unique_id("newuidmap-bad");
    let out = nobody(&["run", &id]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("linux.uidMappings"),
        "{out:?}"
    );
    assert!(!root.join("state").join(&id).exists());
}

#[test]
fn lsm_profiles_without_the_lsm_are_an_error() {
    if std::fs::read_to_string("/sys/kernel/security/lsm").is_ok_and(|l| l.contains("apparmor")) {
        eprintln!("AppArmor is active on this host: the missing-LSM error cannot be seen here");
        return;
    }
    let mut b = Bundle::new("true");
    b.config["process"]["apparmorProfile"] = json!("docker-default");
    let id = unique_id("apparmor");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(
        err.contains("process.apparmorProfile") && err.contains("not enabled"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    let mut b = Bundle::new("true");
    b.config["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("process.selinuxLabel"), "{err}");
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn scheduler_and_io_priority() {
    // /proc/self/stat: field 19 is nice, field 41 the policy (3 = SCHED_BATCH).
    let mut b = Bundle::new("cut -d' ' -f19,41 /proc/self/stat; ionice -p $$");
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    b.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    let out = b.run_ok(&unique_id("sched"));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("7 3"), "{out}");
    assert!(lines.next().unwrap_or("").contains("idle"), "{out}");
}

/// Compiled filters are cached by profile (`HULLRT_SECCOMP_CACHE` here, root's
/// /var/cache/hullrt/seccomp by default). The test shows the cache is what gets loaded, by
/// swapping an entry for another profile's, and that a directory others can write is ignored.
#[test]
fn seccomp_filters_come_from_a_cache_of_our_own() {
    let profile = |errno: u32| {
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": errno}]
        })
    };
    let run = |b: &Bundle, cache: &Path| {
        b.save();
        let o = Command::new(hullrt_path())
            .env("HULLRT_SECCOMP_CACHE", cache)
            .arg("--root")
            .arg(&b.root)
            .args(["run", &unique_id("sc-cache")])
            .current_dir(b.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let entries = |d: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Bundle::new("mkdir /tmp/x 2>&1; true");
    a.config["root"]["readonly"] = json!(false);
    a.config["linux"]["seccomp"] = profile(13);
    let mut b = Bundle::new("mkdir /tmp/x 2>&1; true");
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["seccomp"] = profile(1);

    assert!(run(&a, &a_dir).contains("Permission denied"));
    assert!(run(&a, &a_dir).contains("Permission denied"));
    assert_eq!(entries(&a_dir).len(), 1, "one profile, one entry");
    assert!(run(&b, &b_dir).contains("Operation not permitted"));
    // A's entry replaced by B's program: A's container now gets B's errno.
    std::fs::copy(&entries(&b_dir)[0], &entries(&a_dir)[0]).unwrap();
    assert!(run(&a, &a_dir).contains("Operation not permitted"));
    // Others may write the directory: it is not trusted, the profile is compiled again.
    std::fs::set_permissions(&a_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(run(&a, &a_dir).contains("Permission denied"));
}
