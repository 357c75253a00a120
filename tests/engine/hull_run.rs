//! `hull run`: the first container end to end, exit codes, errors that leave nothing, names,
//! volatile roots and the interrupts of a foreground run. (Every run flag observed from inside
//! the container: tests/engine/hull_run_flags.rs.)

use hull_e2e::hull::{one_line_error, Hull};

#[test]
fn run_rm_echo_hello_leaves_nothing() {
    let h = Hull::new();
    let o = h.run(&["run", "--rm", "busybox", "echo", "hello"]);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "hello\n"),
        "stderr={}",
        o.stderr
    );
    h.assert_empty();
}

#[test]
fn exit_codes_pass_through_and_docker_codes() {
    let h = Hull::new();
    assert_eq!(
        h.run(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
            .code,
        3
    );
    let o = h.run(&["run", "--rm", "busybox", "/no/such/program"]);
    assert_eq!(o.code, 127, "{}", o.stderr);
    // Behind --init the shell is not pid 1, so it can be killed: 128 + 9.
    let o = h.run(&["run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"]);
    assert_eq!(o.code, 137);
    h.assert_empty();
}

#[test]
fn bad_inputs_give_one_line_and_leave_nothing() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--rm", "--pull", "never", "no-such-image"],
            "no such image",
        ),
        (
            &["run", "--rm", "--memory", "abc", "busybox", "true"],
            "invalid --memory \"abc\"",
        ),
        (
            &["run", "--rm", "--cpus", "x", "busybox", "true"],
            "invalid --cpus",
        ),
        (
            &["run", "--rm", "--ulimit", "nofile=a", "busybox", "true"],
            "invalid --ulimit",
        ),
        (
            &["run", "--rm", "--restart", "sometimes", "busybox", "true"],
            "invalid --restart",
        ),
        (
            &["run", "--rm", "--cap-add", "NOPE", "busybox", "true"],
            "unknown capability",
        ),
        (
            &["run", "--rm", "-v", "/no/such/dir:/x", "busybox", "true"],
            "does not exist",
        ),
        (
            &["run", "--rm", "--device", "/no/dev", "busybox", "true"],
            "--device",
        ),
        (
            &["run", "--rm", "--name", "bad name", "busybox", "true"],
            "invalid container name",
        ),
        (
            &[
                "run",
                "--rm",
                "--security-opt",
                "seccomp=/no/file",
                "busybox",
                "true",
            ],
            "seccomp",
        ),
        (
            &["run", "--rm", "-u", "nobody-here", "busybox", "true"],
            "unable to find user",
        ),
    ];
    for (args, want) in cases {
        let o = h.run(args);
        assert_eq!(o.code, 125, "{args:?}: {}", o.stderr);
        let line = one_line_error(&o);
        assert!(line.contains(want), "{args:?}: {line}");
    }
    h.assert_empty();
}

#[test]
fn name_in_use_is_refused() {
    let h = Hull::new();
    h.ok(&["create", "--name", "twice", "busybox", "true"]);
    let o = h.run(&["run", "--name", "twice", "busybox", "true"]);
    assert_eq!(o.code, 125);
    assert!(one_line_error(&o).contains("already in use"));
    h.ok(&["rm", "twice"]);
    h.assert_empty();
}

