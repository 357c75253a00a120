//! hullrt under dockerd (Debian's docker.io 20.10), registered with `--add-runtime hullrt=...`
//! beside runc. One private dockerd serves the whole file: its own data root, exec root,
//! pidfile, socket, cgroup parent and containerd, no iptables, no bridge. Every scenario runs
//! with `--runtime hullrt` and with `--runtime runc`; each writes a transcript of what a user
//! or a script would read (exit codes, output, inspect fields), and the two must be equal.
//! The client is Debian's `/usr/bin/docker` 20.10, the daemon's own version.
//!
//! The daemon is torn down when the test binary exits; if it left processes, mounts or
//! cgroups behind, the binary then exits non-zero with the list.

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hull_e2e::client_session::{stderr_said, stdout, Client, Session};
use hull_e2e::client_support::{
    dockerd_command, leftovers, on_exit, out_text, output_via_files, remove_cgroups, stop_child,
    wait_until, ContainerdDaemon,
};
use hull_e2e::image::busybox_archive;
use hull_e2e::unmount_under;

const IMAGE: &str = "hull.test/busybox:latest";

struct Dockerd {
    dir: PathBuf,
    /// The cgroup parent every container goes under: one name, unique to this process.
    cgroup_parent: String,
    daemon: Mutex<Option<Child>>,
    containerd: Mutex<Option<ContainerdDaemon>>,
}

static DOCKERD: OnceLock<Dockerd> = OnceLock::new();

fn dockerd() -> &'static Dockerd {
    DOCKERD.get_or_init(|| {
        let d = Dockerd::start();
        on_exit(|| DOCKERD.get().map(Dockerd::teardown).unwrap_or_default());
        d
    })
}

impl Dockerd {
    fn start() -> Dockerd {
        hull_e2e::require_root();
        // Short: dockerd and containerd put unix sockets under it.
        let dir = tempfile::Builder::new()
            .prefix("hull-dk-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let containerd = ContainerdDaemon::start(&dir, None);
        let cgroup_parent = format!("hull-dk-{}", std::process::id());
        let daemon = dockerd_command(&dir, &containerd, &cgroup_parent)
            .arg("--add-runtime")
            .arg(format!("hullrt={}", hull_e2e::hullrt_path().display()))
            .spawn()
            .unwrap();
        let d = Dockerd {
            dir,
            cgroup_parent,
            daemon: Mutex::new(Some(daemon)),
            containerd: Mutex::new(Some(containerd)),
        };
        wait_until("dockerd to answer", Duration::from_secs(60), || {
            d.docker(&["version"]).status.success()
        });
        let archive = busybox_archive(&d.dir, IMAGE);
        d.ok(&["load", "-i", archive.to_str().unwrap()]);
        d
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("/usr/bin/docker");
        c.env("DOCKER_CONFIG", self.dir.join("client"))
            .arg("-H")
            .arg(format!("unix://{}", self.dir.join("d.sock").display()));
        c
    }

    fn docker(&self, args: &[&str]) -> Output {
        output_via_files(self.cmd().args(args))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(o.status.success(), "docker {args:?}: {}", out_text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Removes every container, stops dockerd and its containerd, and returns what is left.
    fn teardown(&self) -> Vec<String> {
        let ids = self.docker(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            let _ = self.docker(&["rm", "-f", "-v", id.trim()]);
        }
        let mut left = Vec::new();
        if let Some(c) = self.containerd.lock().unwrap().as_ref() {
            for t in c.tasks("moby") {
                left.push(format!("containerd task {t}"));
            }
        }
        if let Some(mut d) = self.daemon.lock().unwrap().take() {
            stop_child(&mut d);
        }
        if let Some(mut c) = self.containerd.lock().unwrap().take() {
            c.stop();
        }
        let dir = self.dir.to_string_lossy().into_owned();
        left.extend(leftovers(&dir, None));
        // The cgroup parent itself stays (docker creates it and never removes it); a
        // container's cgroup left in it is a leftover.
        for p in hull_e2e::cgroup_dirs_named(&self.cgroup_parent) {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    left.push(format!("cgroup: {}", e.path().display()));
                }
            }
        }
        unmount_under(&self.dir);
        remove_cgroups(&self.cgroup_parent);
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }
}

impl Client for Dockerd {
    fn command(&self, _rt: &str) -> Command {
        self.cmd()
    }

