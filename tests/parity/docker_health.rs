//! Healthchecks, an image's VOLUMEs, `--volumes-from`, `--link`, `run -a` and their events,
//! against a private dockerd and hull side by side (tests/support/docker_pair.rs). Compared:
//! what a script polls (`inspect --format '{{.State.Health.Status}}'`, `ps` STATUS and
//! `--filter health=`), the files a container sees in its volumes, exit codes, the event
//! actions; bad input fails with docker's exit code and leaves no container.
//!
//! A status that changes is waited for by polling each engine (no fixed sleeps): the change
//! happens while no hull command runs, through the container's monitor.

use std::collections::BTreeSet;
use std::time::Duration;

use hull_e2e::client_support::wait_until;
use hull_e2e::docker_pair::{stderr, stdout, Parity, ENGINES, IMAGE};
use serde_json::Value;

/// The container's State.Health on `engine`.
fn health(t: &Parity, engine: &str, name: &str) -> Value {
    let o = t.p.run(
        engine,
        &["inspect", "--format", "{{json .State.Health}}", name],
    );
    serde_json::from_str(stdout(&o).trim()).unwrap_or(Value::Null)
}

/// Waits on both engines until `ok` holds for the container's health.
fn wait_health(t: &Parity, name: &str, what: &str, ok: impl Fn(&Value) -> bool) {
    for e in ENGINES {
        wait_until(
            &format!("{e}: {name} {what}"),
            Duration::from_secs(60),
            || ok(&health(t, e, name)),
        );
    }
}

fn status(h: &Value) -> &str {
    h["Status"].as_str().unwrap_or("")
}

fn log_len(h: &Value) -> usize {
    h["Log"].as_array().map_or(0, Vec::len)
}

