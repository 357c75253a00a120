//! The API service's exec, top, stats, diff, export, update, prune and events endpoints,
//! driven by the real docker CLI (`/usr/local/bin/docker`, 28.x, where installed, else
//! Debian's 20.10; $HULL_API_DOCKER chooses another) over `DOCKER_HOST=unix://...`. One
//! service serves the whole file (hull_e2e::api_service), and anything it left fails the run.
//!
//! Each test looks at what the container's process saw or wrote (its output, its exit code,
//! its stdin, its terminal, its cgroup, a file it made), as the docker CLI shows it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use hull_e2e::api_service::{docker_bin, ok_output, text, Service};
use hull_e2e::client_support::{on_exit, output_with_stdin, under_pty, wait_until};

static SERVICE: OnceLock<Service> = OnceLock::new();

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let s = Service::start();
        on_exit(|| SERVICE.get().map(Service::teardown).unwrap_or_default());
        s
    })
}

fn docker_cmd(args: &[&str]) -> Command {
    service().client(&docker_bin(), args)
}

fn docker(args: &[&str]) -> Output {
    docker_cmd(args).output().unwrap()
}

/// Output of a docker command that must succeed.
fn ok(args: &[&str]) -> String {
    ok_output(docker_cmd(args))
}

fn name(tag: &str) -> String {
    hull_e2e::unique_id(&format!("apiv-{tag}"))
}

/// A running `sleep` container named `n`.
fn sleeper(n: &str) {
    ok(&["run", "-d", "--name", n, "busybox", "sleep", "1001"]);
}

