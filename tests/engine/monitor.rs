//! hull-monitor driven directly, as `hull start` does, with a stand-in runtime: a shell script
//! that answers `run --detach ... --pid-file pid ID` by starting a plain process (the
//! "container") with the stdio it was given and writing its pid. Like runc's, the container
//! is not the script's child: `setsid -f` forks it from a process that exits at once, so the
//! monitor (the subreaper) inherits it. A background job of the script would not do: dash
//! reaps its background children on SIGCHLD, and one that exited before the script did
//! would never reach the monitor. What is checked is what the
//! monitor does around it: frames, stdin, the log, the exit file, the hook and restarts, the
//! signal mask its children start with, and bad input.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hull_monitor::proto;

fn monitor_bin() -> PathBuf {
    // Checks that the monitor is built and fresh (it is its own workspace).
    hull_e2e::hull_bin();
    hull_e2e::bin_dir().join("hull-monitor")
}

/// A bundle directory with the stand-in runtime and a hook that logs its arguments to
/// `hook.log` and answers with the status in `hook.status` (0 when missing), once.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// `container` is the shell command the runtime starts in the background.
    fn new(container: &str) -> Setup {
        let dir = tempfile::Builder::new()
            .prefix("hull-mon-")
            .tempdir()
            .unwrap();
        let d = dir.path().display();
        // The container writes its own pid (to pid.new: the monitor removes `pid` first) and
        // the runtime renames it once written, as runc writes --pid-file before it exits.
        let rt = format!(
            "#!/bin/sh\n\
             grep -E '^Sig(Blk|Ign)' /proc/self/status >> {d}/runtime.sig\n\
             case \"$3\" in\n\
             run) rm -f pid.new; setsid -f sh -c 'echo $$ > pid.new; exec sh {d}/ctr'\n\
                  while [ ! -s pid.new ]; do sleep 0.01; done; mv pid.new pid; exit 0;;\n\
             *) exit 0;;\n\
             esac\n"
        );
        write_exec(&dir.path().join("rt"), &rt);
        std::fs::write(dir.path().join("ctr"), format!("{container}\n")).unwrap();
        let hook = format!(
            "#!/bin/sh\n\
             echo \"$@\" >> {d}/hook.log\n\
             s=$(cat {d}/hook.status 2>/dev/null || echo 0); rm -f {d}/hook.status\n\
             exit $s\n"
        );
        write_exec(&dir.path().join("hook"), &hook);
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Starts the monitor with --sync; `extra` flags go before `--`.
    fn start(&self, extra: &[&str]) -> (Child, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let dir = self.dir.path().to_str().unwrap();
        let mut args = vec!["--id", "c1", "--runtime-root", dir, "--bundle", dir];
        let rt = self.path("rt");
        args.extend(["--runtime", rt.to_str().unwrap(), "--sync"]);
        args.extend(extra);
        let hook = self.path("hook");
        args.extend(["--", hook.to_str().unwrap()]);
        let _g = fork_lock();
        let child = Command::new(monitor_bin())
            .args(&args)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        ours.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        (child, ours)
    }
}

