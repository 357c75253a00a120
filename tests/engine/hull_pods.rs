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
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    poll("pause to run", || {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("hullrt run ended early: {st}");
        }
        // Not b.hullrt: it rewrites config.json, which `run` may be reading.
        let out = Command::new(hullrt_path())
            .arg("--root")
            .arg(&b.root)
            .args(["state", &id])
            .output()
            .unwrap();
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

// ---------------------------------------------------------------------------------------
// `hull pod` end to end: what the containers of a pod see from inside.

use hull_e2e::hull::{ns_map, poll_exec, Hull};

fn inspect(t: &Hull, pod: &str) -> serde_json::Value {
    serde_json::from_str(&t.ok(&["pod", "inspect", pod])).unwrap()
}

fn exec(t: &Hull, c: &str, script: &str) -> String {
    t.ok(&["exec", c, "sh", "-c", script])
}

const NS: &str = "for n in uts ipc net mnt pid; do echo $n $(readlink /proc/self/ns/$n); done";

#[test]
fn two_containers_share_uts_ipc_net_but_not_mnt_or_pid() {
    let t = Hull::new();
    t.ok(&["pod", "create", "--name", "duo", "--network", "none"]);
    t.ok(&[
        "run",
        "-d",
        "--pod",
        "duo",
        "--name",
        "duo-a",
        "-v",
        "/usr/bin/ipcmk:/ipcmk:ro",
        "-v",
        "/usr/bin/ipcs:/ipcs:ro",
        "-v",
        "/lib:/lib:ro",
        "-v",
        "/lib64:/lib64:ro",
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo pong > /www/index.html && httpd -f -p 8080 -h /www",
    ]);
    // Debian's busybox has no ipcmk/ipcs: the host's util-linux ones, with its libraries.
    t.ok(&[
        "run",
        "-d",
        "--pod",
        "duo",
        "--name",
        "duo-b",
        "-v",
        "/usr/bin/ipcmk:/ipcmk:ro",
        "-v",
        "/usr/bin/ipcs:/ipcs:ro",
        "-v",
        "/lib:/lib:ro",
        "-v",
        "/lib64:/lib64:ro",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_eq!(exec(&t, "duo-a", "hostname"), "duo\n");
    assert_eq!(exec(&t, "duo-b", "hostname"), "duo\n");
    let a = ns_map(&exec(&t, "duo-a", NS));
    let b = ns_map(&exec(&t, "duo-b", NS));
    for n in ["uts", "ipc", "net"] {
        assert_eq!(a[n], b[n], "{n} is shared");
        assert_ne!(a[n], ns_of("self", n), "{n} is not the host's");
    }
    for n in ["mnt", "pid"] {
        assert_ne!(a[n], b[n], "{n} is the container's own");
    }
    // System V IPC: a queue made in one is listed in the other.
    let made = exec(&t, "duo-a", "/ipcmk -Q");
    let qid = made.split_whitespace().last().unwrap().to_string();
    let listed = exec(&t, "duo-b", "/ipcs -q");
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(qid.as_str())),
        "queue {qid} ({made}) not in:\n{listed}"
    );
    // POSIX shared memory: /dev/shm is the pod's, as in podman's and Kubernetes' pods.
    exec(&t, "duo-a", "echo shared > /dev/shm/x");
    assert_eq!(exec(&t, "duo-b", "cat /dev/shm/x"), "shared\n");
    // The loopback is shared: b reaches a's server on 127.0.0.1.
    poll_exec(&t, "duo-b", "wget -qO- http://127.0.0.1:8080/", "pong");
    let st = inspect(&t, "duo");
    assert_eq!(st["State"], "Running");
    assert_eq!(st["NumContainers"], 2);
}

#[test]
fn share_pid_gives_one_process_namespace_with_pause_as_pid_1() {
    let t = Hull::new();
    t.ok(&[
        "pod",
        "create",
        "--name",
        "pidpod",
        "--share",
        "+pid",
        "--network",
        "none",
    ]);
    t.ok(&[
        "run", "-d", "--pod", "pidpod", "--name", "pp-a", "busybox", "sleep", "4242",
    ]);
    let out = t.sh(&["--pod", "pidpod"], "cat /proc/1/comm; ps -o pid,args");
    assert!(out.starts_with("hull-pause\n"), "{out}");
    assert!(out.contains("sleep 4242"), "{out}");
    // Without +pid each container has its own pid namespace.
    t.ok(&["pod", "create", "--name", "nopid", "--network", "none"]);
    t.ok(&[
        "run", "-d", "--pod", "nopid", "--name", "np-a", "busybox", "sleep", "4343",
    ]);
    let out = t.sh(&["--pod", "nopid"], "ps -o pid,args");
    assert!(!out.contains("sleep 4343"), "{out}");
}

#[test]
fn pod_memory_limit_applies_to_every_container() {
    let t = Hull::new();
    t.ok(&[
        "pod",
        "create",
        "--name",
        "lim",
        "--network",
        "none",
        "--memory",
        "48m",
    ]);
    let read = "grep -E '^hierarchical_memory_limit' /sys/fs/cgroup/memory/memory.stat \
                || cat /sys/fs/cgroup/memory.max";
    t.ok(&[
        "run", "-d", "--pod", "lim", "--name", "lim-a", "busybox", "sleep", "600",
    ]);
    let a = exec(&t, "lim-a", read);
    let b = t.sh(&["--pod", "lim"], read);
    for out in [a, b] {
        assert!(out.contains(&(48u64 << 20).to_string()), "{out}");
    }
    let id = inspect(&t, "lim")["Id"].as_str().unwrap().to_string();
    assert!(!cgroup_dirs_named(&format!("pod-{id}")).is_empty());
}

#[test]
fn ports_are_published_at_the_pod_level_and_rm_leaves_nothing() {
    let t = Hull::new();
    let port = 20000 + (std::process::id() % 20000) as u16;
    let publish = format!("{port}:80");
    t.ok(&["pod", "create", "--name", "web", "-p", &publish]);
    let st = inspect(&t, "web");
    let id = st["Id"].as_str().unwrap().to_string();
    t.ok(&[
        "run",
        "-d",
        "--pod",
        "web",
        "--name",
        "web-srv",
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo served > /www/index.html && httpd -f -p 80 -h /www",
    ]);
    let end = Instant::now() + Duration::from_secs(60);
    let body = loop {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.contains("served") {
                break b;
            }
        }
        assert!(Instant::now() < end, "port {port} never answered");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(body.contains("200"), "{body}");
    let o = t.run(&["pod", "rm", "web"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("running containers"), "{}", o.stderr);
    t.ok(&["pod", "rm", "-f", "web"]);
    assert!(t.ok(&["pod", "ps", "-q"]).trim().is_empty());
    t.assert_empty();
    assert!(
        cgroup_dirs_named(&format!("pod-{id}")).is_empty(),
        "pod cgroup left"
    );
    assert!(
        !t.runroot().join("pods").join(&id).exists(),
        "infra bundle left"
    );
    assert!(!t.runroot().join("netns").join(&id).exists(), "netns left");
    assert!(
        !t.root().join("pods").join(&id).exists(),
        "pod volumes left"
    );
    let nft = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&nft.stdout).contains(&format!(". {port} :")),
        "nft rule for {port} left"
    );
    // A root of its own removes its default network with the last endpoint (bridge and
    // all); when it is still there, it has no endpoint and no veth.
    if !t
        .ok(&["network", "ls", "--format", "{{.Name}}"])
        .contains("bridge")
    {
        return;
    }
    let net: serde_json::Value =
        serde_json::from_str(&t.ok(&["network", "inspect", "bridge"])).unwrap();
    assert_eq!(net[0]["Containers"], json!({}), "endpoint left");
    let bridge = net[0]["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .unwrap();
    // The kernel deletes the veth with the unpinned namespace, in the background.
    let on_bridge = || {
        let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
        String::from_utf8_lossy(&links.stdout)
            .lines()
            .filter(|l| l.contains(&format!("master {bridge}")))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(
        wait_for(30, || on_bridge().is_empty()),
        "veth left on {bridge}: {:?}",
        on_bridge()
    );
}

#[test]
fn a_dead_infra_makes_the_pod_degraded_and_run_refuses() {
    let t = Hull::new();
    t.ok(&["pod", "create", "--name", "frail", "--network", "none"]);
    t.ok(&[
        "run", "-d", "--pod", "frail", "--name", "frail-a", "busybox", "sleep", "600",
    ]);
    let pid = inspect(&t, "frail")["InfraPid"].as_i64().unwrap();
    assert!(pid > 0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    poll("the pod to read degraded", || {
        inspect(&t, "frail")["State"] == "Degraded"
    });
    assert!(t.ok(&["pod", "ps"]).contains("Degraded"));
    let o = t.run(&["run", "--rm", "--pod", "frail", "busybox", "true"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("degraded"), "{}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    // Nothing of the refused container is left.
    assert_eq!(t.ok(&["ps", "-a", "-q"]).split_whitespace().count(), 1);
    t.ok(&["pod", "restart", "frail"]);
    assert_eq!(inspect(&t, "frail")["State"], "Running");
    assert_eq!(exec(&t, "frail-a", "hostname"), "frail\n");
}

#[test]
fn pod_verbs_and_bad_input() {
    let t = Hull::new();
    for (args, want) in [
        (
            &["pod", "create", "--share", "mnt"][..],
            "mount namespace is never shared",
        ),
        (
            &["pod", "create", "--share", "+foo"][..],
            "unknown namespace",
        ),
        (
            &["pod", "create", "--name", "bad name"][..],
            "invalid pod name",
        ),
        (&["pod", "create", "-p", "x:80"][..], "invalid -p"),
        (&["pod", "create", "--memory", "12Q"][..], "--memory"),
        (&["pod", "inspect", "nosuchpod"][..], "no such pod"),
        (
            &["run", "--rm", "--pod", "nosuchpod", "busybox", "true"][..],
            "no such pod",
        ),
    ] {
        let o = t.run(args);
        assert_ne!(o.code, 0, "{args:?}");
        assert!(o.stderr.contains(want), "{args:?}: {}", o.stderr);
        assert_eq!(o.stderr.trim().lines().count(), 1, "{args:?}: {}", o.stderr);
    }
    assert!(t.ok(&["pod", "ps", "-q"]).trim().is_empty());
    t.ok(&["pod", "create", "--name", "vv", "--network", "none"]);
    let o = t.run(&["pod", "create", "--name", "vv"]);
    assert!(o.stderr.contains("already in use"), "{}", o.stderr);
    t.ok(&[
        "run",
        "-d",
        "--pod",
        "vv",
        "--name",
        "vv-a",
        "busybox",
        "sh",
        "-c",
        "echo started; exec sleep 600",
    ]);
    let o = t.run(&[
        "run",
        "--pod",
        "vv",
        "--hostname",
        "other",
        "busybox",
        "true",
    ]);
    assert!(o.stderr.contains("--hostname conflicts"), "{}", o.stderr);
    let o = t.run(&["run", "--pod", "vv", "-p", "8080:80", "busybox", "true"]);
    assert!(
        o.stderr.contains("ports are published by the pod"),
        "{}",
        o.stderr
    );
    t.ok(&["pod", "pause", "vv"]);
    assert_eq!(inspect(&t, "vv")["Containers"][0]["State"], "paused");
    t.ok(&["pod", "unpause", "vv"]);
    assert!(t.ok(&["pod", "top", "vv"]).contains("sleep 600"));
    assert!(t.ok(&["pod", "logs", "vv"]).contains("started"));
    let stats: serde_json::Value =
        serde_json::from_str(&t.ok(&["pod", "stats", "--format", "json", "vv"])).unwrap();
    assert_eq!(stats[0]["Name"], "vv-a", "{stats}");
    assert_ne!(stats[0]["PIDs"], "0", "{stats}");
    t.ok(&["pod", "stop", "-t", "1", "vv"]);
    let st = inspect(&t, "vv");
    assert_eq!(st["State"], "Exited");
    assert_eq!(st["InfraPid"], 0);
    let o = t.run(&["start", "vv-a"]);
    assert!(o.stderr.contains("pod vv is not running"), "{}", o.stderr);
    t.ok(&["pod", "start", "vv"]);
    poll_exec(&t, "vv-a", "hostname", "vv");
    t.ok(&["pod", "kill", "vv"]);
    t.ok(&["pod", "rm", "-f", "vv"]);
    t.assert_empty();
}

#[test]
fn a_stopped_pod_starts_again_after_its_runtime_state_is_gone() {
    let t = Hull::new();
    t.ok(&["pod", "create", "--name", "boot"]);
    let id = inspect(&t, "boot")["Id"].as_str().unwrap().to_string();
    t.ok(&["pod", "stop", "boot"]);
    // What a reboot does to /run: the pinned network namespace is gone.
    let ns = t.runroot().join("netns").join(&id);
    let _ = nix::mount::umount2(&ns, nix::mount::MntFlags::MNT_DETACH);
    std::fs::remove_file(&ns).unwrap();
    t.ok(&["pod", "start", "boot"]);
    let out = t.sh(&["--pod", "boot"], "ip -4 -o addr show eth0; hostname");
    assert!(out.contains("inet "), "{out}");
    assert!(out.ends_with("boot\n"), "{out}");
    t.ok(&["pod", "rm", "-f", "boot"]);
    t.assert_empty();
}
