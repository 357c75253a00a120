//! `hull --log-level debug`: one request followed through the whole process chain (hull ->
//! hull-monitor -> hullrt -> the exit hook) on hull's stderr, every line naming the container;
//! and without the flag nothing is traced and the container's output is untouched.

use hull_e2e::hull::Hull;
use hull_e2e::trace::field;

#[test]
fn log_level_debug_shows_one_run_through_every_process() {
    let h = Hull::new();
    // Untraced: stderr stays empty, the output is the container's alone.
    let o = h.run(&["run", "--rm", "busybox", "echo", "plain"]);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (0, "plain\n", "")
    );

    let o = h.run(&[
        "--log-level",
        "debug",
        "run",
        "--rm",
        "busybox",
        "echo",
        "traced",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The container's stdout (its log, its attach stream) carries no trace line.
    assert_eq!(o.stdout, "traced\n", "stderr:\n{}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().collect();
    for l in &lines {
        assert!(
            l.starts_with("time=\"") && l.contains(" level=") && l.contains(" msg="),
            "not a trace line: {l}\n{}",
            o.stderr
        );
    }
    let id = lines
        .iter()
        .find(|l| field(l, "msg").as_deref() == Some("container created"))
        .and_then(|l| field(l, "id"))
        .unwrap_or_else(|| panic!("no 'container created' line:\n{}", o.stderr));
    assert_eq!(id.len(), 64, "{id}");
    // (process, span it must be in) for each hop; every one of these lines names the id.
    let hops = [
        ("hull", "start"),
        ("hull-monitor", ""),
        ("hullrt", "create"),
        ("hullrt", "start"),
        ("hull", "exit_hook"),
    ];
    for (proc, span) in hops {
        let found = lines.iter().any(|l| {
            field(l, "proc").as_deref() == Some(proc)
                && field(l, "id").as_deref() == Some(id.as_str())
                && field(l, "span")
                    .unwrap_or_default()
                    .split(':')
                    .any(|s| span.is_empty() || s == span)
        });
        assert!(
            found,
            "no line from {proc} ({span}) for {id}:\n{}",
            o.stderr
        );
    }
    // In the order a run takes: created before the runtime, the runtime before the exit.
    let first = |proc: &str, span: &str| {
        lines
            .iter()
            .position(|l| {
                field(l, "proc").as_deref() == Some(proc)
                    && field(l, "span").unwrap_or_default().contains(span)
            })
            .unwrap()
    };
    assert!(
        first("hull", "start") < first("hullrt", "create"),
        "{}",
        o.stderr
    );
    assert!(
        first("hullrt", "start") < first("hull", "exit_hook"),
        "{}",
        o.stderr
    );
    h.assert_empty();

    // A level hull does not know: one line naming the flag, docker's usage exit code.
    let o = h.run(&["--log-level", "loud", "ps"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(o.stderr.contains("--log-level"), "{}", o.stderr);
}

#[test]
fn a_detached_container_is_traced_through_the_monitors_own_exit_hook() {
    let h = Hull::new();
    // Detached: hull is gone when the container exits, so the monitor runs `hull
    // internal-hook` itself, with the level it was given, on the stderr it inherited.
    let err = tempfile::NamedTempFile::new().unwrap();
    let st = h
        .cmd(&["--log-level", "debug", "run", "-d", "busybox", "sleep", "1"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(err.reopen().unwrap())
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        std::fs::read_to_string(err.path()).unwrap()
    );
    let id = String::from_utf8_lossy(&st.stdout).trim().to_string();
    let o = h.run(&["wait", &id]);
    assert_eq!(o.stdout.trim(), "0", "{}", o.stderr);
    let hook_line = |s: &str| {
        s.lines().any(|l| {
            field(l, "span").as_deref() == Some("exit_hook")
                && field(l, "id").as_deref() == Some(id.as_str())
                && field(l, "msg").as_deref() == Some("torn down")
        })
    };
    assert!(
        hull_e2e::wait_for(10, || hook_line(
            &std::fs::read_to_string(err.path()).unwrap()
        )),
        "no exit hook line for {id}:\n{}",
        std::fs::read_to_string(err.path()).unwrap()
    );
    let log = std::fs::read_to_string(err.path()).unwrap();
    assert!(
        log.lines()
            .any(|l| field(l, "proc").as_deref() == Some("hull-monitor")
                && field(l, "msg").as_deref() == Some("container exited with 0")),
        "{log}"
    );
    h.ok(&["rm", &id]);
    h.assert_empty();
}
