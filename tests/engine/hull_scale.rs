//! Costs that must not grow with the number of containers on the host (issue 23): no
//! per-container verb of hull's own process (stats included, through its cgroup managers)
//! reads /proc/self/mountinfo (a line per mount, two or three per running container), counted
//! with strace; `stats` reads a few cgroup files per container (the ones its row shows), not
//! every counter twice; `stop` and `rm -f` record the exit and tear the container down in
//! their own process, with no hook process started by the monitor; and `rm -f`/`stop` of
//! many, which run several containers at once, still do each one and report in the order
//! given.

use std::process::Command;

use hull_e2e::hull::Hull;

/// Runs `hull ARGS` under strace (hull's own process, not the runtime it starts) and returns
/// its stdout and the files it opened.
fn traced(h: &Hull, args: &[&str]) -> (String, Vec<String>) {
    traced_with(h, &[], args)
}

/// [`traced`] with more strace options (`-f` for a verb whose own threads read: not for one
/// that starts a monitor, which outlives it).
fn traced_with(h: &Hull, strace: &[&str], args: &[&str]) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace");
    let out = Command::new("strace")
        .arg("-o")
        .arg(&log)
        .args(strace)
        .args(["-e", "trace=open,openat,openat2"])
        .arg(Hull::bin())
        .arg("--root")
        .arg(h.root())
        .arg("--runroot")
        .arg(h.runroot())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .expect("strace (bash scripts/deps.sh installs it)");
    assert!(out.status.success(), "hull {args:?} under strace failed");
    let opened = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| l.split('"').nth(1).map(str::to_string))
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), opened)
}

#[test]
fn per_container_verbs_do_not_read_mountinfo() {
    let h = Hull::new();
    // The first run seeds busybox; the traced ones below find everything in place.
    h.ok(&["run", "-d", "--network", "none", "busybox", "sleep", "1d"]);
    let verbs: &[&[&str]] = &[
        &[
            "run",
            "-d",
            "--name",
            "s1",
            "--network",
            "none",
            "busybox",
            "sleep",
            "1d",
        ],
        &[
            "exec",
            "s1",
            "sh",
            "-c",
            "echo kept >/kept; echo shm >/dev/shm/kept",
        ],
        &["inspect", "s1"],
        &["stats", "--no-stream", "s1"],
        &["ps"],
        &["logs", "s1"],
        &["stop", "-t", "0", "s1"],
        &["start", "s1"],
        &["rm", "-f", "s1"],
    ];
    for args in verbs {
        let (_, opened) = traced(&h, args);
        let reads = opened.iter().filter(|p| p.ends_with("mountinfo")).count();
        assert_eq!(
            reads, 0,
            "hull {args:?} read /proc/self/mountinfo {reads} times"
        );
        // What the container sees across the stop and start: its rootfs and /dev/shm were
        // mounted again (the mount checks found them unmounted), its files kept.
        if args[0] == "start" {
            let seen = h.ok(&[
                "exec",
                "s1",
                "sh",
                "-c",
                "cat /kept; grep -c ' /dev/shm ' /proc/mounts",
            ]);
            assert_eq!(seen, "kept\n1\n");
        }
    }
    let all = h.ok(&["ps", "-aq"]);
    h.ok(&["rm", "-f", all.trim()]);
    h.assert_empty();
}

#[test]
fn rm_and_stop_of_many_do_each_in_order() {
    let h = Hull::new();
    let names: Vec<String> = (0..12).map(|i| format!("many{i}")).collect();
    for n in &names {
        h.ok(&[
            "run",
            "-d",
            "--name",
            n,
            "--network",
            "none",
            "busybox",
            "sleep",
            "1d",
        ]);
    }
    let mut args = vec!["stop", "-t", "0"];
    args.extend(names.iter().map(String::as_str));
    assert_eq!(h.ok(&args), names.join("\n") + "\n");
    let running = h.ok(&["ps", "-q"]);
    assert!(
        running.trim().is_empty(),
        "still running after stop: {running}"
    );
    for n in &names[..6] {
        h.ok(&["start", n]);
        // Each started one runs: its init is seen from inside.
        assert_eq!(h.ok(&["exec", n, "cat", "/proc/1/comm"]), "sleep\n");
    }
    // A missing name among them fails alone: the others go, exit 1, as docker's.
    let mut args = vec!["rm", "-f"];
    args.extend(names.iter().map(String::as_str));
    args.insert(5, "missing");
    let o = h.run(&args);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(o.stdout, names.join("\n") + "\n");
    assert!(o.stderr.contains("missing"), "{}", o.stderr);
    h.assert_empty();
}