/// Held while a test writes a script and while one starts a process. Without it, a process
/// forked by one test thread while another has a script open for writing holds that fd until
/// it execs, and the script's own exec fails with ETXTBSY ("Text file busy").
static FORK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fork_lock() -> std::sync::MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `cmd`'s status and output, started under the fork lock.
fn output(mut cmd: Command) -> std::process::Output {
    let child = {
        let _g = fork_lock();
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    child.wait_with_output().unwrap()
}

fn write_exec(p: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let _g = fork_lock();
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    proto::encode(kind, payload)
}

/// Frames until EXIT (included) or the end of the stream.
fn frames_to_exit(s: &mut UnixStream) -> Vec<(u8, Vec<u8>)> {
    let mut got = Vec::new();
    while let Some(f) = proto::read_frame(s).expect("frame from the monitor") {
        let end = f.0 == proto::EXIT;
        got.push(f);
        if end {
            break;
        }
    }
    got
}

/// The container's pid from the monitor's first frame, which must be STARTED.
fn started(s: &mut UnixStream) -> i32 {
    let (kind, p) = proto::read_frame(s)
        .unwrap()
        .expect("a frame from the monitor");
    match kind {
        proto::STARTED => proto::payload_i32(&p).unwrap(),
        proto::ERROR => panic!("the monitor failed: {}", String::from_utf8_lossy(&p)),
        k => panic!("frame {k} before STARTED"),
    }
}

fn wait_ok(mut c: Child) {
    let st = c.wait().unwrap();
    assert!(st.success(), "monitor exited with {st}");
}

#[test]
fn stdin_sent_with_go_reaches_the_container_and_its_output_is_logged() {
    let s = Setup::new("cat; echo done >&2");
    let log = s.path("ctr.log");
    let (child, mut sock) = s.start(&["--stdin", "--log", log.to_str().unwrap()]);
    assert!(started(&mut sock) > 0);
    // All in one write: the monitor reads them together with GO.
    let mut w = frame(proto::HELLO, &[proto::WANT_STDOUT | proto::WANT_STDERR]);
    w.extend(frame(proto::GO, &[]));
    w.extend(frame(proto::STDIN, b"hello \"there\"\n"));
    w.extend(frame(proto::STDIN_EOF, &[]));
    sock.write_all(&w).unwrap();
    let got = frames_to_exit(&mut sock);
    let out: Vec<u8> = got
        .iter()
        .filter(|f| f.0 == proto::STDOUT)
        .flat_map(|f| f.1.clone())
        .collect();
    let err: Vec<u8> = got
        .iter()
        .filter(|f| f.0 == proto::STDERR)
        .flat_map(|f| f.1.clone())
        .collect();
    assert_eq!(out, b"hello \"there\"\n");
    assert_eq!(err, b"done\n");
    assert_eq!(
        got.last().map(|f| (f.0, proto::payload_i32(&f.1))),
        Some((proto::EXIT, Some(0)))
    );
    wait_ok(child);
    assert_eq!(s.read("exit"), "0");
    assert!(!s.path("exit.tmp").exists());
    assert_eq!(s.read("hook.log"), "exited c1 0\n");
    let lines: Vec<serde_json::Value> = s
        .read("ctr.log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let out = lines.iter().find(|l| l["stream"] == "stdout").unwrap();
    assert_eq!(out["log"], "hello \"there\"\n");
    let time = out["time"].as_str().unwrap();
    // RFC 3339, UTC, nanoseconds: 2026-11-24T00:17:59.123456789Z
    assert_eq!(
        (time.len(), &time[10..11], &time[19..20], &time[29..]),
        (30, "T", ".", "Z")
    );
    let year: i32 = time[..4].parse().unwrap();
    assert!(year >= 2024, "{time}");
    // The runtime started with nothing blocked and nothing ignored.
    let sig = s.read("runtime.sig");
    assert!(sig.contains("SigBlk:\t0000000000000000"), "{sig}");
    assert!(sig.contains("SigIgn:\t0000000000000000"), "{sig}");
}

#[test]
fn k8s_file_log_and_the_exit_code() {
    let s = Setup::new("echo one; printf two; exit 7");
    let log = s.path("k8s.log");
    let (child, mut sock) = s.start(&["--log", log.to_str().unwrap(), "--log-driver", "k8s-file"]);
    started(&mut sock);
    sock.write_all(&frame(proto::GO, &[])).unwrap();
    let got = frames_to_exit(&mut sock);
    assert_eq!(got.last().map(|f| proto::payload_i32(&f.1)), Some(Some(7)));
    wait_ok(child);
    let text = s.read("k8s.log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with("Z stdout F one"), "{text}");
    assert!(lines[1].ends_with("Z stdout P two"), "{text}");
    assert_eq!(s.read("exit"), "7");
    assert_eq!(s.read("hook.log"), "exited c1 7\n");
}

#[test]
fn hook_status_3_restarts_the_container() {
    let s = Setup::new("exit 3");
    std::fs::write(s.path("hook.status"), "3").unwrap();
    let (child, mut sock) = s.start(&[]);
    started(&mut sock);
    sock.write_all(&frame(proto::GO, &[])).unwrap();
    let got = frames_to_exit(&mut sock);
    assert_eq!(got.last().map(|f| proto::payload_i32(&f.1)), Some(Some(3)));
    wait_ok(child);
    let log = s.read("hook.log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert_eq!(lines[0], "exited c1 3");
    assert!(
        lines[1].starts_with("started c1 ") && lines[1].len() > "started c1 ".len(),
        "{log}"
    );
    assert_eq!(lines[2], "exited c1 3");
}

#[test]
fn a_container_the_runtime_waited_for_ends_with_255_not_a_hang() {
    // This runtime starts the container as its own child and waits for it, so the monitor
    // never gets to reap it: the exit status is lost, and the monitor must say so.
    let s = Setup::new("unused");
    let rt =
        "#!/bin/sh\ncase \"$3\" in\nrun) sh -c 'exit 5' & echo $! > pid; wait;;\nesac\nexit 0\n";
    write_exec(&s.path("rt"), rt);
    let (child, mut sock) = s.start(&[]);
    started(&mut sock);
    sock.write_all(&frame(proto::GO, &[])).unwrap();
    let got = frames_to_exit(&mut sock);
    assert_eq!(
        got.last().map(|f| proto::payload_i32(&f.1)),
        Some(Some(255))
    );
    wait_ok(child);
    assert_eq!(s.read("exit"), "255");
    assert_eq!(s.read("hook.log"), "exited c1 255\n");
}

#[test]
fn bad_input_gives_one_line_and_a_failing_status() {
    let mut cmd = Command::new(monitor_bin());
    cmd.arg("--bogus");
    let out = output(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "hull-monitor: unknown argument \"--bogus\"\n"
    );

    // A missing bundle: the starter learns it through the sync socket.
    let s = Setup::new("true");
    let (ours, theirs) = UnixStream::pair().unwrap();
    let mut cmd = Command::new(monitor_bin());
    cmd.args([
        "--id",
        "c1",
        "--runtime",
        "rt",
        "--bundle",
        "/nonexistent/bundle",
        "--sync",
        "--",
        "h",
    ])
    .stdin(Stdio::from(OwnedFd::from(theirs)));
    let out = output(cmd);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("hull-monitor: monitor: bundle /nonexistent/bundle: No such file"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (kind, msg) = proto::read_frame(&mut &ours).unwrap().unwrap();
    assert_eq!(kind, proto::ERROR);
    assert!(String::from_utf8_lossy(&msg).contains("/nonexistent/bundle"));

    // A runtime that fails to create: its message goes to the starter.
    let rt = s.path("rt");
    std::fs::write(&rt, "#!/bin/sh\necho 'boom: cannot create' >&2\nexit 1\n").unwrap();
    let (child, mut sock) = s.start(&[]);
    let (kind, msg) = proto::read_frame(&mut sock).unwrap().unwrap();
    assert_eq!(kind, proto::ERROR);
    let msg = String::from_utf8_lossy(&msg).into_owned();
    assert_eq!(
        msg,
        format!("runtime {} run: boom: cannot create", rt.display())
    );
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(1));

    // A runtime that does not exist.
    std::fs::remove_file(&rt).unwrap();
    let (child, mut sock) = s.start(&[]);
    let (kind, msg) = proto::read_frame(&mut sock).unwrap().unwrap();
    assert_eq!(kind, proto::ERROR);
    let msg = String::from_utf8_lossy(&msg).into_owned();
    assert!(
        msg.ends_with("No such file or directory (os error 2)"),
        "{msg}"
    );
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(1));
    assert!(!s.path("exit").exists());
}