    fn run_args(&self, rt: &str) -> Vec<String> {
        vec!["run".into(), "--runtime".into(), rt.into()]
    }
}

fn both(scenario: impl Fn(&mut Session)) {
    hull_e2e::client_session::both(dockerd(), scenario)
}

#[test]
fn docker_run_exit_codes_and_terminal() {
    both(|s| {
        let o = s.run(&["--rm", IMAGE, "sh", "-c", "echo hello; id -u; exit 7"]);
        s.check("exit code", o.status.code(), Some(7));
        s.check("output", stdout(&o), "hello\n0".into());
        let o = s.step_stdin(
            &[
                "run",
                "--runtime",
                "{rt}",
                "--rm",
                "-i",
                IMAGE,
                "sh",
                "-c",
                "tr a-z A-Z; exit 2",
            ],
            "piped in\n",
        );
        s.check(
            "run -i",
            (o.status.code(), stdout(&o)),
            (Some(2), "PIPED IN".into()),
        );
        let o = s.run(&["--rm", IMAGE, "true"]);
        s.check("true", o.status.code(), Some(0));
        // docker's exit codes from the runtime's error text: 127 for a missing command
        // ("no such file or directory"), 126 for a directory ("is a directory", "permission
        // denied").
        let o = s.run(&["--rm", IMAGE, "/no/such"]);
        s.check(
            &stderr_said("missing command", &o),
            o.status.code(),
            Some(127),
        );
        let o = s.run(&["--rm", IMAGE, "/tmp"]);
        s.check(&stderr_said("a directory", &o), o.status.code(), Some(126));
        let (code, out) = s.pty(&[
            "run",
            "--rm",
            "-it",
            "--runtime",
            "{rt}",
            IMAGE,
            "sh",
            "-c",
            "tty; test -t 0 && echo stdin-tty; sleep 1; exit 3",
        ]);
        s.check("run -it exit code", code, Some(3));
        s.check("run -it output", out, "/dev/pts/0\nstdin-tty".into());
    });
}

#[test]
fn docker_detached_logs_exec_top_stats() {
    both(|s| {
        s.run(&[
            "-d",
            "--name",
            "det-{rt}",
            IMAGE,
            "sh",
            "-c",
            "echo started; exec sleep 1000",
        ]);
        s.wait_inspect("det-{rt}", "{{.State.Running}}", "true");
        wait_until("the log line", Duration::from_secs(10), || {
            stdout(&s.quiet(&["logs", "det-{rt}"])) == "started"
        });
        let o = s.step(&["exec", "det-{rt}", "sh", "-c", "echo in-exec; exit 4"]);
        s.check("exec exit code", o.status.code(), Some(4));
        s.check("exec output", stdout(&o), "in-exec".into());
        let o = s.step(&[
            "exec",
            "-u",
            "1000:1000",
            "-e",
            "X=y",
            "-w",
            "/tmp",
            "det-{rt}",
            "sh",
            "-c",
            "id -u; id -g; echo $X; pwd; echo $HOME",
        ]);
        s.check(
            "exec -u -e -w",
            stdout(&o),
            "1000\n1000\ny\n/tmp\n/home/user".into(),
        );
        let o = s.step_stdin(&["exec", "-i", "det-{rt}", "wc", "-c"], "12345");
        s.check("exec -i", stdout(&o), "5".into());
        // A missing command: the exit code docker makes of the runtime's error.
        let o = s.step_code(&["exec", "det-{rt}", "/no/such"]);
        s.check("exec of a missing command", o.status.code(), Some(126));
        let (code, out) = s.pty(&[
            "exec",
            "-it",
            "det-{rt}",
            "sh",
            "-c",
            "tty; sleep 1; exit 5",
        ]);
        s.check(
            "exec -it",
            (code, out.starts_with("/dev/pts/")),
            (Some(5), true),
        );
        // top: docker runs ps on the host over the container's pids.
        // Host pids: not logged.
        let top = stdout(&s.quiet(&["top", "det-{rt}", "-o", "pid,args"]));
        s.check(
            "top",
            top.lines().count() == 2 && top.ends_with(" sleep 1000"),
            true,
        );
        let stats = s.ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", "det-{rt}"]);
        s.check("stats pids", stats, "1".into());
        s.remove("det-{rt}");
    });
}

#[test]
fn docker_stop_kill_restart() {
    both(|s| {
        // sh as pid 1 ignores SIGTERM: stop falls back to SIGKILL after the timeout.
        s.run(&["-d", "--name", "stop-{rt}", IMAGE, "sleep", "1000"]);
        s.ok(&["stop", "-t", "1", "stop-{rt}"]);
        let st = s.inspect("stop-{rt}", "{{.State.Status}} {{.State.ExitCode}}");
        s.check("after stop", st, "exited 137".into());
        s.ok(&["start", "stop-{rt}"]);
        s.wait_inspect("stop-{rt}", "{{.State.Running}}", "true");
        s.ok(&["restart", "-t", "1", "stop-{rt}"]);
        s.wait_inspect("stop-{rt}", "{{.State.Running}}", "true");
        let o = s.step(&["exec", "stop-{rt}", "true"]);
        s.check("exec after restart", o.status.code(), Some(0));
        s.ok(&["kill", "stop-{rt}"]);
        s.wait_inspect(
            "stop-{rt}",
            "{{.State.Status}} {{.State.ExitCode}}",
            "exited 137",
        );
        let o = s.step(&["kill", "stop-{rt}"]);
        s.check("kill of a stopped container", o.status.success(), false);
        s.remove("stop-{rt}");
        // A signal for the process under docker-init, which forwards it (pid 1 itself
        // would ignore it) and exits with its status.
        s.run(&["-d", "--init", "--name", "sig-{rt}", IMAGE, "sleep", "1000"]);
        s.ok(&["kill", "-s", "USR1", "sig-{rt}"]);
        s.wait_inspect(
            "sig-{rt}",
            "{{.State.Status}} {{.State.ExitCode}}",
            "exited 138",
        );
        s.remove("sig-{rt}");
        // on-failure:2 restarts a failing container twice, then leaves it exited.
        s.run(&[
            "-d",
            "--name",
            "rs-{rt}",
            "--restart",
            "on-failure:2",
            IMAGE,
            "sh",
            "-c",
            "exit 3",
        ]);
        s.wait_inspect(
            "rs-{rt}",
            "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
            "2 exited 3",
        );
        s.remove("rs-{rt}");
    });
}

/// A cgroup v1 file of the container, read from inside (docker mounts the container's own
/// cgroup directories at /sys/fs/cgroup/CONTROLLER).
const LIMITS: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
    /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us \
    /sys/fs/cgroup/pids/pids.max";

#[test]
fn docker_pause_update_oom() {
    both(|s| {
        s.run(&["-d", "--name", "pu-{rt}", IMAGE, "sleep", "1000"]);
        s.ok(&["pause", "pu-{rt}"]);
        let st = s.inspect("pu-{rt}", "{{.State.Status}}");
        s.check("status", st, "paused".into());
        let o = s.step(&["exec", "pu-{rt}", "true"]);
        s.check("exec into a paused container", o.status.success(), false);
        s.ok(&["unpause", "pu-{rt}"]);
        let st = s.inspect("pu-{rt}", "{{.State.Status}}");
        s.check("status", st, "running".into());
        s.ok(&[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "pu-{rt}",
        ]);
        let o = s.step(&["exec", "pu-{rt}", "sh", "-c", LIMITS]);
        s.check(
            "limits after update",
            stdout(&o),
            "67108864\n50000\n100000\n50".into(),
        );
        s.ok(&["update", "--pids-limit", "-1", "pu-{rt}"]);
        let o = s.step(&["exec", "pu-{rt}", "cat", "/sys/fs/cgroup/pids/pids.max"]);
        s.check("pids limit removed", stdout(&o), "max".into());
        s.remove("pu-{rt}");
        // 100 MB in a shell variable under a 32 MiB limit.
        let o = s.run(&[
            "--name",
            "oom-{rt}",
            "-m",
            "32m",
            "--memory-swap",
            "32m",
            IMAGE,
            "sh",
            "-c",
            "a=$(head -c 100000000 /dev/zero | tr '\\0' x); echo kept ${#a}",
        ]);
        s.check("oom exit code", o.status.code(), Some(137));
        // Polled: dockerd records the OOM from containerd's oom event, which can come a
        // moment after the exit (once in CI runc's container showed "false 137" at once).
        s.wait_inspect(
            "oom-{rt}",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "true 137",
        );
        s.remove("oom-{rt}");
    });
}

#[test]
fn docker_filesystems_user_init() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "from-host\n").unwrap();
    let bind = format!("{}:/h", host.path().display());
    both(|s| {
        let o = s.run(&[
            "--rm", "--read-only", "--tmpfs", "/run:size=1m", IMAGE, "sh", "-c",
            "touch /x 2>/dev/null && echo root-writable; echo t > /run/t && cat /run/t; \
             grep ' /run ' /proc/mounts | cut -d' ' -f3,4; grep ' / ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
        ]);
        s.check(
            "--read-only --tmpfs",
            stdout(&o),
            "t\ntmpfs rw,nosuid,nodev,noexec,relatime,size=1024k\nro".into(),
        );
        s.ok(&["volume", "create", "vol-{rt}"]);
        let o = s.run(&[
            "--rm",
            "-v",
            "vol-{rt}:/data",
            IMAGE,
            "sh",
            "-c",
            "echo kept > /data/f",
        ]);
        s.check("write to a volume", o.status.code(), Some(0));
        let o = s.run(&[
            "--rm",
            "-v",
            "vol-{rt}:/data:ro",
            "-v",
            &bind,
            IMAGE,
            "sh",
            "-c",
            "cat /data/f /h/f; touch /data/g 2>/dev/null || echo ro",
        ]);
        s.check(
            "volume and bind mount",
            stdout(&o),
            "kept\nfrom-host\nro".into(),
        );
        s.ok(&["volume", "rm", "vol-{rt}"]);
        let o = s.run(&[
            "--rm",
            "--user",
            "1000:1000",
            "--group-add",
            "10",
            IMAGE,
            "sh",
            "-c",
            "id; echo $HOME",
        ]);
        s.check(
            "--user",
            stdout(&o),
            "uid=1000(user) gid=1000(user) groups=10,1000(user)\n/home/user".into(),
        );
        // Only pid 1's line: the pid ps gets differs (runc's own helpers take a few in the
        // new namespace before the process starts).
        let o = s.run(&[
            "--rm",
            "--init",
            IMAGE,
            "sh",
            "-c",
            "ps -o pid,args | grep '^ *1 '",
        ]);
        let ps = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
        s.check(
            "--init: pid 1",
            ps.as_str(),
            "1 /sbin/docker-init -- sh -c ps -o pid,args | grep '^ *1 '",
        );
    });
}