/// `stats --no-stream` of all: the first reading is each container's CPU time (one file), the
/// second the few files a row shows; before, each reading was every counter (about 30
/// files per container on a v1 host, twice). Counted per container on more containers than
/// stats reads on one thread.
#[test]
fn stats_of_all_reads_a_few_files_per_container() {
    let h = Hull::new();
    let ids: Vec<String> = (0..10)
        .map(|_| {
            h.ok(&["run", "-d", "--network", "none", "busybox", "sleep", "1d"])
                .trim()
                .to_string()
        })
        .collect();
    // -f: stats reads on threads.
    let (out, opened) = traced_with(
        &h,
        &["-f"],
        &[
            "stats",
            "--no-stream",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.PIDs}}",
        ],
    );
    let mut total = 0;
    for id in &ids {
        assert!(
            out.contains(&format!("{id} 1\n")),
            "no row for {id}:\n{out}"
        );
        let n = opened
            .iter()
            .filter(|p| p.starts_with("/sys/fs/cgroup/") && p.contains(id.as_str()))
            .count();
        // v1: cpuacct.usage twice, memory's usage, limit and stat, pids.current, and blkio's
        // byte counters (at most three names tried); v2: six files and cpu.stat again.
        assert!(
            (2..=10).contains(&n),
            "stats opened {n} cgroup files of {id}:\n{:#?}",
            opened
                .iter()
                .filter(|p| p.contains(id.as_str()))
                .collect::<Vec<_>>()
        );
        total += n;
    }
    assert!(total >= 2 * ids.len(), "{total} cgroup files opened in all");
    let all = h.ok(&["ps", "-aq"]);
    let mut args = vec!["rm", "-f"];
    args.extend(all.split_whitespace());
    h.ok(&args);
    h.assert_empty();
}

/// `hull --log-level debug ARGS` with stderr to a file the container's monitor inherits; the
/// file.
fn logged(h: &Hull, args: &[&str]) -> tempfile::NamedTempFile {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut all = vec!["--log-level", "debug"];
    all.extend_from_slice(args);
    let o = h
        .cmd(&all)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err.reopen().unwrap())
        .status()
        .unwrap();
    assert!(o.success(), "hull {args:?}");
    err
}

/// `stop` and `rm -f` connect to the monitor asking to record the exit themselves before
/// they signal: the monitor, which traces each hook process it starts, starts none, and the
/// exit is recorded and the container torn down all the same (docker's 137 after a KILL;
/// restarted, it runs again; removed, nothing is left).
#[test]
fn stop_and_rm_record_the_exit_without_a_hook_process() {
    let h = Hull::new();
    let seen = |f: &tempfile::NamedTempFile| std::fs::read_to_string(f.path()).unwrap();
    let log = logged(
        &h,
        &[
            "run",
            "-d",
            "--name",
            "hk",
            "--network",
            "none",
            "busybox",
            "sleep",
            "1d",
        ],
    );
    // sleep as pid 1 ignores SIGTERM: -t 0 kills it.
    h.ok(&["stop", "-t", "0", "hk"]);
    assert!(
        hull_e2e::wait_for(10, || seen(&log).contains("container exited with 137")),
        "the monitor traced no exit:\n{}",
        seen(&log)
    );
    assert!(!seen(&log).contains("exit hook"), "{}", seen(&log));
    assert_eq!(
        h.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "hk"
        ]),
        "exited 137\n"
    );
    let log = logged(&h, &["start", "hk"]);
    assert_eq!(h.ok(&["exec", "hk", "cat", "/proc/1/comm"]), "sleep\n");
    h.ok(&["rm", "-f", "hk"]);
    assert!(
        hull_e2e::wait_for(10, || seen(&log).contains("container exited with 137")),
        "the monitor traced no exit:\n{}",
        seen(&log)
    );
    assert!(!seen(&log).contains("exit hook"), "{}", seen(&log));
    h.assert_empty();
}

