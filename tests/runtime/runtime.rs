//! hullrt's foundation, seen from inside the container: namespaces, rootfs and mounts,
//! process settings, the lifecycle and its state, hooks, and bad input leaving nothing behind.

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
fn user_process_settings() {
    let mut b = Bundle::new(
        "id -u; id -g; id -G; pwd; echo $FOO; ulimit -n; umask; cat /proc/self/oom_score_adj",
    );
    b.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [1002, 1003], "umask": 23});
    b.config["process"]["cwd"] = json!("/work/dir");
    b.config["process"]["env"] = json!(["PATH=/bin", "FOO=bar baz"]);
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 200, "soft": 123}]);
    b.config["process"]["oomScoreAdj"] = json!(345);
    b.config["root"]["readonly"] = json!(false);
    let out = b.run_ok(&unique_id("user"));
    assert_eq!(
        out,
        "1000\n1001\n1001 1002 1003\n/work/dir\nbar baz\n123\n0027\n345\n"
    );
}

#[test]
fn exit_codes_follow_the_process() {
    let b = Bundle::new("exit 7");
    assert_eq!(b.run(&unique_id("exit")).0, 7);
    // Not pid 1 (which ignores signals it has no handler for), so SIGKILL ends it.
    let mut b = Bundle::new("kill -9 $$");
    b.namespaces(&["mount", "uts", "ipc"]);
    assert_eq!(b.run(&unique_id("sig")).0, 137);
}

#[test]
fn missing_program_fails_create_cleanly() {
    let mut b = Bundle::new("true");
    b.config["process"]["args"] = json!(["/no/such/program"]);
    let id = unique_id("noprog");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(
        err.contains("process.args[0]") && err.contains("/no/such/program"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

#[test]
fn invalid_config_names_the_field_and_leaves_nothing() {
    let mut b = Bundle::new("true");
    b.config["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "pid"}, {"type": "foo"}]);
    let id = unique_id("badns");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(
        err.contains("linux.namespaces[2].type") && err.contains("foo"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(b.no_state_left(&id));

    let mut b = Bundle::new("true");
    b.mount(
        json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["bogus!opt"]}),
    );
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    // As with runc, a word no one knows goes to the filesystem, which refuses it.
    assert!(
        err.contains("mounts[") && err.contains("bogus!opt"),
        "{err}"
    );
    assert!(b.no_state_left(&id));

    let mut b = Bundle::new("true");
    b.config["process"]["cwd"] = json!("relative");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("process.cwd"), "{err}");

    let mut b = Bundle::new("true");
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]);
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("process.rlimits[0].type"), "{err}");
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
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
fn lifecycle_state_through_create_start_exit_delete() {
    let b = Bundle::new("read x < /dev/null; sleep 2; exit 3");
    let id = unique_id("life");
    let pidfile = b.path().join("pid");
    let out = b.hullrt(&["create", "--pid-file", pidfile.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{out:?}");
    let st = b.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["bundle"], b.path().display().to_string());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), pid.to_string());
    // The created process has not exec'd the program yet.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "hull:[init]");
    let list = b.hullrt(&["list", "--format", "json"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&id));
    assert!(b.hullrt(&["start", &id]).status.success());
    assert_eq!(b.state(&id)["status"], "running");
    assert!(!b.hullrt(&["start", &id]).status.success(), "started twice");
    let out = b.hullrt(&["delete", &id]);
    assert!(!out.status.success(), "deleted a running container");
    assert!(String::from_utf8_lossy(&out.stderr).contains("running"));
    wait_for(30, || b.state(&id)["status"] == "stopped");
    assert_eq!(b.state(&id)["status"], "stopped");
    assert_eq!(
        b.state(&id)["pid"],
        0,
        "runc's state says pid 0 once stopped"
    );
    assert!(b.hullrt(&["delete", &id]).status.success());
    assert!(!b.hullrt(&["state", &id]).status.success());
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn killed_by_someone_else_reads_stopped_and_kill_takes_names_and_numbers() {
    let mut b = Bundle::new(
        "trap 'echo got-usr1 > /tmp/usr1' USR1; touch /tmp/ready; while true; do sleep 0.05; done",
    );
    b.config["root"]["readonly"] = json!(false);
    let id = unique_id("kill");
    assert!(b.hullrt(&["run", "--detach", &id]).status.success());
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    let ready = format!("/proc/{pid}/root/tmp/ready");
    assert!(wait_for(30, || std::path::Path::new(&ready).exists()));
    assert!(b.hullrt(&["kill", &id, "USR1"]).status.success());
    // The shell creates the file before echo writes to it: wait for the line.
    let marker = format!("/proc/{pid}/root/tmp/usr1");
    let got = || std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(wait_for(30, || got() == "got-usr1\n"), "{:?}", got());
    assert!(!b.hullrt(&["kill", &id, "SIGNOPE"]).status.success());
    // Someone else kills it.
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    wait_for(30, || b.state(&id)["status"] == "stopped");
    assert_eq!(b.state(&id)["status"], "stopped");
    assert!(
        !b.hullrt(&["kill", &id, "9"]).status.success(),
        "kill of a stopped container"
    );
    assert!(b.hullrt(&["delete", &id]).status.success());
}

#[test]
fn delete_force_kills_a_running_container() {
    let b = Bundle::new("sleep 60");
    let id = unique_id("force");
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    assert!(b.hullrt(&["kill", &id, "15"]).status.success());
    assert!(b.hullrt(&["delete", "--force", &id]).status.success());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/root")).exists() || {
            let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            s.contains(") Z ")
        }
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    let mut b = Bundle::new("echo program >> /hooklog");
    let log = b.path().join("hooklog");
    std::fs::write(&log, "").unwrap();
    b.config["root"]["readonly"] = json!(false);
    b.mount(json!({"destination": "/hooklog", "type": "bind", "source": log, "options": ["bind"]}));
    // Runtime-namespace hooks run host programs; container-namespace hooks
    // (createContainer runs before pivot_root, startContainer after) see their own mounts.
    let host_hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $(echo $s | grep -o '\"status\":\"[a-z]*\"')\" >> {}", log.display())]});
    let in_hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} >> /hooklog")]});
    b.config["hooks"] = json!({
        "createRuntime": [host_hook("createRuntime")],
        "createContainer": [host_hook("createContainer")],
        "startContainer": [in_hook("startContainer")],
        "poststart": [host_hook("poststart")],
        "poststop": [host_hook("poststop")],
    });
    b.run_ok(&unique_id("hooks"));
    let got = std::fs::read_to_string(&log).unwrap();
    let names: Vec<&str> = got.lines().map(|l| l.split(' ').next().unwrap()).collect();
    // poststart runs after start returns and may race the program's own line.
    let mut expect = vec!["createRuntime", "createContainer", "startContainer"];
    let rest: Vec<&str> = names[3..].to_vec();
    assert_eq!(names[..3], expect[..], "{got}");
    assert!(
        rest.contains(&"program") && rest.contains(&"poststart"),
        "{got}"
    );
    assert_eq!(*rest.last().unwrap(), "poststop", "{got}");
    expect.clear();
    assert!(
        got.contains("createRuntime \"status\":\"creating\""),
        "{got}"
    );
    assert!(got.contains("poststop \"status\":\"stopped\""), "{got}");
}

