//! `hullrt exec`, terminals over --console-socket, preserved fds, `kill --all` and the signal
//! state a process starts with, each checked from inside the container. (The rest of the
//! command line the clients use: tests/runtime/runtime_cli.rs.)

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hull_e2e::bundle::text;
use hull_e2e::{hullrt_path, ns_of, unique_id, Bundle};
use serde_json::json;

/// A container running `sleep 1000` (detached), deleted with --force when dropped.
struct Running {
    b: Bundle,
    id: String,
}

impl Running {
    fn new(prefix: &str, edit: impl FnOnce(&mut Bundle)) -> Running {
        let mut b = Bundle::new("true");
        b.config["process"]["args"] = json!(["sleep", "1000"]);
        edit(&mut b);
        let id = unique_id(prefix);
        let (code, _, err) = text(&b.hullrt(&["run", "-d", &id]));
        assert_eq!(code, 0, "run -d: {err}");
        Running { b, id }
    }

    fn pid(&self) -> i64 {
        self.b.state(&self.id)["pid"].as_i64().expect("pid")
    }

    /// `hullrt exec [FLAGS] ID sh -c SCRIPT`.
    fn exec(&self, flags: &[&str], script: &str) -> (i32, String, String) {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&self.id, "sh", "-c", script]);
        text(&self.b.hullrt(&args))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.b.hullrt(&["delete", "--force", &self.id]);
    }
}

#[test]
fn exec_joins_every_namespace_and_the_cgroup() {
    let r = Running::new("exj", |b| {
        b.namespaces(&["mount", "uts", "ipc", "pid", "network", "cgroup"]);
        b.config["hostname"] = json!("exec-box");
    });
    let init = r.pid().to_string();
    let (code, out, err) = r.exec(
        &[],
        "for n in mnt uts ipc pid net cgroup; do echo $n=$(readlink /proc/self/ns/$n); done; \
         hostname; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; echo; \
         test \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" && echo same-cgroup",
    );
    assert_eq!(code, 0, "{err}");
    for ns in ["mnt", "uts", "ipc", "pid", "net", "cgroup"] {
        let want = format!("{ns}={}", ns_of(&init, ns));
        assert!(out.lines().any(|l| l == want), "{want} not in {out}");
    }
    assert!(out.contains("exec-box\n"), "{out}");
    // A new process in the container's pid namespace: its init is pid 1, the exec is not.
    assert!(out.contains("sleep 1000"), "{out}");
    assert!(!out.contains("pid=1\n"), "{out}");
    assert!(out.contains("same-cgroup"), "{out}");
}

#[test]
fn exec_exit_codes_follow_the_process() {
    let r = Running::new("excode", |_| {});
    assert_eq!(r.exec(&[], "exit 5").0, 5);
    assert_eq!(r.exec(&[], "kill -9 $$").0, 137);
    let (code, _, err) = text(&r.b.hullrt(&["exec", &r.id, "/no/such/prog"]));
    assert_ne!(code, 0);
    assert!(err.contains("/no/such/prog"), "{err}");
}

#[test]
fn exec_user_env_cwd_caps_and_no_new_privs() {
    let r = Running::new("exuser", |b| {
        b.config["process"]["env"] = json!(["PATH=/bin", "KEEP=1", "FOO=old"]);
    });
    let (code, out, err) = r.exec(
        &[
            "--user",
            "1000:1001",
            "--env",
            "FOO=bar",
            "--cwd",
            "/tmp",
            "--cap",
            "CAP_NET_ADMIN",
            "--no-new-privs",
        ],
        "id -u; id -g; echo $FOO $KEEP; pwd; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..4], &["1000", "1001", "bar 1", "/tmp"], "{out}");
    let eff = lines[4].split_whitespace().nth(1).unwrap();
    let eff = u64::from_str_radix(eff, 16).unwrap();
    assert_ne!(eff & (1 << 12), 0, "CAP_NET_ADMIN not effective: {out}");
    assert_ne!(eff & (1 << 5), 0, "CAP_KILL from the config lost: {out}");
    assert_eq!(lines[5].split_whitespace().nth(1), Some("1"), "{out}");
}

#[test]
fn exec_process_file_and_rlimits() {
    let r = Running::new("exproc", |b| {
        b.config["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "hard": 300, "soft": 200}]);
    });
    // The container's rlimits apply to a process built from the config...
    assert_eq!(r.exec(&[], "ulimit -n").1, "200\n");
    // ...and --process takes the whole process from the file.
    let p = json!({
        "args": ["sh", "-c", "echo $WHO; pwd; ulimit -n; id -u"],
        "env": ["PATH=/bin", "WHO=from-file"],
        "cwd": "/etc",
        "user": {"uid": 7, "gid": 7},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 100, "soft": 50}],
    });
    let f = r.b.path().join("process.json");
    std::fs::write(&f, p.to_string()).unwrap();
    let (code, out, err) = text(&r.b.hullrt(&["exec", "--process", f.to_str().unwrap(), &r.id]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from-file\n/etc\n50\n7\n");
}

#[test]
fn exec_detached_writes_the_pid_file() {
    let r = Running::new("exdet", |_| {});
    let pf = r.b.path().join("exec.pid");
    let (code, _, err) = text(&r.b.hullrt(&[
        "exec",
        "--detach",
        "--pid-file",
        pf.to_str().unwrap(),
        &r.id,
        "sleep",
        "77",
    ]));
    assert_eq!(code, 0, "{err}");
    let pid = std::fs::read_to_string(&pf).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    // Its NSpid line has two entries: the host's pid and the one in the container.
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(nspid.split_whitespace().count(), 3, "{nspid}");
    let (_, out, _) = r.exec(&[], "ps -o args | grep -c '^sleep 77'");
    assert_eq!(out.trim(), "1");
}

#[test]
fn exec_gets_the_containers_seccomp_filter() {
    let r = Running::new("exsec", |b| {
        b.config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
        });
    });
    let (code, _, err) = r.exec(&[], "mkdir /tmp/nope");
    assert_ne!(code, 0);
    assert!(err.contains("not permitted"), "{err}");
}