#[test]
fn docker_healthcheck_and_shared_namespaces() {
    both(|s| {
        s.run(&[
            "-d",
            "--name",
            "hc-{rt}",
            "--ipc",
            "shareable",
            "--health-cmd",
            "test -f /tmp/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            IMAGE,
            "sleep",
            "1000",
        ]);
        s.wait_inspect("hc-{rt}", "{{.State.Health.Status}}", "unhealthy");
        s.ok(&["exec", "hc-{rt}", "touch", "/tmp/ok"]);
        s.wait_inspect("hc-{rt}", "{{.State.Health.Status}}", "healthy");
        s.run(&[
            "-d",
            "--name",
            "ns-{rt}",
            "--pid",
            "container:hc-{rt}",
            "--ipc",
            "container:hc-{rt}",
            "--network",
            "container:hc-{rt}",
            IMAGE,
            "sleep",
            "1001",
        ]);
        let ns = |s: &mut Session, c: &str| {
            stdout(&s.quiet(&[
                "exec",
                c,
                "sh",
                "-c",
                "for n in pid ipc net mnt; do readlink /proc/self/ns/$n; done",
            ]))
        };
        let a = ns(s, "hc-{rt}");
        let b = ns(s, "ns-{rt}");
        let same: Vec<bool> = a.lines().zip(b.lines()).map(|(x, y)| x == y).collect();
        s.check(
            "pid, ipc, net shared; mnt not",
            same,
            vec![true, true, true, false],
        );
        let o = s.step(&[
            "exec",
            "ns-{rt}",
            "sh",
            "-c",
            "ps -o args | grep -c '^sleep'",
        ]);
        s.check(
            "the other container's processes seen",
            stdout(&o),
            "2".into(),
        );
        s.remove("ns-{rt}");
        s.remove("hc-{rt}");
    });
}