/// `hull events` from now on, each as "ACTION EXITCODE".
fn exit_events(h: &Hull) -> std::process::Child {
    h.cmd(&[
        "events",
        "--format",
        "{{.Action}} {{.Actor.Attributes.exitCode}}",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap()
}

/// What [`exit_events`] printed, a moment after the verb it watched.
fn events_seen(mut events: std::process::Child) -> String {
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = events.kill();
    String::from_utf8_lossy(&events.wait_with_output().unwrap().stdout).into_owned()
}

/// `rm -f` of a running container signals its init itself (through a pidfd) instead of
/// starting the runtime's `kill`: strace sees no `kill` runtime process, only the exit's
/// `delete --force`. Every process of the container is gone after it, the init's and, with
/// `--pid host` (where the init's death takes nothing with it), a child's, which the
/// runtime's `delete --force` kills through the cgroup; the exit is docker's 137. A paused
/// container is still removed (by the runtime's kill, which thaws it).
#[test]
fn rm_f_kills_the_init_without_a_runtime_kill() {
    let h = Hull::new();
    for (name, flags) in [("rk", &[][..]), ("rkh", &["--pid", "host"][..])] {
        let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sh", "-c", "sleep 1000 & exec sleep 1001"]);
        h.ok(&args);
        let init: i32 = h
            .ok(&["inspect", "-f", "{{.State.Pid}}", name])
            .trim()
            .parse()
            .unwrap();
        let child = hull_e2e::wait_for(10, || {
            std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"))
                .is_ok_and(|s| !s.trim().is_empty())
        });
        assert!(child, "{name}: the init's child did not start");
        let kids: Vec<i32> = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"))
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        let events = exit_events(&h);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("strace");
        let out = Command::new("strace")
            .arg("-f")
            .arg("-o")
            .arg(&log)
            .args(["-e", "trace=execve", "-s", "256"])
            .arg(Hull::bin())
            .arg("--root")
            .arg(h.root())
            .arg("--runroot")
            .arg(h.runroot())
            .args(["rm", "-f", name])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("strace");
        assert!(out.status.success(), "rm -f {name}");
        let trace = std::fs::read_to_string(&log).unwrap();
        let runtime: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains("execve(") && l.contains("hullrt") && !l.contains("ENOENT"))
            .collect();
        assert!(
            runtime.iter().all(|l| !l.contains("\"kill\"")),
            "{name}: a runtime kill was started: {runtime:#?}"
        );
        for p in std::iter::once(init).chain(kids) {
            assert!(
                hull_e2e::wait_for(10, || !std::path::Path::new(&format!("/proc/{p}")).exists()
                    || std::fs::read_to_string(format!("/proc/{p}/stat"))
                        .is_ok_and(|s| s.contains(") Z "))),
                "{name}: process {p} survived rm -f"
            );
        }
        let seen = events_seen(events);
        assert!(seen.contains("die 137"), "{name}: {seen}");
    }
    // A paused one goes through the runtime (its frozen init dies once thawed).
    h.ok(&[
        "run",
        "-d",
        "--name",
        "rkp",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    h.ok(&["pause", "rkp"]);
    let events = exit_events(&h);
    h.ok(&["rm", "-f", "rkp"]);
    let seen = events_seen(events);
    // The exit seen and recorded (before, the kill waited out its 30 s and the monitor was
    // killed, recording no exit).
    assert!(seen.contains("die 137"), "rkp: {seen}");
    h.assert_empty();
}
