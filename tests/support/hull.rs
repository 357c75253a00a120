//! The one harness for tests of the `hull` engine: the real binary with a private state (its
//! own `--root` and `--runroot` in a temporary directory), and what those tests share on top
//! of it (a container started detached, an exec polled until it says what is wanted).
//!
//! One cleanup rule: dropping a `Hull` force-removes whatever the test left in its state,
//! pass or fail (pods, then containers, then networks with their bridges, nft table and DNS
//! responders), and lazily unmounts anything still mounted below its directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{hull_bin, read_all, require_root, unmount_under};

pub struct Hull {
    pub dir: tempfile::TempDir,
    /// `--runtime` given to every command, when set.
    pub runtime: Option<PathBuf>,
}

/// What one `hull` command did: its exit code (-1 when killed by a signal) and its output as
/// text (a test that reads bytes uses `Hull::output`).
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

impl Hull {
    pub fn new() -> Hull {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("hull-t-")
            .tempdir()
            .expect("tempdir");
        // Like /var/lib/hull: traversable by the ids a user namespace maps root to.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Hull { dir, runtime: None }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn bin() -> PathBuf {
        hull_bin()
    }

    /// `hull --root R --runroot RR ARGS` as a shell command line (for `sh -c` and `script`).
    pub fn command_line(&self, args: &str) -> String {
        format!(
            "{} --root {} --runroot {} {args}",
            Self::bin().display(),
            self.root().display(),
            self.runroot().display()
        )
    }

    /// `hull --root R --runroot RR [--runtime RT] ARGS`, not yet run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(Self::bin());
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        if let Some(r) = &self.runtime {
            c.arg("--runtime").arg(r);
        }
        c.args(args);
        c
    }

    /// Runs `hull ARGS` with stdin from `input` (or /dev/null); the raw output, for bytes
    /// (`save`, `cp ... -`). Output goes through files: a detached container must not hold
    /// a pipe open.
    pub fn output(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let stdin = match input {
            Some(data) => {
                let mut f = tempfile::tempfile().unwrap();
                use std::io::{Seek, Write};
                f.write_all(data).unwrap();
                f.rewind().unwrap();
                Stdio::from(f)
            }
            None => Stdio::null(),
        };
        let status = self
            .cmd(args)
            .stdin(stdin)
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("run hull");
        Output {
            status,
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    /// Runs `hull ARGS` with stdin from `input`; exit code and text output.
    pub fn run_input(&self, args: &[&str], input: &[u8]) -> Out {
        text(args, self.output(args, Some(input)))
    }

    /// Runs `hull ARGS` with stdin from /dev/null; exit code and text output.
    pub fn run(&self, args: &[&str]) -> Out {
        text(args, self.output(args, None))
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.code, 0,
            "hull {args:?}: stdout={} stderr={}",
            o.stdout, o.stderr
        );
        o.stdout
    }

    /// Runs and asserts failure; returns (exit code, stderr).
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let o = self.run(args);
        assert!(
            !o.success(),
            "hull {args:?} should fail: stdout={}",
            o.stdout
        );
        (o.code, o.stderr)
    }

    /// The lines of `hull ARGS`'s output.
    pub fn lines(&self, args: &[&str]) -> Vec<String> {
        self.ok(args).lines().map(str::to_string).collect()
    }

    /// `run --rm busybox sh -c SCRIPT` with extra flags before the image; stdout.
    pub fn sh(&self, flags: &[&str], script: &str) -> String {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sh", "-c", script]);
        self.ok(&args)
    }

    /// Asserts that no container, mount, directory or cgroup of this state is left.
    pub fn assert_empty(&self) {
        let ps = self.ok(&["ps", "-a", "-q"]);
        assert!(ps.trim().is_empty(), "containers left: {ps}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = self.dir.path().display().to_string();
        assert!(!mounts.contains(&dir), "mounts left under {dir}");
        for d in [
            self.root().join("containers"),
            self.runroot().join("containers"),
        ] {
            let left: Vec<_> = std::fs::read_dir(&d)
                .map(|r| r.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "left in {}: {left:?}", d.display());
        }
        let rt: Vec<_> = std::fs::read_dir(self.runroot().join("runtime"))
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(rt.is_empty(), "runtime state left: {rt:?}");
    }

    /// A container's id from its name.
    pub fn id(&self, name: &str) -> String {
        self.ok(&["inspect", "--format", "{{.Id}}", name])
            .trim()
            .to_string()
    }

    /// Runs `hull ARGS` for cleanup: output and failure ignored; stdout.
    fn quietly(&self, args: &[&str]) -> String {
        self.cmd(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Default for Hull {
    fn default() -> Self {
        Hull::new()
    }
}

impl Drop for Hull {
    fn drop(&mut self) {
        for id in self.quietly(&["pod", "ps", "-q"]).split_whitespace() {
            self.quietly(&["pod", "rm", "-f", id]);
        }
        for id in self
            .quietly(&["ps", "-a", "-q", "--no-trunc"])
            .split_whitespace()
        {
            self.quietly(&["rm", "-f", id]);
        }
        let networks = self.quietly(&["network", "ls", "--format", "{{.Name}}"]);
        for n in networks.split_whitespace() {
            self.quietly(&["network", "rm", n]);
        }
        unmount_under(self.dir.path());
    }
}

fn text(args: &[&str], o: Output) -> Out {
    let utf8 = |b: Vec<u8>, what: &str| {
        String::from_utf8(b).unwrap_or_else(|e| panic!("hull {args:?}: {what} is not UTF-8: {e}"))
    };
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: utf8(o.stdout, "stdout"),
        stderr: utf8(o.stderr, "stderr"),
    }
}

/// A cgroup v1 memory directory for container `id` exists.
pub fn cgroup_exists(id: &str) -> bool {
    Path::new(&format!("/sys/fs/cgroup/memory/hull/{id}")).exists()
        || Path::new(&format!("/sys/fs/cgroup/hull/{id}")).exists()
}

/// Output of a failed command must be one line starting with "hull: ".
pub fn one_line_error(o: &Out) -> &str {
    let e = o.stderr.trim_end();
    assert_eq!(e.lines().count(), 1, "expected one line: {e:?}");
    assert!(e.starts_with("hull: "), "{e:?}");
    e
}

/// `hull run -d --name NAME ARGS...` in `h`; returns the container's id.
pub fn run_d(h: &Hull, name: &str, args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(args);
    h.ok(&all).trim().to_string()
}

/// The container's init as the host sees it.
pub fn pid_of(h: &Hull, name: &str) -> i32 {
    h.ok(&["inspect", "-f", "{{.State.Pid}}", name])
        .trim()
        .parse()
        .unwrap()
}

/// `hull exec NAME sh -c SCRIPT`'s output.
pub fn sh(h: &Hull, name: &str, script: &str) -> String {
    h.ok(&["exec", name, "sh", "-c", script])
}

/// Runs `sh -c SCRIPT` in container `c` until it succeeds with `want` in its output (60 s).
pub fn poll_exec(t: &Hull, c: &str, script: &str, want: &str) -> String {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let o = t.run(&["exec", c, "sh", "-c", script]);
        if o.code == 0 && o.stdout.contains(want) {
            return o.stdout;
        }
        assert!(
            Instant::now() < end,
            "{c}: {script}: waited for {want:?}: {} {}",
            o.stdout,
            o.stderr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// "NAME VALUE" lines (a namespace and its link, say) as a map.
pub fn ns_map(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
