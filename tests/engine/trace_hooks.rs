//! `hull --log-level debug` to the end of the chain: the network's DNS responder (`hull
//! network dns-serve`) and the faked clock's hook and supervisor (`hull internal-clock`) get
//! the level and write to the traced hull's stderr, each line naming the container; none of
//! it reaches the container's own output.

use std::process::Stdio;

use hull_e2e::hull::Hull;
use hull_e2e::trace::{field, has_line};

/// `hull --log-level debug ARGS` with stderr to a file (what it starts may outlive it and
/// keep writing there); (stdout, the file's text once `done` holds for it, or after 10 s).
fn traced(h: &Hull, args: &[&str], done: impl Fn(&str) -> bool) -> (String, String) {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut all = vec!["--log-level", "debug"];
    all.extend_from_slice(args);
    let o = h
        .cmd(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err.reopen().unwrap())
        .output()
        .unwrap();
    let read = || std::fs::read_to_string(err.path()).unwrap();
    assert!(o.status.success(), "hull {args:?}:\n{}", read());
    hull_e2e::wait_for(10, || done(&read()));
    (String::from_utf8_lossy(&o.stdout).into_owned(), read())
}

/// The id in the traced run's "container created" line.
fn created_id(log: &str) -> String {
    let id = log
        .lines()
        .find(|l| field(l, "msg").as_deref() == Some("container created"))
        .and_then(|l| field(l, "id"))
        .unwrap_or_else(|| panic!("no 'container created' line:\n{log}"));
    assert_eq!(id.len(), 64, "{id}");
    id
}

#[test]
fn the_dns_responder_traces_each_query_with_the_asking_container() {
    let h = Hull::new();
    h.ok(&["network", "create", "tracenet"]);
    // The run is the network's first container: its connect starts the responder, traced.
    let (out, log) = traced(
        &h,
        &[
            "run",
            "--rm",
            "--network",
            "tracenet",
            "--name",
            "asker",
            "busybox",
            "nslookup",
            "asker",
        ],
        |log| log.contains("msg=answered"),
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Name:") && l.contains("asker")),
        "{out}\n{log}"
    );
    let id = created_id(&log);
    assert!(
        log.lines()
            .any(|l| field(l, "span").as_deref() == Some("dns_serve")
                && field(l, "network").as_deref() == Some("tracenet")
                && field(l, "msg").as_deref() == Some("starting the responder")),
        "no responder start line:\n{log}"
    );
    assert!(
        has_line(&log, "hull", "query", &id, "answered"),
        "no answered query from {id}:\n{log}"
    );
    // The container's stdout carries no trace line.
    assert!(!out.contains("level="), "{out}");
    h.ok(&["network", "rm", "tracenet"]);
    h.assert_empty();
}

#[test]
fn the_clock_hook_and_supervisor_trace_with_the_container_id() {
    let h = Hull::new();
    let (out, log) = traced(
        &h,
        &[
            "run",
            "-d",
            "--faketime",
            "@2001-02-03 04:05:06",
            "busybox",
            "date",
            "+%Y",
        ],
        |log| log.contains("supervisor done"),
    );
    let id = out.trim().to_string();
    assert_eq!(id.len(), 64, "{out}\n{log}");
    assert_eq!(h.ok(&["wait", &id]).trim(), "0");
    // The container's output is its own: the hook ran with the container's stderr.
    let logs = h.run(&["logs", &id]);
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("2001\n", ""),
        "{log}"
    );
    for (span, msg) in [
        ("clock_hook", "supervisor ready"),
        ("clock_serve", "supervising the container's init"),
        ("clock_serve", "exec: vDSO patched"),
        ("clock_serve", "no process left: supervisor done"),
    ] {
        assert!(
            has_line(&log, "hull", span, &id, msg),
            "no {span} line {msg:?} for {id}:\n{log}"
        );
    }
    h.ok(&["rm", &id]);
    h.assert_empty();
}
