//! Container lifecycle verbs: -d, logs (-f, --tail, survival), stop/kill/wait, restart
//! policies, exec, -it under a pty, rm -f, inspect/ps, and a run through runc.

use std::process::Stdio;

use hull_e2e::hull::{cgroup_exists, Hull};

#[test]
fn detached_logs_follow_wait_and_logs_survive() {
    let h = Hull::new();
    let id = h.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done; exit 4",
    ]);
    assert_eq!(id.trim().len(), 64);
    let follow = h.run(&["logs", "-f", "talker"]);
    assert_eq!(follow.stdout, "out1\nout2\nout3\n");
    assert_eq!(follow.stderr, "err1\nerr2\nerr3\n");
    assert_eq!(h.ok(&["wait", "talker"]).trim(), "4");
    let tail = h.run(&["logs", "--tail", "2", "talker"]);
    assert_eq!(
        (tail.stdout.as_str(), tail.stderr.as_str()),
        ("out3\n", "err3\n")
    );
    let ts = h.ok(&["logs", "-t", "talker"]);
    assert!(
        ts.lines()
            .all(|l| l.len() > 30 && l.contains('T') && l.ends_with(char::is_numeric)),
        "{ts}"
    );
    let state = h.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}",
        "talker",
    ]);
    assert_eq!(state.trim(), "exited 4 0");
    let log = h.ok(&["inspect", "--format", "{{.LogPath}}", "talker"]);
    let line = std::fs::read_to_string(log.trim())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (v["log"].as_str(), v["stream"].as_str()),
        (Some("out1\n"), Some("stdout"))
    );
    h.ok(&["rm", "talker"]);
    h.assert_empty();
}

#[test]
fn stop_escalates_to_kill_and_ps_shows_states() {
    let h = Hull::new();
    // A shell that ignores TERM: stop must KILL it after the timeout.
    h.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 1; done",
    ]);
    let ps = h.ok(&["ps"]);
    assert!(ps.contains("stubborn") && ps.contains("Up "), "{ps}");
    let pid = h.ok(&["inspect", "--format", "{{.State.Pid}}", "stubborn"]);
    assert!(pid.trim().parse::<i32>().unwrap() > 0);
    h.ok(&["stop", "-t", "1", "stubborn"]);
    let st = h.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "stubborn",
    ]);
    assert_eq!(st.trim(), "exited 137");
    assert!(h.ok(&["ps"]).lines().count() == 1);
    assert!(h
        .ok(&["ps", "-a", "--filter", "status=exited"])
        .contains("stubborn"));
    // Behind --init, sleep gets the stop signal and dies of it (128 + 15).
    h.ok(&[
        "run", "-d", "--init", "--name", "polite", "busybox", "sleep", "100",
    ]);
    h.ok(&["stop", "polite"]);
    assert_eq!(
        h.ok(&["inspect", "--format", "{{.State.ExitCode}}", "polite"])
            .trim(),
        "143"
    );
    h.ok(&["start", "polite"]);
    assert_eq!(
        h.ok(&["inspect", "--format", "{{.State.Status}}", "polite"])
            .trim(),
        "running"
    );
    h.ok(&["kill", "-s", "USR1", "polite"]);
    assert_eq!(h.ok(&["wait", "polite"]).trim(), "138");
    h.ok(&["rm", "stubborn", "polite"]);
    h.assert_empty();
}

#[test]
fn restart_on_failure_restarts_twice() {
    let h = Hull::new();
    h.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo try; exit 1",
    ]);
    // Wait for the last exit: the monitor ends after the policy gives up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let st = h.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.RestartCount}}",
            "flaky",
        ]);
        if st.trim() == "exited 2" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {st}");
        h.run(&["wait", "flaky"]);
    }
    assert_eq!(h.ok(&["logs", "flaky"]), "try\ntry\ntry\n");
    h.ok(&["rm", "flaky"]);
    h.assert_empty();
}