#[test]
fn twenty_concurrent_runs_get_distinct_names() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let children: Vec<_> = (0..20)
        .map(|i| {
            h.cmd(&["run", "-d", "busybox", "echo", &format!("n{i}")])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let names = h.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let mut v: Vec<&str> = names.lines().collect();
    assert_eq!(v.len(), 20);
    v.sort();
    v.dedup();
    assert_eq!(v.len(), 20, "{names}");
    for id in h.ok(&["ps", "-aq"]).lines() {
        assert_eq!(h.ok(&["wait", id]).trim(), "0");
        h.ok(&["rm", id]);
    }
    h.assert_empty();
}

/// A `--rm` container's root is a volatile overlay (no sync of the host's filesystem at its
/// unmount), a kept container's is not: seen in the container's own mount table.
#[test]
fn rm_containers_get_a_volatile_root_and_kept_ones_do_not() {
    let h = Hull::new();
    let root_opts = "grep '^overlay / ' /proc/mounts; echo data > /f && cat /f";
    let o = h.ok(&["run", "--rm", "busybox", "sh", "-c", root_opts]);
    assert!(o.contains("volatile") && o.ends_with("data\n"), "{o}");
    let o = h.ok(&["run", "--name", "kept", "busybox", "sh", "-c", root_opts]);
    assert!(!o.contains("volatile") && o.ends_with("data\n"), "{o}");
    // Kept, it starts again on the same upper layer, which still holds the file.
    let o = h.ok(&["start", "-a", "kept"]);
    assert!(o.ends_with("data\n"), "{o}");
    h.ok(&["rm", "kept"]);
    h.assert_empty();
}

/// A docker-archive (`docker save`'s layout) of `n` one-file layers, with `config` (its
/// `rootfs` filled in here) as the image config; tagged `tag`.
fn docker_archive(
    dir: &std::path::Path,
    tag: &str,
    n: usize,
    config: serde_json::Value,
) -> std::path::PathBuf {
    let top = dir.join("archive");
    std::fs::create_dir_all(top.join("src")).unwrap();
    let sha = |p: &std::path::Path| {
        let o = std::process::Command::new("sha256sum")
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_string()
    };
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..n {
        let name = format!("f{i}");
        std::fs::write(top.join("src").join(&name), i.to_string()).unwrap();
        let tar = top.join(format!("l{i}.tar"));
        let st = std::process::Command::new("tar")
            .arg("-C")
            .arg(top.join("src"))
            .arg("-cf")
            .arg(&tar)
            .arg(&name)
            .status()
            .unwrap();
        assert!(st.success());
        diff_ids.push(format!("sha256:{}", sha(&tar)));
        layers.push(format!("l{i}.tar"));
    }
    let mut config = config;
    config["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": diff_ids});
    config["architecture"] = "amd64".into();
    config["os"] = "linux".into();
    std::fs::write(top.join("config.json"), config.to_string()).unwrap();
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": [tag], "Layers": layers}]);
    std::fs::write(top.join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::remove_dir_all(top.join("src")).unwrap();
    let out = dir.join("image.tar");
    hull_e2e::image::tar_dir(&top, &out);
    out
}

/// The bad input of issue 16: each one line naming what is wrong, docker's exit code 125
/// (127 for a program that cannot run), nothing left behind.
#[test]
fn bad_values_of_issue_16_are_one_line_and_leave_nothing() {
    let h = Hull::new();
    for (flags, says) in [
        (&["--memory", "99999999999999999999"][..], "--memory"),
        (&["--ip", "999.1.1.1"][..], "--ip"),
        (&["-v", ":/x"][..], "--volume"),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let o = h.run(&args);
        assert_eq!(o.code, 125, "{flags:?}: {}", o.stderr);
        assert!(one_line_error(&o).contains(says), "{}", o.stderr);
        h.assert_empty();
    }
    // docker takes `--label KEY` as KEY with an empty value; so does hull.
    h.ok(&[
        "create", "--name", "lbl", "--label", "noequals", "busybox", "true",
    ]);
    assert_eq!(
        h.ok(&["inspect", "--format", "{{json .Config.Labels}}", "lbl"])
            .trim(),
        r#"{"noequals":""}"#
    );
    h.ok(&["rm", "lbl"]);

    let tmp = tempfile::tempdir().unwrap();
    // An image config with a field of the wrong type: the error names the field.
    let bad = docker_archive(
        tmp.path(),
        "badcfg:1",
        1,
        serde_json::json!({"config": {"Env": "A=1"}}),
    );
    let o = h.run(&["load", "-i", bad.to_str().unwrap()]);
    assert_ne!(o.code, 0);
    let line = one_line_error(&o);
    assert!(
        line.contains("config.Env") && line.contains("invalid type"),
        "{line}"
    );
    assert!(!h.ok(&["images"]).contains("badcfg"));

    // More layers than one overlay mount can stack: said at run, with the count.
    let deep = tempfile::tempdir().unwrap();
    let many = docker_archive(
        deep.path(),
        "deep:1",
        120,
        serde_json::json!({"config": {"Cmd": ["true"]}}),
    );
    h.ok(&["load", "-i", many.to_str().unwrap()]);
    let o = h.run(&["run", "--rm", "deep:1"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(
        one_line_error(&o).contains("image has 120 layers"),
        "{}",
        o.stderr
    );
    h.assert_empty();
}

/// An entrypoint whose interpreter is /proc/self/exe cannot run (CVE-2019-5736's trick):
/// 127, with a message saying why.
#[test]
fn proc_self_exe_interpreter_is_refused_with_a_message() {
    let h = Hull::new();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::write(root.join("bin/evil"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(
        root.join("bin/evil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let tar = tmp.path().join("evil.tar");
    hull_e2e::image::tar_dir(&root, &tar);
    h.ok(&["import", tar.to_str().unwrap(), "evil:1"]);
    let o = h.run(&["run", "--rm", "evil:1", "/bin/evil"]);
    assert_eq!(o.code, 127, "{}", o.stderr);
    assert!(o.stderr.contains("/proc/self/exe"), "{:?}", o.stderr);
    h.assert_empty();
}

/// Whether SIGINT is in `pid`'s signal mask `field` of /proc/PID/status: "ShdPnd" (pending
/// process-wide, not yet taken by its signal thread) or "SigBlk" (blocked: attached).
fn sigint_in(pid: u32, field: &str) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGINT - 1)) != 0)
}

#[test]
fn foreground_run_gives_up_on_the_third_interrupt() {
    let h = Hull::new();
    // The container ignores SIGINT: the first two, forwarded, change nothing.
    let mut run = h
        .cmd(&[
            "run",
            "--name",
            "stubborn",
            "busybox",
            "sh",
            "-c",
            "trap '' INT; while :; do sleep 1; done",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let running = || {
        h.run(&["inspect", "--format", "{{.State.Running}}", "stubborn"])
            .stdout
    };
    assert!(hull_e2e::wait_for(30, || running().trim() == "true"));
    // Attached: hull's signal thread takes SIGINT from now on.
    assert!(hull_e2e::wait_for(30, || sigint_in(run.id(), "SigBlk")));
    for i in 1..=3 {
        assert_eq!(
            run.try_wait().unwrap(),
            None,
            "hull run exited before interrupt {i}"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(run.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        // Each is taken before the next is sent (pending signals merge).
        assert!(hull_e2e::wait_for(30, || !sigint_in(run.id(), "ShdPnd")));
    }
    let mut st = None;
    hull_e2e::wait_for(30, || {
        st = run.try_wait().unwrap();
        st.is_some()
    });
    if st.is_none() {
        let _ = run.kill();
        let _ = run.wait();
    }
    assert_eq!(
        st.and_then(|s| s.code()),
        Some(130),
        "docker's client exits on the third ^C"
    );
    assert_eq!(running().trim(), "true", "the container is left running");
    h.ok(&["rm", "-f", "stubborn"]);
    h.assert_empty();
}
