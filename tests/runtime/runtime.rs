//! hullrt's foundation, seen from inside the container: namespaces, rootfs and mounts,
//! devices, masked and read-only paths, sysctls and time offsets. (The process, the lifecycle
//! and its state, hooks: tests/runtime/runtime_lifecycle.rs.)

use std::process::Command;
use std::time::Duration;

use hull_e2e::{cgroup_dirs_named, ns_of, unique_id, wait_for, Bundle};
use serde_json::json;

#[test]
fn hostname_domainname_and_pid_1() {
    let mut b = Bundle::new("hostname; cat /proc/sys/kernel/domainname; echo pid=$$");
    b.config["hostname"] = json!("box-one");
    b.config["domainname"] = json!("example.test");
    let out = b.run_ok(&unique_id("uts"));
    assert_eq!(out, "box-one\nexample.test\npid=1\n");
}

#[test]
fn every_new_namespace_differs_from_the_host() {
    let mut b = Bundle::new(
        "for n in mnt uts ipc pid net cgroup time; do echo $n=$(readlink /proc/self/ns/$n); done",
    );
    b.namespaces(&["mount", "uts", "ipc", "pid", "network", "cgroup", "time"]);
    let out = b.run_ok(&unique_id("ns"));
    for ns in ["mnt", "uts", "ipc", "pid", "net", "cgroup", "time"] {
        let inside = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{ns}=")))
            .unwrap_or_else(|| panic!("no {ns} in {out}"));
        assert!(!inside.is_empty(), "{ns} empty: {out}");
        assert_ne!(inside, ns_of("self", ns), "{ns} is the host's");
    }
}

#[test]
fn joins_namespaces_by_path() {
    // A holder process in fresh net and uts namespaces, made by the test.
    let mut holder = Command::new("unshare")
        .args(["--net", "--uts", "sh", "-c", "hostname held; sleep 30"])
        .spawn()
        .unwrap();
    let pid = holder.id().to_string();
    let mut tries = 0;
    while ns_of(&pid, "net") == ns_of("self", "net") && tries < 200 {
        std::thread::sleep(Duration::from_millis(5));
        tries += 1;
    }
    std::thread::sleep(Duration::from_millis(50));
    let mut b = Bundle::new("readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname");
    b.config["hostname"] = json!(null);
    b.config["linux"]["namespaces"] = json!([
        {"type": "mount"}, {"type": "pid"},
        {"type": "network", "path": format!("/proc/{pid}/ns/net")},
        {"type": "uts", "path": format!("/proc/{pid}/ns/uts")},
    ]);
    let out = b.run_ok(&unique_id("join"));
    let (want_net, want_uts) = (ns_of(&pid, "net"), ns_of(&pid, "uts"));
    let _ = holder.kill();
    let _ = holder.wait();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], want_net);
    assert_eq!(lines[1], want_uts);
    assert_ne!(want_net, ns_of("self", "net"));
    assert_eq!(lines[2], "held");
}