/// One HTTP request on the service's socket; the answer's status and body.
fn http(method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::os::unix::net::UnixStream::connect(service().socket()).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: hull\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

#[test]
fn exec_passes_streams_and_exit_codes_and_hands_over_no_fd() {
    let n = name("exec");
    sleeper(&n);
    let o = docker(&[
        "exec",
        &n,
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stderr));
    assert_eq!(
        (text(&o.stdout), text(&o.stderr)),
        ("to-out\n".into(), "to-err\n".into())
    );
    // -i: the client's stdin reaches the process, and its end closes it.
    let o = output_with_stdin(
        &mut docker_cmd(&["exec", "-i", &n, "sh", "-c", "cat; echo end"]),
        b"typed\n",
    );
    assert_eq!(text(&o.stdout), "typed\nend\n", "{}", text(&o.stderr));
    // Only the three streams reach the process: no socket, database or log of the service.
    let fds = ok(&["exec", &n, "sh", "-c", "ls /proc/$$/fd; true"]);
    assert_eq!(
        fds.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2"],
        "{fds}"
    );
    // A program that cannot run: docker's 127 and the runtime's reason.
    let o = docker(&["exec", &n, "no-such-program"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no-such-program"),
        "{}",
        text(&o.stderr)
    );
    // -t under a terminal of 30x100: the process has a terminal of that size.
    let line = format!(
        "stty rows 30 cols 100; DOCKER_HOST=unix://{} {} exec -it {n} sh -c 'tty; stty size; exit 4'; echo code=$?",
        service().socket().display(),
        docker_bin()
    );
    let mut sh = Command::new("sh");
    sh.args(["-c", &line]);
    let t = text(&under_pty(&sh).stdout);
    assert!(t.contains("/dev/pts/0"), "{t:?}");
    assert!(t.contains("30 100"), "{t:?}");
    assert!(t.contains("code=4"), "{t:?}");
    // Debian's 20.10 client (API 1.41) execs the same way.
    if std::path::Path::new("/usr/bin/docker").exists() {
        let o = service()
            .client(
                "/usr/bin/docker",
                &["exec", &n, "sh", "-c", "echo old; exit 3"],
            )
            .output()
            .unwrap();
        assert_eq!(
            (o.status.code(), text(&o.stdout)),
            (Some(3), "old\n".into())
        );
    }
    // -d: runs on after the client returned.
    ok(&["exec", "-d", &n, "sh", "-c", "sleep 1; echo done > /tmp/d"]);
    wait_until("exec -d's file", Duration::from_secs(20), || {
        text(&docker(&["exec", &n, "cat", "/tmp/d"]).stdout) == "done\n"
    });
    ok(&["rm", "-f", &n]);
}

#[test]
fn an_exec_instance_is_inspected_after_it_ended() {
    let n = name("inspect");
    sleeper(&n);
    let (st, created) = http(
        "POST",
        &format!("/containers/{n}/exec"),
        r#"{"Cmd":["sh","-c","echo $$ > /tmp/pid; exit 6"],"AttachStdout":true}"#,
    );
    assert_eq!(st, 201, "{created}");
    let v: serde_json::Value = serde_json::from_str(&created).unwrap();
    let id = v["Id"].as_str().unwrap().to_string();
    let (st, body) = http("GET", &format!("/exec/{id}/json"), "");
    assert_eq!(st, 200);
    let before: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (before["Running"].as_bool(), before["ExitCode"].is_null()),
        (Some(false), true)
    );
    // Started through the hijack; the stream ends when the process does.
    let (st, _) = http(
        "POST",
        &format!("/exec/{id}/start"),
        r#"{"Detach":false,"Tty":false}"#,
    );
    assert_eq!(st, 200);
    let (_, body) = http("GET", &format!("/exec/{id}/json"), "");
    let after: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(after["ExitCode"], 6, "{after}");
    assert_eq!(after["Running"], false);
    assert_eq!(after["ProcessConfig"]["entrypoint"], "sh");
    // Its pid is the process's own, as the host numbers it: the container's pid namespace
    // gave it the one it wrote.
    let host_pid = after["Pid"].as_i64().unwrap();
    assert!(host_pid > 0, "{after}");
    let inner = ok(&["exec", &n, "cat", "/tmp/pid"]);
    assert!(!inner.trim().is_empty());
    // A second start is docker's 409; an unknown id its 404.
    assert_eq!(http("POST", &format!("/exec/{id}/start"), "{}").0, 409);
    let (st, body) = http("GET", &format!("/exec/{}/json", "0".repeat(64)), "");
    assert_eq!(st, 404, "{body}");
    assert!(body.contains("No such exec instance"), "{body}");
    ok(&["rm", "-f", &n]);
}

#[test]
fn top_stats_diff_and_export_show_the_containers_processes_and_files() {
    let n = name("fs");
    sleeper(&n);
    let top = ok(&["top", &n, "-o", "pid,comm"]);
    let rows: Vec<&str> = top.lines().collect();
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMMAND"]
    );
    assert_eq!(rows.len(), 2, "only the container's sleep: {top}");
    assert!(rows[1].ends_with("sleep"), "{top}");
    // stats --no-stream: the process count and the memory limit the cgroup has.
    ok(&["update", "--memory", "64m", &n]);
    let s = ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}} {{.MemUsage}}",
        &n,
    ]);
    assert!(s.starts_with(&format!("{n} 1 ")), "{s}");
    assert!(s.trim_end().ends_with("/ 64MiB"), "{s}");
    // Streamed: a second reading comes.
    let mut child = docker_cmd(&["stats", "--format", "{{.Name}} {{.PIDs}}", &n])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let seen: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().all(|l| l.contains(&format!("{n} 1"))),
        "{seen:?}"
    );
    // diff and export: what the container wrote and removed.
    ok(&["exec", &n, "sh", "-c", "echo x > /newfile; rm /bin/arch"]);
    let diff = ok(&["diff", &n]);
    for want in ["A /newfile", "C /bin", "D /bin/arch"] {
        assert!(diff.lines().any(|l| l == want), "{want}: {diff}");
    }
    let tar = docker_cmd(&["export", &n]).output().unwrap();
    assert!(tar.status.success(), "{}", text(&tar.stderr));
    let mut list = Command::new("tar")
        .arg("t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    list.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let names = text(&list.wait_with_output().unwrap().stdout);
    assert!(names.lines().any(|l| l == "newfile"), "{names}");
    assert!(names.lines().any(|l| l == "bin/sh"), "{names}");
    assert!(!names.lines().any(|l| l == "bin/arch"), "{names}");
    ok(&["rm", "-f", &n]);
}