#[test]
fn health_volumes_and_attach_match_docker() {
    let mut t = Parity::new();
    t.same(&["create", "--name", "h-first", IMAGE]);
    let since =
        ENGINES.map(|e| stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", "h-first"])));
    healthchecks(&mut t);
    volumes(&mut t);
    attach_streams(&mut t);
    links(&mut t);
    bad_input(&mut t);
    t.same(&["create", "--name", "h-mark", IMAGE]);
    let until =
        ENGINES.map(|e| stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", "h-mark"])));
    events(&mut t, &since, &until);
    t.same(&["rm", "h-first", "h-mark"]);
    t.done();
}

fn healthchecks(t: &mut Parity) {
    // Failing within a long start period: starting, no streak, however many checks ran.
    t.same(&[
        "run",
        "-d",
        "--name",
        "h-start",
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "--health-start-period",
        "1h",
        IMAGE,
        "sleep",
        "1000",
    ]);
    wait_health(t, "h-start", "ran two checks", |h| log_len(h) >= 2);
    t.same(&[
        "inspect",
        "--format",
        "{{.State.Health.Status}} {{.State.Health.FailingStreak}}",
        "h-start",
    ]);
    t.same(&[
        "ps",
        "--filter",
        "health=starting",
        "--format",
        "{{.Names}}",
    ]);
    let [d, h] = t.ok(&["ps", "--filter", "name=h-start", "--format", "{{.Status}}"]);
    for (e, s) in [("docker", d), ("hull", h)] {
        t.check(
            &format!("{e}: ps status while starting"),
            s.trim().ends_with("(health: starting)"),
            true,
        );
    }
    // The test passes from now on: healthy, by the monitor's next check.
    t.same(&["exec", "h-start", "touch", "/tmp/ok"]);
    wait_health(t, "h-start", "healthy", |h| status(h) == "healthy");
    t.same(&["ps", "--filter", "health=healthy", "--format", "{{.Names}}"]);
    let [d, h] = t.ok(&["ps", "--filter", "name=h-start", "--format", "{{.Status}}"]);
    for (e, s) in [("docker", d), ("hull", h)] {
        t.check(
            &format!("{e}: ps status healthy"),
            s.trim().ends_with("(healthy)"),
            true,
        );
    }

    // dockerd keeps only its last 256 events, and each of its checks writes three (an
    // exec's): the events are compared in a short window, one checked container at a time.
    same_events(t, "h-start", &["health_status", "touch /tmp/ok"]);
    t.same(&["rm", "-f", "h-start"]);

    // Failing: unhealthy after the retries; the test's exit code and output in the log.
    t.same(&[
        "run",
        "-d",
        "--name",
        "h-bad",
        "--health-cmd",
        "echo sick; exit 3",
        "--health-interval",
        "100ms",
        "--health-retries",
        "2",
        IMAGE,
        "sleep",
        "1000",
    ]);
    wait_health(t, "h-bad", "unhealthy", |h| status(h) == "unhealthy");
    // The same document (hull's JSON keys come sorted).
    let cfg = ENGINES.map(|e| {
        let args = [
            "inspect",
            "--format",
            "{{json .Config.Healthcheck}}",
            "h-bad",
        ];
        let o = t.p.run(e, &args);
        serde_json::from_str::<Value>(stdout(&o).trim()).unwrap_or(Value::Null)
    });
    t.check("h-bad: Config.Healthcheck", cfg[1].clone(), cfg[0].clone());
    let last = ENGINES.map(|e| {
        let h = health(t, e, "h-bad");
        let l = &h["Log"][log_len(&h).saturating_sub(1)];
        (
            l["ExitCode"].as_i64(),
            l["Output"].as_str().map(String::from),
            h["FailingStreak"].as_u64().unwrap_or(0) >= 2,
        )
    });
    t.check("h-bad: last check", last[1].clone(), last[0].clone());
    t.same(&[
        "ps",
        "--filter",
        "health=unhealthy",
        "--format",
        "{{.Names}}",
    ]);
    same_events(t, "h-bad", &["health_status"]);
    t.same(&["rm", "-f", "h-bad"]);

    // A check that hangs fails at its timeout, and (hull) is killed then. docker 20.10 waits
    // for a timed-out check's process to end before it records the timeout (it does not
    // kill it), so the check sleeps 2 s, not forever: a longer one kept docker's container
    // "starting" past the wait under CI's load.
    t.same(&[
        "run",
        "-d",
        "--name",
        "h-slow",
        "--health-cmd",
        "sleep 2",
        "--health-timeout",
        "200ms",
        "--health-interval",
        "100ms",
        "--health-retries",
        "2",
        IMAGE,
        "sleep",
        "1000",
    ]);
    wait_health(t, "h-slow", "unhealthy", |h| status(h) == "unhealthy");
    let first = ENGINES.map(|e| {
        let h = health(t, e, "h-slow");
        (
            h["Log"][0]["ExitCode"].as_i64(),
            h["Log"][0]["Output"].clone(),
        )
    });
    t.check(
        "h-slow: a timed-out check",
        first[1].clone(),
        first[0].clone(),
    );
    let ps = stdout(&t.p.run("hull", &["exec", "h-slow", "ps", "-o", "args"]));
    // Not killed, a 2 s check every 100 ms after a 200 ms timeout would pile up several.
    let hung = ps.lines().filter(|l| l.trim() == "sleep 2").count();
    t.check(
        "hull: timed-out checks left running (at most the current one)",
        hung <= 1,
        true,
    );

    // --no-healthcheck: the image's or none, no Health.
    t.same(&["run", "--rm", "--no-healthcheck", IMAGE, "true"]);
    t.same(&["rm", "-f", "h-slow"]);
}

/// The events of container `name` from its creation to now whose action holds one of
/// `kinds`, the same set on both engines.
fn same_events(t: &mut Parity, name: &str, kinds: &[&str]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let until = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    let got = ENGINES.map(|e| {
        let since = stdout(&t.p.run(e, &["inspect", "--format", "{{.Created}}", name]));
        let filter = format!("container={name}");
        let args = [
            "events",
            "--since",
            since.trim(),
            "--until",
            &until,
            "--filter",
            &filter,
            "--format",
            "{{.Action}}",
        ];
        stdout(&t.p.run(e, &args))
            .lines()
            .filter(|l| kinds.iter().any(|k| l.contains(k)))
            .map(String::from)
            .collect::<BTreeSet<_>>()
    });
    t.check(&format!("{name}: events"), got[1].clone(), got[0].clone());
}

/// The volume names on `engine`.
fn volume_names(t: &Parity, engine: &str) -> BTreeSet<String> {
    stdout(&t.p.run(engine, &["volume", "ls", "-q"]))
        .lines()
        .map(String::from)
        .collect()
}

fn volumes(t: &mut Parity) {
    let ctx = t.p.dir.join("ctx-health");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("f"), "seeded\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {IMAGE}\nCOPY f /data/f\nVOLUME /data\n"),
    )
    .unwrap();
    let ctx = ctx.display().to_string();
    for e in ENGINES {
        let mut c = t.p.cmd(e);
        c.env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", "h-vol:1", &ctx]);
        let o = hull_e2e::client_support::output_via_files(&mut c);
        assert!(o.status.success(), "{e} build: {}", stderr(&o));
    }
    let before = ENGINES.map(|e| volume_names(t, e));
    // The image's content seeds the anonymous volume; --rm removes it.
    t.same(&[
        "run",
        "--rm",
        "h-vol:1",
        "sh",
        "-c",
        "cat /data/f; mount | grep -c ' /data '",
    ]);
    let after = ENGINES.map(|e| volume_names(t, e));
    t.check("run --rm leaves no volume", after.clone(), before.clone());

    // --volumes-from sees the other's volume (data and writes), read-only with :ro.
    t.same(&[
        "run",
        "--name",
        "h-src",
        "h-vol:1",
        "sh",
        "-c",
        "echo more > /data/g",
    ]);
    let made = ENGINES.map(|e| volume_names(t, e).len());
    let was = before.clone().map(|b| b.len() + 1);
    t.check("one anonymous volume for h-src", made, was);
    t.same(&[
        "run",
        "--rm",
        "--volumes-from",
        "h-src",
        IMAGE,
        "cat",
        "/data/f",
        "/data/g",
    ]);
    t.same_code(&[
        "run",
        "--rm",
        "--volumes-from",
        "h-src:ro",
        IMAGE,
        "touch",
        "/data/x",
    ]);
    t.same(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Type}} {{.Destination}} {{.RW}}{{end}}",
        "h-src",
    ]);
    t.same(&["rm", "-v", "h-src"]);
    let gone = ENGINES.map(|e| volume_names(t, e));
    t.check("rm -v removes the anonymous volume", gone, before);
    t.ok(&["rmi", "h-vol:1"]);
}

