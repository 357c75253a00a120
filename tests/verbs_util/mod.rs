//! The real `hull` binary with a state root of its own per test, for the verbs' tests
//! (volumes, images, info, top, stats, cp, update...).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn hull_path() -> PathBuf {
    hull_e2e::hull_bin()
}

/// A hull with its own `--root` and `--runroot` in a temporary directory. Dropping it removes
/// whatever containers the test left (force) and unmounts anything still mounted below it.
pub struct Hull {
    pub dir: tempfile::TempDir,
}

impl Hull {
    pub fn new() -> Hull {
        hull_e2e::require_root();
        let dir = tempfile::Builder::new()
            .prefix("hull-verbs-")
            .tempdir()
            .expect("tempdir");
        Hull { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(hull_path());
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        c
    }

    /// Runs `hull ARGS` with stdin from `input`; output through files (a detached container
    /// would keep a pipe open).
    pub fn run_input(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let stdin = match input {
            Some(data) => {
                let mut f = tempfile::tempfile().unwrap();
                use std::io::{Seek, Write};
                f.write_all(data).unwrap();
                f.seek(std::io::SeekFrom::Start(0)).unwrap();
                Stdio::from(f)
            }
            None => Stdio::null(),
        };
        let status = self
            .cmd()
            .args(args)
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

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_input(args, None)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "hull {args:?} failed ({:?}): stdout={} stderr={}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts failure; returns (exit code, stderr).
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "hull {args:?} should fail: stdout={}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The lines of `hull ARGS`'s output.
    pub fn lines(&self, args: &[&str]) -> Vec<String> {
        self.ok(args).lines().map(str::to_string).collect()
    }
}

impl Default for Hull {
    fn default() -> Self {
        Hull::new()
    }
}

impl Drop for Hull {
    fn drop(&mut self) {
        let out = self
            .cmd()
            .args(["ps", "-aq", "--no-trunc"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        if let Ok(out) = out {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self
                    .cmd()
                    .args(["rm", "-f", id])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        // The root's networks (bridges, its nft table, DNS responders) go with it.
        if let Ok(out) = self
            .cmd()
            .args(["network", "ls", "--format", "{{.Name}}"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        {
            for n in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self
                    .cmd()
                    .args(["network", "rm", n])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        unmount_below(self.dir.path());
    }
}

/// Lazily unmounts every mount below `dir`, deepest first, so the temporary directory can go.
pub fn unmount_below(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.display().to_string();
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn read_all(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut v = Vec::new();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}

#[allow(unused_imports)] // Not every test file that includes this module polls.
pub use hull_e2e::wait_for;

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
