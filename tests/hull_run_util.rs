//! Shared by the hull_run* and hull_lifecycle* tests: a private hull state (its own --root and
//! --runroot) and the real `hull` binary run against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Hull {
    pub dir: tempfile::TempDir,
    pub runtime: Option<PathBuf>,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Hull {
    pub fn new() -> Hull {
        hull_e2e::require_root();
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
        hull_e2e::hull_bin()
    }

    /// `hull --root R --runroot RR ARGS` as a shell command line (for `sh -c` and `script`).
    #[allow(dead_code)] // Not every test file that includes this module needs a shell.
    pub fn command_line(&self, args: &str) -> String {
        format!(
            "{} --root {} --runroot {} {args}",
            Self::bin().display(),
            self.root().display(),
            self.runroot().display()
        )
    }

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

    /// Runs hull with stdout/stderr in files (a detached container must not hold a pipe).
    pub fn run(&self, args: &[&str]) -> Out {
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let status = self
            .cmd(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("run hull");
        Out {
            code: status.code().unwrap_or(-1),
            stdout: read(out),
            stderr: read(err),
        }
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
}

impl Drop for Hull {
    fn drop(&mut self) {
        // Remove whatever a failing test left running.
        let ids = self.run(&["ps", "-a", "-q", "--no-trunc"]).stdout;
        for id in ids.split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
    }
}

fn read(mut f: std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut s = String::new();
    f.rewind().unwrap();
    f.read_to_string(&mut s).unwrap();
    s
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