#[test]
fn exec_in_a_stopped_container_fails() {
    let b = Bundle::new("true");
    let id = unique_id("exstop");
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    std::thread::sleep(Duration::from_millis(300));
    let (code, _, err) = text(&b.hullrt(&["exec", &id, "true"]));
    assert_ne!(code, 0);
    assert!(err.contains("stopped"), "{err}");
    let _ = b.hullrt(&["delete", "--force", &id]);
}

/// A console socket as containerd's shim and conmon listen on one.
struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    fn new(dir: &Path) -> ConsoleSocket {
        let path = dir.join("console.sock");
        let listener = UnixListener::bind(&path).unwrap();
        ConsoleSocket { listener, path }
    }

    /// One whose path is too long for a socket address (108 bytes), as a caller with a deep
    /// state directory may pass: bound here through its directory's /proc/self/fd entry.
    fn deep(dir: &Path) -> ConsoleSocket {
        let deep = dir.join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let path = deep.join("console.sock");
        assert!(path.as_os_str().len() >= 108);
        let d = std::fs::File::open(&deep).unwrap();
        let short = format!("/proc/self/fd/{}/console.sock", d.as_raw_fd());
        let listener = UnixListener::bind(short).unwrap();
        ConsoleSocket { listener, path }
    }

    /// The pty master sent with SCM_RIGHTS, and the message's payload.
    fn receive(&self) -> (OwnedFd, String) {
        let mut fds = [nix::poll::PollFd::new(
            self.listener.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ready = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(30_000u16)).unwrap();
        assert_eq!(
            ready,
            1,
            "the runtime never connected to {}",
            self.path.display()
        );
        let (conn, _) = self.listener.accept().unwrap();
        let (buf, fd) = hull_e2e::recv_with_fd(&conn);
        (fd, String::from_utf8_lossy(&buf).into_owned())
    }
}

