//! hullrt under podman 4.3 (through conmon, with `--runtime`), beside runc. The file's tests
//! share one podman store (root, runroot, tmpdir and containers.conf in a temp dir; vfs,
//! cgroupfs, file events, no network) with a busybox image imported once. Every scenario runs
//! with `--runtime hullrt` and with `--runtime runc`, and the two transcripts must be equal
//! (client_session). When the test binary exits, every container and pod is removed and what
//! they left behind (conmon, mounts, cgroups) fails the run.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use hull_e2e::client_session::{stderr_said, stdout, Client, Session};
use hull_e2e::client_support::{leftovers, on_exit, out_text, output_via_files, require, runc};
use hull_e2e::image::{rootfs, tar_dir};
use hull_e2e::unmount_under;

const IMAGE: &str = "busybox-local";

struct Podman {
    dir: PathBuf,
}

static PODMAN: OnceLock<Podman> = OnceLock::new();

fn podman() -> &'static Podman {
    PODMAN.get_or_init(|| {
        let p = Podman::new();
        on_exit(|| PODMAN.get().map(Podman::teardown).unwrap_or_default());
        p
    })
}

impl Podman {
    fn new() -> Podman {
        hull_e2e::require_root();
        require("podman");
        require("conmon");
        let dir = tempfile::Builder::new()
            .prefix("hull-pm-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        // The store must be reachable by the mapped ids of --uidmap containers.
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o711)).unwrap();
        // This machine may not let root raise RLIMIT_NOFILE to podman's default of 1048576
        // (no CAP_SYS_RESOURCE in a sandbox), which fails with runc too: ask for less.
        std::fs::write(
            dir.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             netns = \"none\"\n[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        let p = Podman { dir };
        let tar = p.dir.join("rootfs.tar");
        tar_dir(&rootfs(&p.dir), &tar);
        std::fs::remove_dir_all(p.dir.join("rootfs")).unwrap();
        let o = output_via_files(
            p.command("runc")
                .args(["import", tar.to_str().unwrap(), IMAGE]),
        );
        assert!(o.status.success(), "podman import: {}", out_text(&o));
        // podman opens the store to the mapped root of --uidmap containers (root and
        // vfs-containers 0711) but not vfs's layer dirs, where a vfs container's rootfs is.
        for d in ["root", "root/vfs", "root/vfs/dir"] {
            std::fs::set_permissions(p.dir.join(d), PermissionsExt::from_mode(0o711)).unwrap();
        }
        p
    }

    /// Removes every pod and container, and returns what they left behind.
    fn teardown(&self) -> Vec<String> {
        let _ = output_via_files(self.command("runc").args(["pod", "rm", "-af", "-t", "0"]));
        let _ = output_via_files(self.command("runc").args(["rm", "-af", "-t", "0"]));
        let left = leftovers(&self.dir.to_string_lossy(), None);
        unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }
}

impl Client for Podman {
    fn command(&self, rt: &str) -> Command {
        let runtime = match rt {
            "runc" => runc(),
            _ => hull_e2e::hullrt_path(),
        };
        let d = &self.dir;
        let mut c = Command::new(require("podman"));
        c.env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime"])
            .arg(runtime);
        c
    }

    fn run_args(&self, _rt: &str) -> Vec<String> {
        vec!["run".into()]
    }
}

fn both(scenario: impl Fn(&mut Session)) {
    hull_e2e::client_session::both(podman(), scenario)
}

/// conmon can drop what a process printed on its pty just before exiting (seen with runc as
/// well as hullrt, under parallel load): the processes linger a moment after printing.
#[test]
fn podman_run_exit_codes_and_terminal() {
    both(|s| {
        let o = s.run(&[
            "--rm",
            "--name",
            "rm-{rt}",
            IMAGE,
            "sh",
            "-c",
            "echo hi; id -u; exit 6",
        ]);
        s.check("exit code", o.status.code(), Some(6));
        s.check("output", stdout(&o), "hi\n0".into());
        let o = s.run(&["--rm", IMAGE, "/no/such"]);
        s.check(
            &stderr_said("missing command", &o),
            o.status.code(),
            Some(127),
        );
        let (code, out) = s.pty(&[
            "run",
            "--rm",
            "-it",
            IMAGE,
            "sh",
            "-c",
            "tty; test -t 0 && echo stdin-tty; sleep 1; exit 3",
        ]);
        s.check(
            "run -it",
            (code, out.as_str()),
            (Some(3), "/dev/pts/0\nstdin-tty"),
        );
        let left = stdout(&s.quiet(&["ps", "-aq", "--filter", "name=rm-{rt}"]));
        s.check("--rm left nothing", left, String::new());
    });
}

