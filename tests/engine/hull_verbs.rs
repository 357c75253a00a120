//! hull's verbs around the core: info and version (checked against the host), and the
//! container verbs top, stats, rename, pause/unpause, update and system prune, each observed
//! from inside the container (cp is in hull_cp.rs).

use hull_e2e::hull::{pid_of, run_d, sh, Hull};
use serde_json::Value;

#[test]
fn info_reports_the_host_and_the_state() {
    let h = Hull::new();
    h.ok(&["volume", "create", "v1"]);
    h.ok(&["volume", "create", "v2"]);
    run_d(&h, "i1", &["busybox", "sleep", "1000"]);
    h.ok(&["run", "--name", "i2", "busybox", "true"]);
    let info: Value = serde_json::from_str(&h.ok(&["info", "--format", "json"])).unwrap();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info["KernelVersion"], kernel.trim());
    assert_eq!(info["Volumes"], 2);
    assert_eq!(info["Images"], 1, "busybox, seeded by run");
    assert_eq!(info["Containers"], 2);
    assert_eq!(info["ContainersRunning"], 1);
    assert_eq!(info["ContainersStopped"], 1);
    assert_eq!(info["Driver"], "overlay");
    assert_eq!(info["DockerRootDir"], h.root().display().to_string());
    assert_eq!(info["RunRoot"], h.runroot().display().to_string());
    let v2 = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert_eq!(info["CgroupVersion"], if v2 { "2" } else { "1" });
    let ncpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(info["NCPU"], ncpu);
    // The runtime found is the hullrt built beside hull, and it answered its version.
    let rt = &info["Runtimes"]["hullrt"];
    assert_eq!(
        rt["path"],
        hull_e2e::bin_dir().join("hullrt").display().to_string()
    );
    assert_eq!(rt["version"], env!("CARGO_PKG_VERSION"));

    let text = h.ok(&["info"]);
    assert!(text.contains(" Volumes: 2\n"), "{text}");
    assert!(text.contains(" Storage Driver: overlay\n"), "{text}");
    assert_eq!(
        h.ok(&["info", "-f", "{{.Images}} {{.ContainersRunning}}"]),
        "1 1\n"
    );
    let (_, err) = h.fails(&["info", "-f", "{{.NoSuchField}}"]);
    assert!(err.contains(".NoSuchField"), "{err}");
}

#[test]
fn version_names_hull_and_its_runtime() {
    let h = Hull::new();
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        h.ok(&["version", "--format", "{{.Server.Version}} {{.Client.Os}}"]),
        format!("{v} linux\n")
    );
    let j: Value = serde_json::from_str(&h.ok(&["version", "-f", "json"])).unwrap();
    assert_eq!(j["Runtime"]["Name"], "hullrt");
    assert_eq!(j["Runtime"]["Version"], v);
    let text = h.ok(&["version"]);
    assert!(text.contains(&format!(" Version:        {v}")), "{text}");
    // HULL_RUNTIME picks another runtime, which is then what version reports.
    let out = h
        .cmd(&[])
        .env("HULL_RUNTIME", "/nonexistent/runc")
        .args(["version", "-f", "{{.Runtime.Path}} {{.Runtime.Version}}"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/nonexistent/runc unknown\n"
    );
}

fn cgroup_v2() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "))
}

#[test]
fn top_lists_the_containers_processes_only() {
    let h = Hull::new();
    run_d(
        &h,
        "top1",
        &["busybox", "sh", "-c", "sleep 1001 & exec sleep 1002"],
    );
    let pid = pid_of(&h, "top1");
    assert!(
        hull_e2e::wait_for(30, || h.ok(&["top", "top1"]).contains("sleep 1001")),
        "{}",
        h.ok(&["top", "top1"])
    );
    let lines = h.lines(&["top", "top1"]);
    assert!(lines[0].starts_with("UID"), "{lines:?}");
    assert!(
        lines[0].contains("PID") && lines[0].contains("CMD"),
        "{lines:?}"
    );
    assert_eq!(
        lines.len(),
        3,
        "the two sleeps and nothing of the host: {lines:?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains(&pid.to_string()) && l.ends_with("sleep 1002")));
    // ps options pass through.
    let lines = h.lines(&["top", "top1", "-o", "pid,comm"]);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMMAND"]
    );
    assert!(lines.contains(&format!("{pid:<10}sleep")), "{lines:?}");
    // The pids top prints are the ones the container's own ps sees, as the host numbers them:
    // as many processes on each side.
    let inside = sh(
        &h,
        "top1",
        "ps -o pid,args | grep -c '^ *[0-9]* sleep 100[12]$'",
    );
    assert_eq!(inside.trim(), "2");
    let (_, err) = h.fails(&["top", "top1", "-o", "comm"]);
    assert!(err.contains("PID"), "{err}");
    h.ok(&["stop", "-t", "1", "top1"]);
    let (_, err) = h.fails(&["top", "top1"]);
    assert!(err.contains("not running"), "{err}");
}