#[test]
fn update_reaches_the_containers_cgroup() {
    let n = name("upd");
    sleeper(&n);
    ok(&["update", "--memory", "48m", "--pids-limit", "33", &n]);
    let inside = ok(&[
        "exec",
        &n,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max",
    ]);
    assert_eq!(
        inside.split_whitespace().collect::<Vec<_>>(),
        [(48 << 20).to_string().as_str(), "33"]
    );
    let o = docker(&["update", "--memory", "1k", &n]);
    assert_ne!(o.status.code(), Some(0));
    ok(&["rm", "-f", &n]);
}

#[test]
fn prune_removes_the_stopped_containers_the_filters_leave_in() {
    let (gone, kept, live) = (name("pg"), name("pk"), name("pl"));
    // This test's containers only: the other tests' share the service.
    let group = format!("group={gone}");
    ok(&["run", "--name", &gone, "--label", &group, "busybox", "true"]);
    ok(&[
        "run", "--name", &kept, "--label", &group, "--label", "keep=1", "busybox", "true",
    ]);
    ok(&[
        "run", "-d", "--name", &live, "--label", &group, "busybox", "sleep", "1001",
    ]);
    let out = ok(&[
        "container",
        "prune",
        "-f",
        "--filter",
        &format!("label={group}"),
        "--filter",
        "label!=keep=1",
    ]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    let ps = ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!ps.lines().any(|l| l == gone), "{ps}");
    assert!(ps.lines().any(|l| l == kept), "{ps}");
    assert!(ps.lines().any(|l| l == live), "{ps}");
    ok(&["rm", "-f", &kept, &live]);
}