#[test]
fn exec_joins_the_container() {
    let h = Hull::new();
    h.ok(&[
        "run",
        "-d",
        "--name",
        "host1",
        "--hostname",
        "inside",
        "-e",
        "X=1",
        "busybox",
        "sleep",
        "1000",
    ]);
    let pid = h
        .ok(&["inspect", "--format", "{{.State.Pid}}", "host1"])
        .trim()
        .to_string();
    let out = h.ok(&[
        "exec",
        "-e",
        "Y=2",
        "-w",
        "/tmp",
        "host1",
        "sh",
        "-c",
        "hostname; echo $X$Y; pwd; readlink /proc/self/ns/pid",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["inside", "12", "/tmp"]);
    let want_pid = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(lines[3], want_pid.to_str().unwrap());
    assert_eq!(
        h.ok(&["exec", "-u", "42", "host1", "id", "-u"]).trim(),
        "42"
    );
    assert_eq!(h.run(&["exec", "host1", "sh", "-c", "exit 7"]).code, 7);
    let mut child = h
        .cmd(&["exec", "-i", "host1", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in\n")
        .unwrap();
    assert_eq!(child.wait_with_output().unwrap().stdout, b"piped in\n");
    h.ok(&["rm", "-f", "host1"]);
    h.assert_empty();
}

#[test]
fn interactive_tty_prints_its_size() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let cmd = format!(
        "stty rows 33 cols 101; {}",
        h.command_line("run --rm -it busybox stty size")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("33 101"),
        "{text:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmd = format!(
        "stty rows 20 cols 70; {}",
        h.command_line("run --rm -i busybox cat")
    );
    let mut c = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin
        .take()
        .unwrap()
        .write_all(b"through stdin\n")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout),
        "through stdin\n"
    );
    h.assert_empty();
}

#[test]
fn rm_force_cleans_a_running_container() {
    let h = Hull::new();
    h.ok(&[
        "run", "-d", "--name", "victim", "--memory", "32m", "busybox", "sleep", "1000",
    ]);
    let id = h.id("victim");
    assert!(cgroup_exists(&id));
    let o = h.run(&["rm", "victim"]);
    assert_ne!(o.code, 0);
    h.ok(&["rm", "-f", "victim"]);
    assert!(!cgroup_exists(&id));
    h.assert_empty();
}

#[test]
fn rm_auto_remove_detached_leaves_nothing() {
    let h = Hull::new();
    h.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3",
    ]);
    let id = h.id("gone");
    h.run(&["wait", "gone"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !h.ok(&["ps", "-aq"]).trim().is_empty() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!cgroup_exists(&id));
    h.assert_empty();
}

#[test]
fn runc_drives_the_same_bundle() {
    let Some(runc) = ["/usr/sbin/runc", "/usr/bin/runc"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        panic!("runc not installed: bash scripts/deps.sh");
    };
    let mut h = Hull::new();
    h.runtime = Some(runc.into());
    let out = h.sh(
        &["--hostname", "viarunc", "--memory", "16m"],
        "hostname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    assert_eq!(out, "viarunc\n16777216\n");
    h.ok(&["run", "-d", "--name", "r1", "busybox", "sleep", "100"]);
    assert_eq!(h.ok(&["exec", "r1", "echo", "hi"]), "hi\n");
    h.ok(&["stop", "-t", "5", "r1"]);
    h.ok(&["rm", "r1"]);
    h.assert_empty();
}

#[test]
fn oom_kill_is_recorded() {
    let h = Hull::new();
    let o = h.run(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "awk",
        "BEGIN { s = \"xxxxxxxx\"; while (1) s = s s }",
    ]);
    assert_eq!(o.code, 137, "{}", o.stderr);
    let st = h.ok(&[
        "inspect",
        "--format",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        "hog",
    ]);
    assert_eq!(st.trim(), "true 137");
    h.ok(&["rm", "hog"]);
    h.assert_empty();
}

#[test]
fn shared_namespaces_devices_and_k8s_log() {
    let h = Hull::new();
    // Shareable: docker lets no one join a private ipc namespace.
    h.ok(&[
        "run",
        "-d",
        "--name",
        "owner",
        "--ipc",
        "shareable",
        "busybox",
        "sleep",
        "1000",
    ]);
    let pid = h
        .ok(&["inspect", "--format", "{{.State.Pid}}", "owner"])
        .trim()
        .to_string();
    for (flag, ns) in [
        ("--ipc", "ipc"),
        ("--pid", "pid"),
        ("--network", "net"),
        ("--uts", "uts"),
    ] {
        let want = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        let mode = "container:owner".to_string();
        let out = h.sh(&[flag, &mode], &format!("readlink /proc/self/ns/{ns}"));
        assert_eq!(out.trim(), want.to_str().unwrap(), "{flag}");
    }
    let out = h.sh(
        &["--device", "/dev/null:/dev/mynull"],
        "echo x > /dev/mynull && ls -l /dev/mynull",
    );
    assert!(out.starts_with('c'), "{out}");
    h.ok(&[
        "run",
        "--name",
        "k8s",
        "--log-driver",
        "k8s-file",
        "busybox",
        "echo",
        "line",
    ]);
    assert_eq!(h.ok(&["logs", "k8s"]), "line\n");
    h.ok(&["rm", "-f", "owner", "k8s"]);
    h.assert_empty();
}