#[test]
fn stats_reads_the_containers_cgroup() {
    let h = Hull::new();
    run_d(
        &h,
        "st1",
        &[
            "--memory",
            "64m",
            "busybox",
            "sh",
            "-c",
            "sleep 1000 & sleep 1000 & while :; do :; done",
        ],
    );
    run_d(&h, "st2", &["busybox", "sleep", "1000"]);
    assert!(hull_e2e::wait_for(30, || sh(
        &h,
        "st1",
        "ps -o args | grep -c '^sleep'"
    )
    .trim()
        == "2"));
    let out = h.ok(&["stats", "--no-stream", "--format", "json", "st1"]);
    let row: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(row["Name"], "st1");
    let mem = row["MemUsage"].as_str().unwrap();
    assert!(
        mem.ends_with(" / 64MiB"),
        "the limit set with --memory: {mem}"
    );
    // The shell and the two sleeps the container's own ps showed above.
    assert_eq!(row["PIDs"], "3");
    let cpu: f64 = row["CPUPerc"]
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(cpu > 1.0, "a busy loop uses CPU: {cpu}");
    // The default table: both running containers, docker's columns.
    let lines = h.lines(&["stats", "--no-stream"]);
    assert!(lines[0].starts_with("CONTAINER ID   NAME "), "{lines:?}");
    assert!(lines[0].contains("MEM USAGE / LIMIT") && lines[0].ends_with("PIDS"));
    assert_eq!(lines.len(), 3, "{lines:?}");
    let (_, err) = h.fails(&["stats", "--no-stream", "--format", "{{.Nope}}", "st2"]);
    assert!(err.contains(".Nope"), "{err}");
    let (_, err) = h.fails(&["stats", "--no-stream", "nosuch"]);
    assert!(err.contains("nosuch"), "{err}");
}

#[test]
fn rename_pause_unpause() {
    let h = Hull::new();
    let id = run_d(
        &h,
        "old",
        &[
            "busybox",
            "sh",
            "-c",
            "while :; do date +%s%N > /tmp/tick; sleep 0.1; done",
        ],
    );
    h.ok(&["rename", "old", "new"]);
    assert_eq!(sh(&h, "new", "echo found"), "found\n");
    let (_, err) = h.fails(&["exec", "old", "true"]);
    assert!(err.contains("old"), "{err}");
    assert_eq!(h.ok(&["inspect", "-f", "{{.Name}}", &id[..12]]), "/new\n");
    run_d(&h, "other", &["busybox", "sleep", "1000"]);
    let (_, err) = h.fails(&["rename", "new", "other"]);
    assert!(err.contains("other"), "{err}");
    let (_, err) = h.fails(&["rename", "new", "bad/name"]);
    assert!(err.contains("bad/name"), "{err}");

    // Paused: the loop stops writing; its processes are frozen; unpause resumes it.
    let tick_file = h.runroot().join(format!("containers/{id}/rootfs/tmp/tick"));
    assert!(hull_e2e::wait_for(30, || tick_file.exists()));
    h.ok(&["pause", "new"]);
    assert_eq!(
        h.ok(&["inspect", "-f", "{{.State.Status}}", "new"]),
        "paused\n"
    );
    let pid = pid_of(&h, "new");
    if !cgroup_v2() {
        let freezer =
            std::fs::read_to_string(format!("/sys/fs/cgroup/freezer/hull/{id}/freezer.state"))
                .unwrap();
        assert_eq!(freezer.trim(), "FROZEN");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(
            status.contains("State:\tD"),
            "frozen tasks sleep in D: {status}"
        );
    }
    let frozen = std::fs::read_to_string(&tick_file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        std::fs::read_to_string(&tick_file).unwrap(),
        frozen,
        "no tick while paused"
    );
    let (_, err) = h.fails(&["pause", "new"]);
    assert!(err.contains("not running"), "{err}");
    h.ok(&["unpause", "new"]);
    assert!(hull_e2e::wait_for(30, || std::fs::read_to_string(
        &tick_file
    )
    .unwrap_or_default()
        != frozen));
    assert_eq!(
        h.ok(&["inspect", "-f", "{{.State.Status}}", "new"]),
        "running\n"
    );
    let (_, err) = h.fails(&["unpause", "new"]);
    assert!(err.contains("not paused"), "{err}");
}