/// Types `input` on the terminal and reads what it shows until it closes (or 10 s pass).
fn converse(master: &OwnedFd, input: &str) -> String {
    nix::unistd::write(master, input.as_bytes()).unwrap();
    let mut out = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let mut fds = [nix::poll::PollFd::new(
            master.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, 200u16) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(_) => break,
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(master, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn terminal_over_console_socket_at_create() {
    let mut b = Bundle::new("true");
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["args"] = json!(["sh"]);
    b.config["process"]["consoleSize"] = json!({"height": 33, "width": 101});
    let sock = ConsoleSocket::new(b.path());
    let id = unique_id("tty");
    let (code, _, err) = text(&b.hullrt(&[
        "create",
        "--console-socket",
        sock.path.to_str().unwrap(),
        &id,
    ]));
    assert_eq!(code, 0, "create: {err}");
    let (master, name) = sock.receive();
    assert!(name.starts_with("/dev/pts/"), "payload {name:?}");
    assert!(b.hullrt(&["start", &id]).status.success());
    let out = converse(
        &master,
        "stty size; tty; stat -c 'console=%t,%T' /dev/console; \
         test -t 0 && test -t 1 && test -t 2 && echo all-tty; exit 0\n",
    );
    assert!(out.contains("33 101"), "{out}");
    assert!(out.contains("/dev/pts/0"), "{out}");
    // The slave is bind-mounted at /dev/console: a pty slave's major number is 136 (0x88).
    assert!(out.contains("console=88,0"), "{out}");
    assert!(out.contains("all-tty"), "{out}");
    let _ = b.hullrt(&["delete", "--force", &id]);
}

#[test]
fn exec_with_a_terminal_over_console_socket() {
    let r = Running::new("extty", |_| {});
    let sock = ConsoleSocket::deep(r.b.path());
    let mut child = Command::new(hullrt_path())
        .arg("--root")
        .arg(&r.b.root)
        .args(["exec", "-t", "--console-socket"])
        .arg(&sock.path)
        .args([&r.id, "sh"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (master, _) = sock.receive();
    let out = converse(&master, "tty; test -t 0 && echo stdin-tty; exit 9\n");
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("stdin-tty"), "{out}");
    assert_eq!(child.wait().unwrap().code(), Some(9));
}

#[test]
fn terminal_without_console_socket() {
    let mut b = Bundle::new("echo fine");
    b.config["process"]["terminal"] = json!(true);
    // `create` would detach: a terminal needs somewhere to go.
    let (code, _, err) = text(&b.hullrt(&["create", &unique_id("notty")]));
    assert_eq!(code, 1);
    assert!(err.contains("console-socket"), "{err}");
    // `run` in the foreground hands the process our own stdio.
    assert_eq!(b.run_ok(&unique_id("runtty")), "fine\n");
}

/// Runs `hullrt ARGS` from a shell that first opens fd 3 on `file` (and, with `listen`, says
/// the fd is a socket-activation fd for hullrt, whose pid the shell's `exec` keeps).
fn with_fd3(b: &Bundle, file: &Path, listen: bool, args: &str) -> (i32, String, String) {
    b.save();
    let env = if listen {
        "LISTEN_FDS=1 LISTEN_PID=$$ "
    } else {
        ""
    };
    let script = format!(
        "exec 3<{}; {env}exec {} --root {} {args}",
        file.display(),
        hullrt_path().display(),
        b.root.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(b.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    text(&out)
}

#[test]
fn preserve_fds_and_listen_fds_reach_the_process() {
    let mut b = Bundle::new("cat <&3; echo; echo LISTEN=$LISTEN_FDS,$LISTEN_PID; ls /proc/self/fd");
    b.namespaces(&["mount", "pid"]);
    b.config["hostname"] = json!(null);
    let data = b.path().join("fd3.txt");
    std::fs::write(&data, "through fd 3").unwrap();
    let (code, out, err) = with_fd3(
        &b,
        &data,
        false,
        &format!("run --preserve-fds 1 {}", unique_id("pfd")),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("through fd 3\nLISTEN=,\n"), "{out}");
    let (code, out, err) = with_fd3(&b, &data, true, &format!("run {}", unique_id("lfd")));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("through fd 3\nLISTEN=1,1\n"), "{out}");
    // Without either, fd 3 is closed in the container.
    let (_, out, _) = with_fd3(&b, &data, false, &format!("run {}", unique_id("nofd")));
    assert!(!out.contains("through fd 3"), "{out}");
    // exec --preserve-fds too.
    let r = Running::new("expfd", |_| {});
    let (code, out, err) = with_fd3(
        &r.b,
        &data,
        false,
        &format!("exec --preserve-fds 1 {} cat /proc/self/fd/3", r.id),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "through fd 3");
}

#[test]
fn kill_all_reaches_every_process_in_the_cgroup() {
    // No pid namespace: killing init alone would leave its children running.
    let r = Running::new("killall", |b| {
        b.config["process"]["args"] = json!(["sh", "-c", "sleep 1001 & sleep 1002 & wait"]);
        b.namespaces(&["mount", "uts", "ipc"]);
    });
    std::thread::sleep(Duration::from_millis(200));
    let procs = |cmdline: &str| {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == cmdline)
            })
            .count()
    };
    assert_eq!(procs("sleep 1001"), 1);
    let (code, _, err) = text(&r.b.hullrt(&["kill", "--all", &r.id, "KILL"]));
    assert_eq!(code, 0, "{err}");
    let end = Instant::now() + Duration::from_secs(5);
    while (procs("sleep 1001") + procs("sleep 1002")) > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(procs("sleep 1001") + procs("sleep 1002"), 0);
    assert_eq!(r.b.state(&r.id)["status"], "stopped");
}

/// `hullrt ARGS` started with SIGUSR1 blocked and SIGPIPE and SIGUSR2 ignored, as a caller
/// in Rust (SIGPIPE) or one forwarding signals (a blocked mask) starts it.
fn hullrt_with_signals_set(b: &Bundle, args: &[&str]) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    b.save();
    let mut cmd = Command::new(hullrt_path());
    cmd.arg("--root")
        .arg(&b.root)
        .args(args)
        .current_dir(b.path())
        .stdin(Stdio::null());
    // SAFETY: only sigprocmask and signal (async-signal-safe) run between fork and exec, on
    // stack values.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            Ok(())
        });
    }
    text(&cmd.output().unwrap())
}

#[test]
fn the_process_starts_with_no_signal_blocked_or_ignored() {
    // grep itself, not through a shell, which may set dispositions of its own.
    let show = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"];
    let clean = "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n";
    // The container's init.
    let mut b = Bundle::new("true");
    b.config["process"]["args"] = json!(show);
    let (code, out, err) = hullrt_with_signals_set(&b, &["run", &unique_id("sigs")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, clean);
    // An exec'd process.
    let r = Running::new("sigsx", |_| {});
    let mut args = vec!["exec", &r.id];
    args.extend(show);
    let (code, out, err) = hullrt_with_signals_set(&r.b, &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, clean);
}
