//! `hull system service` driven by the real docker CLI (`/usr/local/bin/docker`, 28.x, where
//! installed, else Debian's 20.10; $HULL_API_DOCKER chooses another; Debian's 20.10 also for
//! the version negotiation) over `DOCKER_HOST=unix://...`. One service
//! serves the whole file, with its own root, runroot and socket; it is stopped when the test
//! binary exits, and anything it left (processes, mounts) fails the run.
//!
//! Each test looks at what the container's process saw or wrote (its output, its exit code,
//! its stdin, its terminal, a file in a volume), as the docker CLI shows it.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use hull_e2e::api_service::{docker_bin, ok_output, text, Service};
use hull_e2e::client_support::{on_exit, output_with_stdin, wait_until};

static SERVICE: OnceLock<Service> = OnceLock::new();

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let s = Service::start();
        on_exit(|| SERVICE.get().map(Service::teardown).unwrap_or_default());
        s
    })
}

fn hull(s: &Service, args: &[&str]) -> Output {
    s.hull(args)
}

/// The docker CLI at `bin` against the service.
fn client(bin: &str, args: &[&str]) -> Command {
    service().client(bin, args)
}

fn docker_cmd(args: &[&str]) -> Command {
    client(&docker_bin(), args)
}

fn docker(args: &[&str]) -> Output {
    docker_cmd(args).output().unwrap()
}

/// Output of a docker command that must succeed.
fn ok(args: &[&str]) -> String {
    ok_output(docker_cmd(args))
}

fn name(tag: &str) -> String {
    hull_e2e::unique_id(&format!("api-{tag}"))
}