/// The memory limit, pids limit and CPU quota the container reads from its own cgroup.
fn limits_inside(h: &Hull, name: &str) -> String {
    if cgroup_v2() {
        sh(
            h,
            name,
            "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max",
        )
    } else {
        sh(
            h,
            name,
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        )
    }
}

#[test]
fn update_changes_limits_seen_inside() {
    let h = Hull::new();
    run_d(&h, "up1", &["busybox", "sleep", "1000"]);
    h.ok(&[
        "update",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "--cpus",
        "0.5",
        "up1",
    ]);
    let want = if cgroup_v2() {
        "67108864\n50\n50000 100000\n"
    } else {
        "67108864\n50\n50000\n"
    };
    assert_eq!(limits_inside(&h, "up1"), want);
    // The limit holds: the container's shell cannot fork its way past 50 processes.
    let out = h.run(&[
        "exec",
        "up1",
        "sh",
        "-c",
        "for i in $(seq 60); do sleep 100 & done; echo all",
    ]);
    assert!(!out.success());
    let err = &out.stderr;
    assert!(err.contains("can't fork"), "{err}");
    assert!(!out.stdout.contains("all"));
    let n: usize = h
        .ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", "up1"])
        .trim()
        .parse()
        .unwrap();
    assert!(
        (45..=50).contains(&n),
        "{n} processes under --pids-limit 50"
    );
    // At the limit not even an exec gets in; raising it live lets one in again. What the
    // shell's exit (and any short-lived child of it) freed is taken first by detached
    // sleeps, until one is refused: then the cgroup is full, however the fork bomb raced.
    let full = (0..10).any(|_| !h.run(&["exec", "-d", "up1", "sleep", "1000"]).success());
    assert!(full, "ten more processes got in under --pids-limit 50");
    h.fails(&["exec", "up1", "true"]);
    h.ok(&["update", "--pids-limit", "200", "up1"]);
    assert_eq!(
        sh(
            &h,
            "up1",
            "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"
        ),
        "200\n"
    );
    assert_eq!(
        h.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
            "up1"
        ]),
        "67108864 200\n"
    );
    // A stopped container keeps the new limits for its next start.
    h.ok(&["stop", "-t", "1", "up1"]);
    h.ok(&["update", "--memory", "96m", "up1"]);
    h.ok(&["start", "up1"]);
    assert!(limits_inside(&h, "up1").starts_with("100663296\n"));
    // Bad values: refused, nothing changed.
    let (_, err) = h.fails(&["update", "--memory", "lots", "up1"]);
    assert!(err.contains("--memory"), "{err}");
    let (_, err) = h.fails(&["update", "--cpuset-cpus", "0-999", "up1"]);
    assert!(err.contains("cpuset") || err.contains("0-999"), "{err}");
    let (_, err) = h.fails(&["update", "up1"]);
    assert!(err.contains("nothing to change"), "{err}");
    assert!(limits_inside(&h, "up1").starts_with("100663296\n"));
}