#[test]
fn hook_timeout_and_failure_abort_create_cleanly() {
    let mut b = Bundle::new("true");
    b.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]});
    let id = unique_id("hooktimeout");
    let t = std::time::Instant::now();
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(t.elapsed() < Duration::from_secs(4), "timeout not honoured");
    assert!(
        err.contains("createRuntime[0]") && err.contains("timed out"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());

    let mut b = Bundle::new("true");
    b.config["hooks"] = json!({"createContainer": [{"path": "/bin/false"}]});
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("createContainer[0]"), "{err}");
    assert!(b.no_state_left(&id));
}

#[test]
fn list_shows_containers() {
    let b = Bundle::new("sleep 30");
    let id = unique_id("list");
    assert!(b.hullrt(&["create", &id]).status.success());
    let out = b.hullrt(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&id) && l.contains("created")),
        "{text}"
    );
    let q = b.hullrt(&["list", "-q"]);
    assert_eq!(String::from_utf8_lossy(&q.stdout).trim(), id);
    assert!(b.hullrt(&["delete", &id]).status.success());
    assert!(b.no_state_left(&id));
}

#[test]
fn capabilities_and_no_new_privs_as_specified() {
    let mut b =
        Bundle::new("grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status");
    b.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    b.config["process"]["noNewPrivileges"] = json!(true);
    let out = b.run_ok(&unique_id("caps"));
    // As root, exec keeps the bounding set's caps permitted and effective (the program counts
    // as having full file capabilities); CHOWN=0, KILL=5, NET_BIND_SERVICE=10.
    assert!(out.contains("CapInh:\t0000000000000420"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000421"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000400"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000421"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    // As uid 1000 a program without file caps keeps only the ambient set.
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let out = b.run_ok(&unique_id("caps"));
    assert!(out.contains("CapInh:\t0000000000000420"), "{out}");
    assert!(out.contains("CapPrm:\t0000000000000400"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000400"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000421"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000400"), "{out}");
    // Without no_new_privs the flag reads 0.
    b.config["process"]["noNewPrivileges"] = json!(false);
    let out = b.run_ok(&unique_id("caps"));
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");

    let mut b = Bundle::new("true");
    b.config["process"]["capabilities"] = json!({"bounding": ["CAP_NOT_REAL"]});
    let (code, _, err) = b.run(&unique_id("badcap"));
    assert_eq!(code, 1);
    assert!(err.contains("process.capabilities.bounding"), "{err}");
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

#[test]
fn a_session_keyring_of_its_own_unless_told_otherwise() {
    let mut b = Bundle::new("grep -o '_ses\\.[^:]*' /proc/keys || echo none");
    let masked: Vec<serde_json::Value> = b.config["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| *p != "/proc/keys")
        .cloned()
        .collect();
    b.config["linux"]["maskedPaths"] = serde_json::Value::Array(masked);
    let id = unique_id("keyring");
    let out = b.run_ok(&id);
    assert!(out.lines().any(|l| l == format!("_ses.{id}")), "{out}");
    // /proc/keys lists every key this user may view, so look for this run's own name.
    let id2 = format!("{id}-shared");
    let out = b.hullrt(&["run", "--no-new-keyring", &id2]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(!text.contains(&format!("_ses.{id2}")), "{text}");
}