#[test]
fn run_rm_passes_output_and_exit_code_through_and_leaves_nothing() {
    let n = name("rm");
    let o = docker(&[
        "run",
        "--rm",
        "--name",
        &n,
        "busybox",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "to-out\n");
    assert_eq!(text(&o.stderr), "to-err\n");
    // --rm: the service removed it before the client's wait returned.
    let i = docker(&["inspect", &n]);
    assert_eq!(i.status.code(), Some(1));
    assert!(
        text(&i.stderr).contains(&format!("No such object: {n}")),
        "{}",
        text(&i.stderr)
    );
}

#[test]
fn a_detached_container_through_ps_inspect_logs_stop_and_rm() {
    let n = name("d");
    let id = ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "-e",
        "GREETING=from-env",
        "busybox",
        "sh",
        "-c",
        "echo \"$GREETING\"; echo on-err >&2; exec sleep 1000",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let ps = ok(&[
        "ps",
        "--filter",
        &format!("name={n}"),
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    assert_eq!(ps, format!("{n} running\n"));
    let pid = ok(&["inspect", "--format", "{{.State.Pid}}", &n]);
    let pid: i32 = pid.trim().parse().unwrap();
    // The process the API reports is the container's: sleep, in a pid namespace of its own.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(text(&cmdline), "sleep\x001000\0");
    assert_ne!(
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap(),
        std::fs::read_link("/proc/self/ns/pid").unwrap()
    );
    wait_until("the container's output", Duration::from_secs(20), || {
        ok(&["logs", &n]) == "from-env\n"
    });
    let logs = docker(&["logs", &n]);
    assert_eq!(text(&logs.stderr), "on-err\n");
    ok(&["stop", "-t", "1", &n]);
    assert_eq!(
        ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            &n
        ]),
        "exited 137\n"
    );
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    // logs -f of an exited container ends at once; --tail 2: both lines, each on its stream.
    let logs = docker(&["logs", "-f", "--tail", "2", &n]);
    assert_eq!(
        (text(&logs.stdout), text(&logs.stderr)),
        ("from-env\n".into(), "on-err\n".into())
    );
    ok(&["rm", &n]);
    assert_eq!(docker(&["inspect", &n]).status.code(), Some(1));
}

#[test]
fn stdin_reaches_the_container_and_its_end_closes_it() {
    let o = output_with_stdin(
        docker_cmd(&[
            "run",
            "-i",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "tr a-z A-Z; echo end",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()),
        b"hello through the api\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "HELLO THROUGH THE API\nend\n");
}

#[test]
fn a_terminal_gets_the_clients_size_and_the_exit_code() {
    // script(1) gives the client a terminal; the size is set there before the client runs.
    let s = service();
    let line = format!(
        "stty rows 27 cols 93; DOCKER_HOST=unix://{} DOCKER_CONFIG={} {} run -t --rm busybox sh -c 'tty; stty size; exit 4'",
        s.socket().display(),
        s.dir.path().join("docker-config").display(),
        docker_bin()
    );
    let o = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(4), "{out}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines.first(), Some(&"/dev/pts/0"), "{out}");
    // Clients of API 1.42 and later send the size with the create (ConsoleSize); older ones
    // only resize after the start, which a command run at once races (as with dockerd).
    let api = ok(&["version", "--format", "{{.Client.APIVersion}}"]);
    let minor: u32 = api.trim().trim_start_matches("1.").parse().unwrap();
    if minor >= 42 {
        assert_eq!(lines, ["/dev/pts/0", "27 93"], "{out}");
    }
}

#[test]
fn a_named_volume_keeps_what_one_container_wrote_for_the_next() {
    let vol = name("vol");
    let v = format!("{vol}:/data");
    ok(&[
        "run",
        "--rm",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        ok(&["run", "--rm", "-v", &v, "busybox", "cat", "/data/f"]),
        "kept\n"
    );
    hull(service(), &["volume", "rm", &vol]);
}

#[test]
fn wait_start_and_kill_behave_as_dockerd() {
    let n = name("w");
    let id = ok(&["create", "--name", &n, "busybox", "sh", "-c", "exit 7"]);
    assert_eq!(
        ok(&["inspect", "--format", "{{.State.Status}}", &n]),
        "created\n"
    );
    ok(&["start", &n]);
    assert_eq!(ok(&["wait", id.trim()]), "7\n");
    // start -a: the output, and the container's code as the client's.
    let o = docker(&["start", "-a", &n]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    let k = docker(&["kill", &n]);
    assert_eq!(k.status.code(), Some(1));
    assert!(
        text(&k.stderr).contains("is not running"),
        "{}",
        text(&k.stderr)
    );
    ok(&["rm", &n]);
}

#[test]
fn errors_carry_dockers_status_and_the_clients_exit_codes() {
    // 404: docker's words, which the client prints after "Error response from daemon: ".
    let o = docker(&["start", "no-such-api-container"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "Error response from daemon: No such container: no-such-api-container\nError: failed to start containers: no-such-api-container\n"
    );
    // A HostConfig field hull does not carry out: 400 naming it, run's 125, nothing created.
    let n = name("bad");
    let o = docker(&[
        "run",
        "--name",
        &n,
        "--blkio-weight",
        "300",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o.stderr).contains("HostConfig.BlkioWeight: not supported by hull"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(docker(&["inspect", &n]).status.code(), Some(1));
    // 409: a running container is not removed without -f.
    let n = name("busy");
    ok(&["run", "-d", "--name", &n, "busybox", "sleep", "1000"]);
    let o = docker(&["rm", &n]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("container is running"),
        "{}",
        text(&o.stderr)
    );
    ok(&["rm", "-f", &n]);
}

#[test]
fn docker_20_10_negotiates_an_older_version_and_runs() {
    let old = "/usr/bin/docker";
    if !Path::new(old).exists() {
        eprintln!("skipped: {old} (Debian's docker.io) is not installed");
        return;
    }
    let o = client(
        old,
        &[
            "version",
            "--format",
            "{{.Client.APIVersion}} {{.Server.APIVersion}}",
        ],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1.41 1.50\n");
    let o = client(
        old,
        &["run", "--rm", "busybox", "sh", "-c", "echo old; exit 9"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(9), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "old\n");
}

#[test]
fn pause_unpause_and_rename_reach_the_container() {
    let n = name("p");
    ok(&["run", "-d", "--name", &n, "busybox", "sleep", "1000"]);
    let pid: i32 = ok(&["inspect", "--format", "{{.State.Pid}}", &n])
        .trim()
        .parse()
        .unwrap();
    ok(&["pause", &n]);
    // Frozen by the cgroup freezer: its task sleeps in D.
    assert_eq!(hull_e2e::proc_state(pid), Some('D'));
    assert_eq!(
        ok(&["inspect", "--format", "{{.State.Status}}", &n]),
        "paused\n"
    );
    let o = docker(&["pause", &n]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    ok(&["unpause", &n]);
    assert_eq!(hull_e2e::proc_state(pid), Some('S'));
    let renamed = format!("{n}-new");
    ok(&["rename", &n, &renamed]);
    assert_eq!(
        ok(&["inspect", "--format", "{{.Name}}", &renamed]),
        format!("/{renamed}\n")
    );
    assert_eq!(docker(&["inspect", &n]).status.code(), Some(1));
    ok(&["rm", "-f", &renamed]);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

/// `parent`'s children: (pid, comm, state) each, from /proc/PID/stat
/// ("PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses).
fn children(parent: u32) -> Vec<(u32, String, char)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let mut rest = stat[close + 1..].split_whitespace();
        let (state, ppid) = (rest.next(), rest.next());
        if ppid == Some(&parent.to_string()) {
            let pid = stat[..open].trim().parse().unwrap_or(0);
            let state = state.and_then(|s| s.chars().next()).unwrap_or('?');
            out.push((pid, stat[open + 1..close].to_string(), state));
        }
    }
    out
}

/// The pids of `parent`'s children whose command is `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    children(parent)
        .into_iter()
        .filter(|(_, c, _)| c == comm)
        .map(|(pid, _, _)| pid)
        .collect()
}

/// The service's children that have exited and were not reaped: "pid (comm)" each.
fn zombie_children(pid: u32) -> Vec<String> {
    children(pid)
        .into_iter()
        .filter(|(_, _, state)| *state == 'Z')
        .map(|(pid, comm, _)| format!("{pid} ({comm})"))
        .collect()
}

/// A long-lived service reaps what it starts and leaves running (each container's monitor,
/// a network's DNS responder, the runtime's delete): none stays a zombie once its container
/// or network is gone. (A CLI process exits and they are re-parented; the service never does,
/// and every zombie holds a pid.)
#[test]
fn the_service_leaves_no_zombie_children() {
    let pid = service().pid().expect("the service runs");
    let net = name("znet");
    ok(&["network", "create", &net]);
    for _ in 0..3 {
        ok(&["run", "--rm", "--network", &net, "busybox", "true"]);
    }
    let n = name("zd");
    ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        &net,
        "busybox",
        "sleep",
        "60",
    ]);
    ok(&["exec", &n, "true"]);
    ok(&["rm", "-f", &n]);
    ok(&["network", "rm", &net]);
    // Other tests' containers may be ending right now: their monitors are reaped as they go.
    let end = std::time::Instant::now() + Duration::from_secs(15);
    let mut left = zombie_children(pid);
    while !left.is_empty() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
        left = zombie_children(pid);
    }
    assert!(left.is_empty(), "zombie children of the service: {left:?}");
}

/// An idle service starts over (execs itself again, fresh.rs): the monitors its old image
/// started are still its children, with no handle in the new image, and must be reaped when
/// their containers end. A container with a restart policy has no watcher in the service
/// (which would keep it from starting over), and on-failure lets its exit 0 end it. Its own
/// service, so no other test's connection keeps it busy.
#[test]
fn a_service_that_started_over_reaps_its_old_images_children() {
    let s = Service::start();
    let id = ok_output(s.client(
        &docker_bin(),
        &[
            "run",
            "-d",
            "--restart",
            "on-failure",
            "busybox",
            "sleep",
            "8",
        ],
    ));
    let id = id.trim().to_string();
    let pid = s.pid().expect("the service runs");
    // The container's monitor: the service's child.
    let monitor = children_named(pid, "hull-monitor");
    assert_eq!(monitor.len(), 1, "the service's monitors: {monitor:?}");
    // Idle for FRESH_AFTER (2 s): the new image's environment carries the idle time.
    wait_until("the service to start over", Duration::from_secs(20), || {
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|e| {
            e.split(|&b| b == 0)
                .any(|v| v.starts_with(b"HULL_API_IDLE_MS="))
        })
    });
    // While the container runs: the wait `docker run -d` sent ended when the client left,
    // instead of holding a connection (and the service's old image) until the exit.
    let o = s.hull(&["inspect", "--format", "{{.State.Status}}", &id]);
    assert_eq!(
        text(&o.stdout).trim(),
        "running",
        "started over only after the exit"
    );
    wait_until("the container to exit", Duration::from_secs(30), || {
        let o = s.hull(&["inspect", "--format", "{{.State.Status}}", &id]);
        text(&o.stdout).trim() == "exited"
    });
    // The monitor ends just after it recorded the exit: then it must be reaped, not left a
    // zombie of the service.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    let stat = format!("/proc/{}/stat", monitor[0]);
    while Path::new(&stat).exists() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    let left = zombie_children(pid);
    let leftovers = s.teardown();
    assert!(left.is_empty(), "zombie children of the service: {left:?}");
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}