#[test]
fn system_prune_takes_what_nothing_uses() {
    let h = Hull::new();
    run_d(
        &h,
        "keep",
        &[
            "-v",
            "named:/n",
            "-v",
            "/anon-in-use",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    h.ok(&[
        "run",
        "--name",
        "gone",
        "-v",
        "/anon-free",
        "busybox",
        "true",
    ]);
    h.ok(&[
        "volume",
        "create",
        "--label",
        "com.docker.volume.anonymous",
        "loose",
    ]);
    let net = format!("vp{}", std::process::id());
    h.ok(&["network", "create", &net]);
    let tar = h.dir.path().join("r.tar");
    let st = std::process::Command::new("tar")
        .args(["-cf", tar.to_str().unwrap(), "-C", "/", "etc/hostname"])
        .status()
        .unwrap();
    assert!(st.success());
    h.ok(&["import", tar.to_str().unwrap()]);
    h.ok(&["import", "-m", "tagged", tar.to_str().unwrap(), "tagged:1"]);
    // "n" changes nothing.
    let out = h.output(&["system", "prune", "--volumes"], Some(b"n\n"));
    assert!(out.status.success());
    assert_eq!(h.lines(&["ps", "-aq"]).len(), 2);
    let out = h.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert!(
        out.contains("Deleted Volumes:\n") && out.contains("\nloose\n"),
        "{out}"
    );
    assert!(out.contains("Deleted Images:"), "{out}");
    assert!(
        out.contains(&format!("Deleted Networks:\n{net}\n")),
        "{out}"
    );
    let nets = h.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.lines().any(|n| n == net), "{nets}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    let names = h.lines(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names, ["keep"]);
    // Volumes: the running container's (named and anonymous) stay; the stopped container's
    // anonymous volume and the loose one go.
    let vols = h.lines(&["volume", "ls", "-q"]);
    assert!(vols.contains(&"named".to_string()), "{vols:?}");
    assert!(!vols.contains(&"loose".to_string()), "{vols:?}");
    assert_eq!(
        vols.len(),
        2,
        "named and the running container's anonymous one: {vols:?}"
    );
    // Images: the untagged one went; the tagged one and busybox (in use) stay...
    let imgs = h.lines(&["images", "--format", "{{.Repository}}"]);
    assert_eq!(imgs.len(), 2, "{imgs:?}");
    // ...until -a, which takes every image no container uses.
    h.ok(&["system", "prune", "-a", "-f"]);
    assert_eq!(
        h.lines(&["images", "--format", "{{.Repository}}"]),
        ["busybox"]
    );
    // The running container was never touched.
    assert_eq!(sh(&h, "keep", "echo alive"), "alive\n");
}

#[test]
fn images_and_volumes_in_use_are_kept() {
    let h = Hull::new();
    run_d(
        &h,
        "user",
        &[
            "-v",
            "vol1:/data",
            "busybox",
            "sh",
            "-c",
            "echo written > /data/f; sleep 1000",
        ],
    );
    let mp = h.root().join("volumes/vol1/_data/f");
    assert!(hull_e2e::wait_for(30, || mp.exists()));
    let (code, err) = h.fails(&["volume", "rm", "vol1"]);
    assert_eq!(code, 1);
    assert!(err.contains("in use") && err.contains("user"), "{err}");
    let out = h.ok(&["volume", "prune", "-a", "-f"]);
    assert!(!out.contains("vol1"), "{out}");
    let (code, err) = h.fails(&["rmi", "busybox"]);
    assert_eq!(code, 1);
    assert!(err.contains("user"), "{err}");
    h.fails(&["rmi", "-f", "busybox"]);
    assert_eq!(sh(&h, "user", "cat /data/f"), "written\n");
    h.ok(&["rm", "-f", "user"]);
    assert_eq!(h.ok(&["volume", "rm", "vol1"]), "vol1\n");
    assert!(h.ok(&["rmi", "busybox"]).contains("Deleted: sha256:"));
}

#[test]
fn stats_streams_until_stopped() {
    use std::io::{BufRead, BufReader};
    let h = Hull::new();
    run_d(&h, "st3", &["busybox", "sleep", "1000"]);
    let mut child = h
        .cmd(&[])
        .args(["stats", "--format", "{{.Name}} {{.PIDs}}", "st3"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read on a thread, so a stats that never prints fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().take(2) {
            let _ = tx.send(l.unwrap_or_default());
        }
    });
    // One reading a second, without a terminal: plain lines, no screen clearing.
    let wait = std::time::Duration::from_secs(60);
    let first = rx.recv_timeout(wait);
    let second = rx.recv_timeout(wait);
    let _ = child.kill();
    let _ = child.wait();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, "st3 1");
    assert_eq!(second, "st3 1");
}

/// docker's exit codes for an exec whose program cannot run: 127 when it is not found, 126
/// when it cannot be executed (a directory), with the runtime's reason on stderr; a program
/// that runs keeps its own code.
#[test]
fn exec_of_a_program_that_cannot_run_exits_as_docker() {
    let h = Hull::new();
    run_d(&h, "ex1", &["busybox", "sleep", "1000"]);
    for (args, code, says) in [
        (&["nosuch"][..], 127, "not found"),
        (&["/no/such"][..], 127, "no such file or directory"),
        (&["/tmp"][..], 126, "permission denied"),
    ] {
        let mut argv = vec!["exec", "ex1"];
        argv.extend_from_slice(args);
        let (got, err) = h.fails(&argv);
        assert_eq!(got, code, "exec {args:?}: {err}");
        assert!(err.contains(says), "exec {args:?}: {err}");
    }
    let (got, _) = h.fails(&["exec", "ex1", "sh", "-c", "exit 255"]);
    assert_eq!(got, 255);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_as_docker() {
    // `hull version | head -0`: the reader is gone before hull writes. docker's client dies of
    // SIGPIPE (the shell's 141) with nothing on stderr; hull must not panic (101, a backtrace
    // hint on stderr).
    let h = Hull::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = h
        .cmd(&[])
        .args(["version"])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