#[test]
fn events_show_a_runs_lifecycle_in_the_window_and_filters() {
    let n = name("ev");
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    ok(&["run", "--rm", "--name", &n, "busybox", "true"]);
    let (s, u) = (start.to_string(), (start + 600).to_string());
    // --until in the future: the window ends there; until then the service follows the log.
    // Read what has come, then stop the client.
    let mut child = docker_cmd(&[
        "events",
        "--since",
        &s,
        "--until",
        &u,
        "--filter",
        &format!("container={n}"),
        "--format",
        "{{.Status}} {{.Actor.Attributes.name}}",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let seen: Vec<String> = (0..5).map(|_| lines.next().unwrap().unwrap()).collect();
    let _ = child.kill();
    let _ = child.wait();
    // docker's client attaches before it starts a foreground run: dockerd records `attach`
    // between `create` and `start`.
    let want: Vec<String> = ["create", "attach", "start", "die", "destroy"]
        .iter()
        .map(|a| format!("{a} {n}"))
        .collect();
    assert_eq!(seen, want);
    // A window that has passed ends by itself (the second after the run's events); event=die
    // leaves one line.
    let now = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let die = ok(&[
        "events",
        "--since",
        &s,
        "--until",
        &now,
        "--filter",
        &format!("container={n}"),
        "--filter",
        "event=die",
        "--format",
        "{{.Status}} {{.Actor.Attributes.exitCode}}",
    ]);
    assert_eq!(die, "die 0\n");
}

#[test]
fn cp_copies_files_and_directories_both_ways() {
    let n = name("cp");
    sleeper(&n);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("f.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(d.join("tree/sub")).unwrap();
    std::fs::write(d.join("tree/sub/x"), "deep\n").unwrap();
    let p = |s: &str| d.join(s).display().to_string();
    // Into the container: what its process reads.
    ok(&["cp", &p("f.txt"), &format!("{n}:/tmp/")]);
    ok(&["cp", &p("tree"), &format!("{n}:/tmp/tree2")]);
    let inside = ok(&[
        "exec",
        &n,
        "sh",
        "-c",
        "cat /tmp/f.txt /tmp/tree2/sub/x; stat -c %u:%g /tmp/f.txt",
    ]);
    assert_eq!(inside, "hello\ndeep\n0:0\n");
    // Out of it: a file the process wrote, and a directory.
    ok(&["exec", &n, "sh", "-c", "echo made-inside > /tmp/made"]);
    ok(&["cp", &format!("{n}:/tmp/made"), &p("made")]);
    assert_eq!(
        std::fs::read_to_string(d.join("made")).unwrap(),
        "made-inside\n"
    );
    ok(&["cp", &format!("{n}:/tmp/tree2"), &p("back")]);
    assert_eq!(
        std::fs::read_to_string(d.join("back/sub/x")).unwrap(),
        "deep\n"
    );
    // A missing path: docker's message and exit code.
    let o = docker(&["cp", &format!("{n}:/no-such"), &p("x")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains(&format!(
            "Could not find the file /no-such in container {n}"
        )),
        "{}",
        text(&o.stderr)
    );
    assert!(!d.join("x").exists());
    ok(&["rm", "-f", &n]);
}

#[test]
fn system_df_through_the_socket_counts_what_hull_system_df_counts() {
    let n = name("df");
    let vol = name("dfv");
    ok(&["volume", "create", &vol]);
    ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "-v",
        &format!("{vol}:/data"),
        "busybox",
        "sh",
        "-c",
        "head -c 300000 /dev/zero > /data/f; head -c 200000 /dev/zero > /big; sleep 1001",
    ]);
    wait_until("the files are written", Duration::from_secs(30), || {
        let o = docker(&["exec", &n, "ls", "/big"]);
        o.status.success()
    });
    let fmt = "{{.Type}} {{.TotalCount}} {{.Active}}";
    let through_socket = ok(&["system", "df", "--format", fmt]);
    let o = service().hull(&["system", "df", "--format", fmt]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(through_socket, text(&o.stdout));
    assert!(
        through_socket.contains("Local Volumes "),
        "{through_socket}"
    );
    // The verbose view reads the sizes: the container's own changes and the volume's data.
    let v = ok(&["system", "df", "-v"]);
    let row = |who: &str| {
        v.lines()
            .find(|l| l.contains(who))
            .unwrap_or_else(|| panic!("no row for {who} in:\n{v}"))
            .to_string()
    };
    assert!(row(&n).contains("kB"), "{}", row(&n));
    assert!(
        row(&vol).contains("kB") || row(&vol).contains("MB"),
        "{}",
        row(&vol)
    );
    ok(&["rm", "-f", &n]);
    ok(&["volume", "rm", &vol]);
}

/// The socket and the image of an engine of the pair: hull's service (busybox, seeded), or
/// the pair's private dockerd (the pair's busybox).
fn engine_of(engine: &str) -> (std::path::PathBuf, &'static str) {
    match engine {
        "docker" => (
            hull_e2e::docker_pair::pair().dir.join("d.sock"),
            hull_e2e::docker_pair::IMAGE,
        ),
        _ => (service().socket(), "busybox"),
    }
}

/// The docker CLI against `sock`.
fn cli_on(sock: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(docker_bin());
    c.env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .env("DOCKER_CONFIG", service().dir.path().join("docker-config"))
        .env_remove("DOCKER_API_VERSION")
        .args(args)
        .stdin(Stdio::null());
    c
}

/// One request on `sock` (Connection: close): status and body.
fn http_on(sock: &std::path::Path, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: hull\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// A hijacked request on `sock` (docker's `Upgrade: tcp`): the answer's status and the
/// connection, past the answer's head.
fn hijack_on(
    sock: &std::path::Path,
    path: &str,
    body: &str,
) -> (u16, std::os::unix::net::UnixStream) {
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: hull\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "{}", text(&head));
        head.push(b[0]);
    }
    (text(&head)[9..12].parse().unwrap(), s)
}

/// Reads from `s` until what came contains `want` (or the read timeout fails the test).
fn read_until(s: &mut impl Read, want: &str) -> String {
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    while !text(&got).contains(want) {
        let n = s
            .read(&mut b)
            .unwrap_or_else(|e| panic!("waiting for {want:?}: {e}; got {:?}", text(&got)));
        assert!(n > 0, "ended before {want:?}: {:?}", text(&got));
        got.extend_from_slice(&b[..n]);
    }
    text(&got)
}

/// Whether the server ends the connection (end of file) after what was sent.
fn server_ends(s: &mut std::os::unix::net::UnixStream) -> bool {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).is_ok()
}

/// docker's detach keys on the service beside a private dockerd: an exec with `DetachKeys`
/// and an attach with `detachKeys`, with a terminal, typed by a raw API client (the docker
/// CLI catches the keys itself, so this is what the daemon does): the connection ends, the
/// container runs on, and so does the exec's process under hull (dockerd 20.10 kills it);
/// keys that cannot be read are refused alike.
#[test]
fn detach_keys_of_exec_and_attach_end_the_connection_as_dockerd_does() {
    let mut seen: Vec<Vec<String>> = Vec::new();
    for engine in hull_e2e::docker_pair::ENGINES {
        let (sock, image) = engine_of(engine);
        let n = name(&format!("detach-{engine}"));
        ok_output(cli_on(
            &sock,
            &["run", "-d", "-it", "--name", &n, image, "sh"],
        ));
        let mut record = Vec::new();

        let cmd = r#""Cmd":["sh","-c","while read l; do echo got:$l; done"]"#;
        let (st, body) = http_on(
            &sock,
            "POST",
            &format!("/containers/{n}/exec"),
            &format!(
                r#"{{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true,"DetachKeys":"ctrl-x,x",{cmd}}}"#
            ),
        );
        assert_eq!(st, 201, "{engine}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let id = v["Id"].as_str().unwrap().to_string();
        let (st, mut s) = hijack_on(
            &sock,
            &format!("/exec/{id}/start"),
            r#"{"Detach":false,"Tty":true}"#,
        );
        record.push(format!("exec start: {st}"));
        s.write_all(b"one\n").unwrap();
        read_until(&mut s, "got:one");
        // ctrl-x, then x: the keys; what came before them still reaches the process.
        s.write_all(b"two\n\x18x").unwrap();
        record.push(format!("exec detached: {}", server_ends(&mut s)));
        let (_, body) = http_on(&sock, "GET", &format!("/exec/{id}/json"), "");
        let x: serde_json::Value = serde_json::from_str(&body).unwrap();
        record.push(format!("exec inspect: DetachKeys={}", x["DetachKeys"]));
        // dockerd 20.10 kills the process when the connection ends (the request's context
        // is cancelled: exit code 126); hull leaves it running, as docker documents detach
        // and `hull exec` does (README: where hull differs from docker).
        let ps = ok_output(cli_on(&sock, &["exec", &n, "ps", "-o", "args"]));
        let runs_on = ps.contains("while read l");
        assert_eq!(runs_on, engine == "hull", "{engine}: {ps}");

        let (st, body) = http_on(
            &sock,
            "POST",
            &format!("/containers/{n}/exec"),
            &format!(
                r#"{{"AttachStdin":true,"AttachStdout":true,"Tty":true,"DetachKeys":"ctrl-xx",{cmd}}}"#
            ),
        );
        let msg: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        record.push(format!("bad exec keys: {st} {}", msg["message"]));

        // attach: docker's default keys are not these; the given ones detach.
        let attach = format!("/containers/{n}/attach?stream=1&stdin=1&stdout=1&stderr=1");
        let (st, mut s) = hijack_on(&sock, &format!("{attach}&detachKeys=ctrl-y,y"), "");
        record.push(format!("attach: {st}"));
        s.write_all(b"echo attached-$((1+1))\n").unwrap();
        read_until(&mut s, "attached-2");
        s.write_all(b"\x19y").unwrap();
        record.push(format!("attach detached: {}", server_ends(&mut s)));
        let running = ok_output(cli_on(&sock, &["inspect", "-f", "{{.State.Running}}", &n]));
        record.push(format!("container runs on: {}", running.trim()));
        // Without detachKeys: docker's ctrl-p,ctrl-q.
        let (_, mut s) = hijack_on(&sock, &attach, "");
        s.write_all(b"echo again-$((2+2))\n").unwrap();
        read_until(&mut s, "again-4");
        s.write_all(b"\x10\x11").unwrap();
        record.push(format!(
            "attach detached by default keys: {}",
            server_ends(&mut s)
        ));

        let (st, mut s) = {
            let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
            write!(
                s,
                "POST {attach}&detachKeys=ctrl-xx HTTP/1.1\r\nHost: hull\r\nConnection: close\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            (answer[9..12].to_string(), answer)
        };
        let body = s.split_off(s.find("\r\n\r\n").map_or(0, |i| i + 4));
        record.push(format!("bad attach keys: {st} {}", body.trim()));
        let running = ok_output(cli_on(&sock, &["inspect", "-f", "{{.State.Running}}", &n]));
        record.push(format!("container still runs: {}", running.trim()));
        ok_output(cli_on(&sock, &["rm", "-f", &n]));
        seen.push(record);
    }
    assert_eq!(seen[1], seen[0], "(hull, dockerd)");
    assert!(
        seen[1].contains(&"exec detached: true".to_string()),
        "{:?}",
        seen[1]
    );
}

/// `docker exec -it --detach-keys` typed at a terminal, through the service beside the
/// private dockerd: what the CLI prints and its exit code after the keys, and the process
/// running on.
#[test]
fn docker_exec_it_detaches_on_its_keys_as_with_dockerd() {
    let mut seen: Vec<Vec<String>> = Vec::new();
    for engine in hull_e2e::docker_pair::ENGINES {
        let (sock, image) = engine_of(engine);
        let n = name(&format!("cli-detach-{engine}"));
        ok_output(cli_on(
            &sock,
            &["run", "-d", "--name", &n, image, "sleep", "1001"],
        ));
        // The marker is split so that no echo of the command line matches it.
        let line = format!(
            "DOCKER_HOST=unix://{} {} exec -it --detach-keys ctrl-x,x {n} sh -c 'echo rea\"\"dy; while read l; do echo got:$l; done'; echo exit-code=$?",
            sock.display(),
            docker_bin()
        );
        let mut script = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("DOCKER_CONFIG", service().dir.path().join("docker-config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut input = script.stdin.take().unwrap();
        let mut out = script.stdout.take().unwrap();
        let mut all = read_until(&mut out, "ready");
        input.write_all(b"one\r").unwrap();
        all += &read_until(&mut out, "got:one");
        input.write_all(b"\x18x").unwrap();
        all += &read_until(&mut out, "exit-code=");
        let mut rest = String::new();
        drop(input);
        let _ = out.read_to_string(&mut rest);
        let _ = script.wait();
        all += &rest;
        let tail = all[all.find("got:one").unwrap()..].replace("\r", "");
        let code = tail
            .split("exit-code=")
            .nth(1)
            .and_then(|c| c.split_whitespace().next())
            .unwrap_or("")
            .to_string();
        let ps = ok_output(cli_on(&sock, &["exec", &n, "ps", "-o", "args"]));
        seen.push(vec![
            format!("process runs on: {}", ps.contains("while read l")),
            format!("exit code: {code}"),
            format!(
                "said after the keys: {:?}",
                tail.lines()
                    .skip(1)
                    .filter(|l| !l.contains("exit-code=") && !l.trim().is_empty())
                    .collect::<Vec<_>>()
            ),
        ]);
        ok_output(cli_on(&sock, &["rm", "-f", &n]));
    }
    assert_eq!(seen[1], seen[0], "(hull, dockerd)");
    assert_eq!(seen[1][0], "process runs on: true");
    assert!(
        seen[1].contains(&"process runs on: true".to_string()),
        "{:?}",
        seen[1]
    );
}

/// docker's multiplexed frames in `b`, as (stream, bytes); what is left after the last whole
/// frame is a frame of stream 99.
fn frames(b: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut rest = b;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        if rest[1..4] != [0, 0, 0] || rest.len() < 8 + len {
            break;
        }
        out.push((rest[0], text(&rest[8..8 + len])));
        rest = &rest[8 + len..];
    }
    if !rest.is_empty() {
        out.push((99, text(rest)));
    }
    out
}

/// `POST /containers/{id}/attach?logs=1&stream=0` to an exited container, as the Python SDK's
/// `attach(stream=False, logs=True)` sends it, beside the private dockerd: the logged output
/// comes back (multiplexed frames, one per line, in the streams asked for; raw with a
/// terminal) and the connection ends; `stream=0` without `logs` answers nothing. The reads
/// have a timeout: a server that waits for a start fails the test instead of hanging it.
#[test]
fn attach_with_logs_and_no_stream_answers_an_exited_containers_output_and_ends() {
    let mut seen: Vec<Vec<String>> = Vec::new();
    for engine in hull_e2e::docker_pair::ENGINES {
        let (sock, image) = engine_of(engine);
        let mut record = Vec::new();
        let n = name(&format!("attach-logs-{engine}"));
        let t = name(&format!("attach-logs-tty-{engine}"));
        let script = "echo out1; echo err1 >&2; echo out2; echo err2 >&2";
        for (c, tty) in [(&n, false), (&t, true)] {
            let mut args = vec!["run", "--network", "none", "--name", c];
            if tty {
                args.push("-t");
            }
            args.extend([image, "sh", "-c", script]);
            let o = cli_on(&sock, &args).output().unwrap();
            assert!(o.status.success(), "{engine}: {}", text(&o.stderr));
        }
        for (c, query) in [
            (&n, "logs=1&stream=0&stdout=1&stderr=1"),
            (&n, "logs=1&stream=0&stdout=1"),
            (&n, "logs=1&stream=0&stderr=1"),
            (&n, "stream=0&stdout=1&stderr=1"),
            (&t, "logs=1&stream=0&stdout=1&stderr=1"),
        ] {
            let (st, mut s) = hijack_on(&sock, &format!("/containers/{c}/attach?{query}"), "");
            let mut body = Vec::new();
            let r = s.read_to_end(&mut body);
            assert!(
                r.is_ok(),
                "{engine} {query}: the connection did not end: {r:?}"
            );
            let shown = match c == &t {
                // A terminal's output is raw, each line ending in \r\n.
                true => format!("{:?}", text(&body)),
                false => {
                    // Within a stream, frames come in order; between stdout and stderr,
                    // in the order the engine logged them, which two pipes do not fix.
                    let f = frames(&body);
                    let of = |k: u8| {
                        f.iter()
                            .filter(|(s, _)| *s == k)
                            .cloned()
                            .collect::<Vec<_>>()
                    };
                    format!("stdout {:?} stderr {:?} other {:?}", of(1), of(2), of(99))
                }
            };
            record.push(format!("{query} (tty {}): {st} {shown}", c == &t));
        }
        ok_output(cli_on(&sock, &["rm", "-f", &n, &t]));
        seen.push(record);
    }
    assert_eq!(seen[1], seen[0], "(hull, dockerd)");
    assert!(
        seen[1][0].contains(
            r#"stdout [(1, "out1\n"), (1, "out2\n")] stderr [(2, "err1\n"), (2, "err2\n")]"#
        ),
        "{:?}",
        seen[1]
    );
}