#[test]
fn docker_cp_commit_export() {
    both(|s| {
        std::fs::write(s.tmp.path().join("in.txt"), "copied-in\n").unwrap();
        s.run(&["-d", "--name", "cp-{rt}", IMAGE, "sleep", "1000"]);
        s.ok(&["cp", "{tmp}/in.txt", "cp-{rt}:/tmp/in.txt"]);
        let o = s.step(&["exec", "cp-{rt}", "cat", "/tmp/in.txt"]);
        s.check("cp in", stdout(&o), "copied-in".into());
        s.ok(&[
            "exec",
            "cp-{rt}",
            "sh",
            "-c",
            "echo made-inside > /root/out.txt",
        ]);
        let out = s.tmp.path().join("out.txt");
        s.ok(&["cp", "cp-{rt}:/root/out.txt", "{tmp}/out.txt"]);
        s.check(
            "cp out",
            std::fs::read_to_string(&out).unwrap_or_default(),
            "made-inside\n".into(),
        );
        s.ok(&["commit", "cp-{rt}", "hull.test/committed-{rt}:1"]);
        let o = s.run(&["--rm", "hull.test/committed-{rt}:1", "cat", "/root/out.txt"]);
        s.check("committed image", stdout(&o), "made-inside".into());
        let tar = s.tmp.path().join("export.tar");
        s.ok(&["export", "-o", "{tmp}/export.tar", "cp-{rt}"]);
        let list = Command::new("tar").arg("-tf").arg(&tar).output().unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        s.check(
            "export has the file",
            list.lines().any(|l| l == "root/out.txt"),
            true,
        );
        s.remove("cp-{rt}");
        s.ok(&["rmi", "hull.test/committed-{rt}:1"]);
    });
}