#[test]
fn a_failing_mount_leaves_nothing_behind() {
    let mut b = Bundle::new("true");
    b.mount(json!({"destination": "/data", "type": "bind", "source": "/no/such/dir", "options": ["rbind"]}));
    let id = unique_id("badmount");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(
        err.contains("mounts[") && err.contains("/no/such/dir"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    // A mount that fails inside init (after clone and cgroup setup).
    let mut b = Bundle::new("true");
    b.mount(json!({"destination": "/x", "type": "nosuchfs", "source": "none"}));
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/x"), "{err}");
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

#[test]
fn mounts_in_order_with_bind_ro_and_tmpfs() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("hello"), "from host\n").unwrap();
    let mut b = Bundle::new(
        "cat /data/hello; touch /data/new 2>/dev/null && echo writable || echo readonly; \
         grep ' /scratch ' /proc/self/mounts | cut -d' ' -f3; touch /scratch/f && echo tmpfs-ok; \
         touch /rootfile 2>/dev/null && echo root-rw || echo root-ro",
    );
    b.mount(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind", "ro"]}));
    b.mount(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=1777"]}));
    let out = b.run_ok(&unique_id("mounts"));
    assert_eq!(out, "from host\nreadonly\ntmpfs\ntmpfs-ok\nroot-ro\n");
    assert!(!host.path().join("new").exists());
    // Nothing the container mounted is visible on the host.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&b.rootfs().display().to_string()));
}

#[test]
fn mount_propagation_rslave_sees_host_mounts() {
    let host = tempfile::tempdir().unwrap();
    std::fs::create_dir(host.path().join("sub")).unwrap();
    // Make the host dir a shared mount point so that propagation has something to carry.
    let src = host.path().display().to_string();
    assert!(Command::new("mount")
        .args(["--bind", &src, &src])
        .status()
        .unwrap()
        .success());
    assert!(Command::new("mount")
        .args(["--make-shared", &src])
        .status()
        .unwrap()
        .success());
    let mut b = Bundle::new("i=0; while [ ! -e /data/sub/marker ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; cat /data/sub/marker > /result");
    b.config["root"]["readonly"] = json!(false);
    b.mount(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind", "rslave"]}));
    let id = unique_id("prop");
    let out = b.hullrt(&["run", "--detach", &id]);
    assert!(out.status.success(), "{out:?}");
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    // Mount a tmpfs on the host after the container started: rslave carries it in.
    let sub = format!("{src}/sub");
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs", &sub])
        .status()
        .unwrap()
        .success());
    std::fs::write(format!("{sub}/marker"), "propagated\n").unwrap();
    wait_for(30, || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    let _ = Command::new("umount").args(["-R", &src]).status();
    let st = b.state(&id);
    assert_eq!(st["status"], "stopped");
    // What the container read through its rslave bind: the file on the host's new tmpfs.
    let seen = std::fs::read_to_string(b.rootfs().join("result")).unwrap_or_default();
    assert_eq!(seen, "propagated\n");
    assert!(b.hullrt(&["delete", &id]).status.success());
    let _ = std::fs::remove_dir_all(host.path());
}

#[test]
fn devices_default_and_from_spec() {
    let mut b = Bundle::new(
        "for d in null zero full random urandom tty fuse; do stat -c '%n %F %t:%T %a' /dev/$d; done; \
         readlink /dev/fd; readlink /dev/ptmx; echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c",
    );
    b.config["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 0, "gid": 0}]);
    let out = b.run_ok(&unique_id("dev"));
    assert!(
        out.contains("/dev/null character special file 1:3 666"),
        "{out}"
    );
    assert!(
        out.contains("/dev/urandom character special file 1:9 666"),
        "{out}"
    );
    assert!(
        out.contains("/dev/tty character special file 5:0 666"),
        "{out}"
    );
    assert!(
        out.contains("/dev/fuse character special file a:e5 640"),
        "{out}"
    );
    assert!(out.contains("/proc/self/fd\npts/ptmx\n"), "{out}");
    assert!(out.contains("null-ok\n4\n"), "{out}");
}

#[test]
fn masked_readonly_paths_and_sysctl() {
    let mut b = Bundle::new(
        "wc -c < /proc/keys; ls /sys/firmware | wc -l; \
         echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-rw || echo sys-ro; \
         cat /proc/sys/net/ipv4/ip_forward",
    );
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    let out = b.run_ok(&unique_id("mask"));
    assert_eq!(out, "0\n0\nsys-ro\n1\n");
    // The host's /proc/keys is not empty: masking is what made it read empty.
    assert!(!std::fs::read_to_string("/proc/keys").unwrap().is_empty());
}

#[test]
fn time_namespace_offsets() {
    let mut b = Bundle::new("cut -d. -f1 /proc/uptime");
    b.namespaces(&["mount", "pid", "time"]);
    b.config["hostname"] = json!(null);
    b.config["linux"]["timeOffsets"] =
        json!({"boottime": {"secs": 86400 * 365, "nanosecs": 0}, "monotonic": {"secs": 3600}});
    let out = b.run_ok(&unique_id("time"));
    let inside: u64 = out.trim().parse().unwrap();
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        inside >= 86400 * 365 + host as u64 - 5,
        "uptime inside {inside}, host {host}"
    );
}

#[test]
fn no_pivot_runs_in_the_rootfs() {
    let b = Bundle::new("ls /bin/busybox; cat /proc/self/mountinfo | wc -l");
    let out = b.hullrt(&["run", "--no-pivot", &unique_id("nopivot")]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("/bin/busybox\n"));
}

#[test]
fn joins_every_joinable_namespace_by_path() {
    // A holder with its own mnt, uts, ipc, net, pid, cgroup and time namespaces.
    let mut holder = Command::new("unshare")
        .args([
            "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--cgroup", "--time",
        ])
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let parent = holder.id();
    let mut pid = String::new();
    for _ in 0..400 {
        let out = Command::new("pgrep")
            .args(["-P", &parent.to_string()])
            .output()
            .unwrap();
        pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !pid.is_empty() && ns_of(&pid, "pid") != ns_of("self", "pid") {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!pid.is_empty(), "holder did not start");
    let kinds = [
        ("mount", "mnt"),
        ("uts", "uts"),
        ("ipc", "ipc"),
        ("network", "net"),
        ("pid", "pid"),
        ("cgroup", "cgroup"),
        ("time", "time"),
    ];
    let mut b = Bundle::new(
        "for n in mnt uts ipc net pid cgroup time; do echo $n=$(readlink /proc/self/ns/$n); done; echo self=$$",
    );
    b.config["hostname"] = json!(null);
    b.config["linux"]["namespaces"] = serde_json::Value::Array(
        kinds
            .iter()
            .map(|(t, link)| json!({"type": t, "path": format!("/proc/{pid}/ns/{link}")}))
            .collect(),
    );
    let want: Vec<(String, String)> = kinds
        .iter()
        .map(|(_, l)| (l.to_string(), ns_of(&pid, l)))
        .collect();
    let out = b.run_ok(&unique_id("joinall"));
    let _ = holder.kill();
    let _ = holder.wait();
    for (link, expect) in want {
        assert_ne!(
            expect,
            ns_of("self", &link),
            "holder shares {link} with the host"
        );
        assert!(
            out.contains(&format!("{link}={expect}\n")),
            "{link}: want {expect} in {out}"
        );
    }
    // The holder's sleep is pid 1 of that namespace, so the joiner is not.
    assert!(!out.contains("self=1\n"), "{out}");
}

/// What each rootfsPropagation does is compared with runc in runc_parity.rs; a word runc
/// does not know is a config error naming the field.
#[test]
fn an_unknown_rootfs_propagation_is_refused() {
    let mut b = Bundle::new("true");
    b.config["linux"]["rootfsPropagation"] = json!("bogus");
    let (code, _, err) = b.run(&unique_id("rprop-bad"));
    assert_eq!(code, 1);
    assert!(err.contains("linux.rootfsPropagation"), "{err}");
}