/// `run -a stdout`: only the container's stdout reaches us.
fn attach_streams(t: &mut Parity) {
    let args = [
        "run",
        "--rm",
        "-a",
        "stdout",
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2",
    ];
    t.same(&args);
    for (e, o) in ENGINES.iter().zip(t.both(&args)) {
        t.check(
            &format!("{e}: -a stdout shows no stderr"),
            stderr(&o).contains("err"),
            false,
        );
    }
}

/// `--link NAME:ALIAS` (hull alone: the pair's dockerd runs without its bridge, where
/// links live): the alias resolves, inside, to the linked container's address.
fn links(t: &mut Parity) {
    let hull = |args: &[&str]| t.p.run("hull", args);
    let o = hull(&["run", "-d", "--name", "h-db", IMAGE, "sleep", "1000"]);
    assert!(o.status.success(), "run h-db: {}", stderr(&o));
    let ip = stdout(&hull(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        "h-db",
    ]));
    let o = hull(&[
        "run",
        "--rm",
        "--link",
        "h-db:db",
        IMAGE,
        "sh",
        "-c",
        "ping -c1 -W5 db >/dev/null && grep -w db /etc/hosts",
    ]);
    t.check("hull --link: db pings", o.status.code(), Some(0));
    t.check(
        "hull --link: db is h-db's address",
        stdout(&o).split_whitespace().next().map(String::from),
        Some(ip.trim().to_string()),
    );
    let o = hull(&["rm", "-f", "h-db"]);
    assert!(o.status.success(), "rm h-db: {}", stderr(&o));
}

fn bad_input(t: &mut Parity) {
    let count = |t: &Parity| ENGINES.map(|e| stdout(&t.p.run(e, &["ps", "-aq"])).lines().count());
    let before = count(t);
    for args in [
        vec![
            "run",
            "--health-interval",
            "-1s",
            "--health-cmd",
            "true",
            IMAGE,
        ],
        vec!["run", "--health-interval", "-1", IMAGE],
        vec![
            "run",
            "--health-retries",
            "-2",
            "--health-cmd",
            "true",
            IMAGE,
        ],
        vec!["run", "--no-healthcheck", "--health-cmd", "true", IMAGE],
        vec!["run", "--volumes-from", "h-nosuch", IMAGE, "true"],
        vec!["run", "-d", "-a", "stdout", IMAGE, "true"],
        vec!["run", "-a", "nosuch", IMAGE, "true"],
        vec!["run", "--link", "h-nosuch:x", IMAGE, "true"],
    ] {
        let [_, h] = t.same_code(&args);
        let lines = stderr(&h)
            .lines()
            .filter(|l| !l.starts_with("See "))
            .count();
        t.check(&format!("hull {args:?}: one line"), lines, 1);
    }
    t.check("bad input leaves no container", count(t), before);
}

/// The volume and attach events in the window, as sets of `Type Action` (the healthchecks'
/// were compared in their own windows: dockerd's buffer has lost them by now).
fn events(t: &mut Parity, since: &[String; 2], until: &[String; 2]) {
    let got = ENGINES
        .iter()
        .zip(since.iter().zip(until))
        .map(|(e, (s, u))| {
            let o = t.p.run(
                e,
                &[
                    "events",
                    "--since",
                    s,
                    "--until",
                    u,
                    "--format",
                    "{{.Type}} {{.Action}}",
                ],
            );
            stdout(&o)
                .lines()
                .filter(|l| l.starts_with("volume ") || l.ends_with(" attach"))
                .map(String::from)
                .collect::<BTreeSet<_>>()
        });
    let got: Vec<BTreeSet<String>> = got.collect();
    t.check("events: new kinds", got[1].clone(), got[0].clone());
}
