//! hullrt under containerd's own client: `ctr run --runc-binary` drives containerd-shim-runc-v2
//! with hullrt, and with runc as the control (a failure with both is the test's or the
//! environment's, not hullrt's). One private containerd (no CRI plugin; root, state and socket
//! in a temp dir) serves the whole file, with a busybox image imported into the native
//! snapshotter: no registry, no network. It is stopped when the test binary exits, and what
//! it left behind (shims, mounts) fails the run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hull_e2e::client_support::{
    leftovers, on_exit, out_text, require, runtimes, wait_until, ContainerdDaemon,
};
use hull_e2e::image::busybox_archive;
use hull_e2e::unmount_under;

const IMAGE: &str = "hull.test/busybox:latest";

/// The file's containerd, and the namespace its tests use.
struct Containerd {
    dir: PathBuf,
    daemon: Mutex<Option<ContainerdDaemon>>,
    sock: PathBuf,
    ns: String,
}

static CONTAINERD: OnceLock<Containerd> = OnceLock::new();

impl Containerd {
    fn get() -> &'static Containerd {
        CONTAINERD.get_or_init(|| {
            let c = Containerd::start();
            on_exit(|| {
                CONTAINERD
                    .get()
                    .map(Containerd::teardown)
                    .unwrap_or_default()
            });
            c
        })
    }

    fn start() -> Containerd {
        require("ctr");
        let dir = tempfile::Builder::new()
            .prefix("hull-ctd-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let daemon = ContainerdDaemon::start(&dir, None);
        let c = Containerd {
            sock: daemon.sock.clone(),
            daemon: Mutex::new(Some(daemon)),
            ns: format!("hull-{}", std::process::id()),
            dir,
        };
        let image = busybox_archive(&c.dir, IMAGE);
        let o = c.ctr(&[
            "images",
            "import",
            "--snapshotter",
            "native",
            image.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "import: {}", out_text(&o));
        c
    }

    /// Removes the tasks and containers left by failed tests, stops containerd, and
    /// returns what is left.
    fn teardown(&self) -> Vec<String> {
        let tasks = self.ctr(&["task", "ls", "-q"]);
        for id in String::from_utf8_lossy(&tasks.stdout).lines() {
            self.remove(id.trim());
        }
        if let Some(mut d) = self.daemon.lock().unwrap().take() {
            d.stop();
        }
        let left = leftovers(&self.dir.to_string_lossy(), None);
        unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(require("ctr"));
        c.arg("--address")
            .arg(&self.sock)
            .arg("--namespace")
            .arg(&self.ns);
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.cmd().args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `ctr run --rm --snapshotter native --runc-binary BIN [extra] IMAGE ID ARGS...`
    fn run(&self, bin: &Path, extra: &[&str], id: &str, args: &[&str]) -> Output {
        let mut v = vec!["run", "--rm", "--snapshotter", "native", "--runc-binary"];
        let bin = bin.to_str().unwrap();
        v.push(bin);
        v.extend_from_slice(extra);
        v.push(IMAGE);
        v.push(id);
        v.extend_from_slice(args);
        self.ctr(&v)
    }

    /// A detached task running `sleep 1000`.
    fn run_detached(&self, bin: &Path, id: &str) {
        let o = self.ctr(&[
            "run",
            "-d",
            "--snapshotter",
            "native",
            "--runc-binary",
            bin.to_str().unwrap(),
            IMAGE,
            id,
            "sleep",
            "1000",
        ]);
        assert!(o.status.success(), "ctr run -d: {}", out_text(&o));
    }

    fn remove(&self, id: &str) {
        let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
        wait_until("the task to stop", Duration::from_secs(10), || {
            !String::from_utf8_lossy(&self.ctr(&["task", "ls"]).stdout)
                .lines()
                .any(|l| l.starts_with(id) && l.contains("RUNNING"))
        });
        let _ = self.ctr(&["task", "delete", id]);
        let _ = self.ctr(&["container", "rm", id]);
    }
}

#[test]
fn containerd_exit_codes() {
    let c = Containerd::get();
    for (name, bin) in runtimes() {
        let id = format!("exit-{name}");
        let o = c.run(&bin, &[], &id, &["sh", "-c", "echo hello; id -u; exit 7"]);
        assert_eq!(o.status.code(), Some(7), "{name}: {}", out_text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "hello\n0\n", "{name}");
        let o = c.run(&bin, &[], &format!("{id}-0"), &["true"]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", out_text(&o));
    }
}

#[test]
fn containerd_terminal_session() {
    let c = Containerd::get();
    require("script");
    for (name, bin) in runtimes() {
        // `ctr run -t` needs a terminal of its own: `script` gives it one. The process waits
        // a second before it exits, as in the exec tests below (containerd#5741): runc lost
        // this session's output and exit code once in CI without it.
        let cmd = c.cmd();
        let ctr: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let line = format!(
            "{} {} run --rm -t --snapshotter native --runc-binary {} {IMAGE} tty-{name} \
             sh -c 'tty; test -t 0 && echo stdin-is-tty; stty size; sleep 1; exit 3'",
            cmd.get_program().to_string_lossy(),
            ctr.join(" "),
            bin.display()
        );
        let o = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(3), "{name}: {}", out_text(&o));
        assert!(out.contains("/dev/pts/0"), "{name}: {out}");
        assert!(out.contains("stdin-is-tty"), "{name}: {out}");
    }
}

/// containerd's client can drop the output of an exec'd process that exits right after
/// printing (containerd#5741: the client stops copying once it sees the exit). Measured here
/// under load, 60 quick execs each: hullrt lost 0, runc 1. So the process lingers a moment
/// after printing; what is checked is hullrt's part (output, exit code, ps, kill).
#[test]
fn containerd_task_exec_ps_kill() {
    let c = Containerd::get();
    for (name, bin) in runtimes() {
        let id = format!("exec-{name}");
        c.run_detached(&bin, &id);
        let o = c.ctr(&[
            "task",
            "exec",
            "--exec-id",
            "e1",
            &id,
            "sh",
            "-c",
            "echo in-exec; ps -o args; sleep 1; exit 4",
        ]);
        assert_eq!(o.status.code(), Some(4), "{name}: {}", out_text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("in-exec") && out.contains("sleep 1000"),
            "{name}: {out}"
        );
        let o = c.ctr(&["task", "ps", &id]);
        assert!(o.status.success(), "{name} ps: {}", out_text(&o));
        let ps = String::from_utf8_lossy(&o.stdout);
        assert_eq!(ps.lines().count(), 2, "{name}: one process expected: {ps}");
        let o = c.ctr(&["task", "kill", "-s", "SIGKILL", &id]);
        assert!(o.status.success(), "{name} kill: {}", out_text(&o));
        wait_until("the killed task to stop", Duration::from_secs(10), || {
            String::from_utf8_lossy(&c.ctr(&["task", "ls"]).stdout)
                .lines()
                .any(|l| l.starts_with(&id) && l.contains("STOPPED"))
        });
        c.remove(&id);
    }
}

#[test]
fn containerd_pause_and_resume() {
    let c = Containerd::get();
    for (name, bin) in runtimes() {
        let id = format!("pause-{name}");
        c.run_detached(&bin, &id);
        let status = || {
            String::from_utf8_lossy(&c.ctr(&["task", "ls"]).stdout)
                .lines()
                .find(|l| l.starts_with(&id))
                .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
                .unwrap_or_default()
        };
        let o = c.ctr(&["task", "pause", &id]);
        assert!(o.status.success(), "{name} pause: {}", out_text(&o));
        assert_eq!(status(), "PAUSED", "{name}");
        let o = c.ctr(&["task", "resume", &id]);
        assert!(o.status.success(), "{name} resume: {}", out_text(&o));
        assert_eq!(status(), "RUNNING", "{name}");
        let o = c.ctr(&["task", "exec", "--exec-id", "e2", &id, "true"]);
        assert!(
            o.status.success(),
            "{name} exec after resume: {}",
            out_text(&o)
        );
        c.remove(&id);
    }
}

#[test]
fn containerd_memory_limit() {
    let c = Containerd::get();
    // Holding 100 MB in a shell variable: fine without a limit, OOM-killed under 32 MiB.
    let hog = [
        "sh",
        "-c",
        "a=$(head -c 100000000 /dev/zero | tr '\\0' x); echo kept ${#a}",
    ];
    for (name, bin) in runtimes() {
        let o = c.run(
            &bin,
            &["--memory-limit", "33554432"],
            &format!("mem-{name}"),
            &hog,
        );
        assert_eq!(o.status.code(), Some(137), "{name}: {}", out_text(&o));
        let o = c.run(&bin, &[], &format!("nomem-{name}"), &hog);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", out_text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("kept 100000000"));
    }
}