#[test]
fn killed_hull_commands_leave_a_usable_state() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    // Kill `hull run` at various points; the state must stay readable and every leftover
    // must be removable.
    for delay_ms in [1u64, 5, 20, 60] {
        let mut c = h
            .cmd(&["run", "-d", "busybox", "sleep", "100"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = c.kill();
        let _ = c.wait();
    }
    let ids = h.ok(&["ps", "-aq", "--no-trunc"]);
    for id in ids.split_whitespace() {
        h.ok(&["rm", "-f", id]);
    }
    h.assert_empty();
    assert_eq!(h.ok(&["run", "--rm", "busybox", "echo", "ok"]), "ok\n");
}

/// `hull ARGS` under a pty of its own (`script`), its keyboard a pipe and its screen
/// gathered by a thread.
struct Pty {
    child: std::process::Child,
    screen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Pty {
    fn spawn(h: &Hull, args: &str) -> Pty {
        let cmd = h.command_line(args);
        let mut child = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let screen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, mut out) = (screen.clone(), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut out, &mut buf) {
                s.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty { child, screen }
    }

    fn type_in(&mut self, keys: &[u8]) {
        use std::io::Write;
        let input = self.child.stdin.as_mut().unwrap();
        input.write_all(keys).unwrap();
        input.flush().unwrap();
    }

    /// Types `echo` of a sum and waits for its result: the session is up, in raw mode.
    fn await_shell(&mut self, n: u32) {
        self.type_in(format!("echo up-$(({n}+1))\n").as_bytes());
        let want = format!("up-{}", n + 1);
        let seen = || String::from_utf8_lossy(&self.screen.lock().unwrap()).contains(&want);
        assert!(
            hull_e2e::wait_for(30, seen),
            "{want} never came: {:?}",
            String::from_utf8_lossy(&self.screen.lock().unwrap())
        );
    }

    /// Its exit status, within 30 s.
    fn exit_code(&mut self) -> Option<i32> {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < end {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        None
    }
}

#[test]
fn detach_keys_leave_the_container_running() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    // docker's default, ctrl-p ctrl-q, out of `run -it`.
    let mut p = Pty::spawn(&h, "run -it --name dk1 busybox sh");
    p.await_shell(1);
    p.type_in(b"\x10\x11");
    assert_eq!(p.exit_code(), Some(0));
    let status = || h.ok(&["inspect", "-f", "{{.State.Status}}", "dk1"]);
    assert_eq!(status().trim(), "running");
    assert_eq!(
        h.ok(&["exec", "dk1", "echo", "still-here"]).trim(),
        "still-here"
    );
    // Out of `exec -it`: the exec'd shell runs on after the session ends.
    let mut p = Pty::spawn(&h, "exec -it dk1 sh");
    p.await_shell(3);
    // sleep, unlike an interactive shell, dies of a hangup.
    p.type_in(b"echo $$ > /tmp/exec.pid; exec sleep 1000\n");
    let comm = "cat /proc/$(cat /tmp/exec.pid)/comm";
    let sleeping = || h.run(&["exec", "dk1", "sh", "-c", comm]).stdout.trim() == "sleep";
    assert!(hull_e2e::wait_for(30, sleeping));
    p.type_in(b"\x10\x11");
    assert_eq!(p.exit_code(), Some(0));
    let alive = "kill -0 $(cat /tmp/exec.pid) && echo alive";
    // A hangup would have come when script closed its terminal: time to act on it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(h.ok(&["exec", "dk1", "sh", "-c", alive]).trim(), "alive");
    let o = h.run(&["exec", "-it", "--detach-keys", "ctrl-", "dk1", "true"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("--detach-keys") && o.stderr.trim().lines().count() == 1,
        "{}",
        o.stderr
    );
    // Others keys out of `attach`; a ctrl-a alone would go to the shell.
    let mut p = Pty::spawn(&h, "attach --detach-keys ctrl-a,x dk1");
    p.await_shell(2);
    p.type_in(b"\x01x");
    assert_eq!(p.exit_code(), Some(0));
    assert_eq!(status().trim(), "running");
    // With nobody attached, the monitor records the exit itself.
    h.ok(&["stop", "-t", "1", "dk1"]);
    assert!(
        hull_e2e::wait_for(30, || status().trim() == "exited"),
        "{}",
        status()
    );
    h.ok(&["rm", "dk1"]);
    // A sequence docker would refuse: one line, nothing made.
    let o = h.run(&["run", "-it", "--detach-keys", "ctrl-1", "busybox", "true"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("--detach-keys") && o.stderr.trim().lines().count() == 1,
        "{}",
        o.stderr
    );
    h.assert_empty();
}