#[test]
fn podman_exec_stop_rm() {
    both(|s| {
        s.run(&["-d", "--name", "srv-{rt}", IMAGE, "sleep", "1000"]);
        let o = s.step(&[
            "exec",
            "srv-{rt}",
            "sh",
            "-c",
            "echo exec-ok; ps -o args; exit 2",
        ]);
        s.check("exec exit code", o.status.code(), Some(2));
        let out = stdout(&o);
        let out = out.lines().take(3).collect::<Vec<_>>().join("\n");
        s.check("exec output", out, "exec-ok\nCOMMAND\nsleep 1000".into());
        let o = s.step(&[
            "exec",
            "--user",
            "1000:1000",
            "--env",
            "X=y",
            "srv-{rt}",
            "sh",
            "-c",
            "id -u; echo $X; echo $HOME",
        ]);
        s.check(
            "exec --user --env",
            stdout(&o),
            "1000\ny\n/home/user".into(),
        );
        let (code, out) = s.pty(&[
            "exec",
            "-it",
            "srv-{rt}",
            "sh",
            "-c",
            "tty; sleep 1; exit 4",
        ]);
        s.check("exec -it", (code, out.as_str()), (Some(4), "/dev/pts/0"));
        // sleep as pid 1 ignores SIGTERM: stop falls back to SIGKILL after the timeout.
        s.ok(&["stop", "-t", "1", "srv-{rt}"]);
        let st = s.inspect("srv-{rt}", "{{.State.Status}} {{.State.ExitCode}}");
        s.check("after stop", st, "exited 137".into());
        s.remove("srv-{rt}");
    });
}

#[test]
fn podman_read_only_tmpfs_uidmap() {
    both(|s| {
        // --read-only: podman mounts tmpfs (with tmpcopyup) on /tmp, /var/tmp and /run.
        let o = s.run(&[
            "--rm", "--read-only", "--tmpfs", "/data:size=1m", IMAGE, "sh", "-c",
            "touch /x 2>/dev/null && echo root-writable; echo t > /tmp/t && cat /tmp/t; \
             echo d > /data/d && cat /data/d; grep ' / ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
        ]);
        s.check("--read-only --tmpfs", stdout(&o), "t\nd\nro".into());
        let o = s.ok(&[
            "run",
            "--rm",
            "--uidmap",
            "0:100000:65536",
            "--gidmap",
            "0:100000:65536",
            IMAGE,
            "sh",
            "-c",
            "cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox",
        ]);
        let map = o.split_whitespace().collect::<Vec<_>>().join(" ");
        s.check("--uidmap", map, "0 100000 65536 0 0".into());
    });
}

#[test]
fn podman_pod_with_two_containers() {
    both(|s| {
        // The infra container comes from our image too: podman's own pause image needs a pull.
        s.ok(&[
            "pod",
            "create",
            "--name",
            "pod-{rt}",
            "--infra-image",
            IMAGE,
            "--infra-command",
            "sleep 100000",
        ]);
        for c in ["one", "two"] {
            let name = format!("{c}-{{rt}}");
            s.ok(&[
                "run", "-d", "--pod", "pod-{rt}", "--name", &name, IMAGE, "sleep", "1000",
            ]);
        }
        let ns = |s: &mut Session, c: &str| {
            let script = "for n in ipc uts net mnt; do readlink /proc/self/ns/$n; done";
            stdout(&s.quiet(&["exec", c, "sh", "-c", script]))
        };
        let (a, b) = (ns(s, "one-{rt}"), ns(s, "two-{rt}"));
        let same: Vec<bool> = a.lines().zip(b.lines()).map(|(x, y)| x == y).collect();
        s.check(
            "ipc, uts, net shared; mnt not",
            same,
            vec![true, true, true, false],
        );
        let out = s.ok(&[
            "pod",
            "ps",
            "--filter",
            "name=pod-{rt}",
            "--format",
            "{{.Status}} {{.NumberOfContainers}}",
        ]);
        s.check("pod ps", out, "Running 3".into());
        s.ok(&["pod", "stop", "-t", "1", "pod-{rt}"]);
        s.ok(&["pod", "rm", "pod-{rt}"]);
        let o = s.quiet(&["ps", "-aq", "--filter", "name=^(one|two)-{rt}$"]);
        s.check("nothing left of the pod", stdout(&o), String::new());
    });
}
