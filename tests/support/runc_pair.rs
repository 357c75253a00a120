//! hullrt beside runc (/usr/sbin/runc) on the same bundle, for the runc_parity tests: a
//! bundle run under each runtime with a state root of its own, and what to compare.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{hullrt_path, read_all, Bundle};
use serde_json::json;

pub const RUNC: &str = "/usr/sbin/runc";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rt {
    Hullrt,
    Runc,
}

pub const BOTH: [Rt; 2] = [Rt::Hullrt, Rt::Runc];

impl Rt {
    pub fn bin(self) -> PathBuf {
        match self {
            Rt::Hullrt => hullrt_path(),
            Rt::Runc => {
                assert!(
                    Path::new(RUNC).exists(),
                    "{RUNC} missing: apt-get install runc"
                );
                PathBuf::from(RUNC)
            }
        }
    }
}

/// A bundle run under both runtimes. runc's containers are force-deleted when it goes out
/// of scope (the Bundle deletes hullrt's).
pub struct Case {
    pub b: Bundle,
}

impl Case {
    pub fn new(script: &str) -> Case {
        Case {
            b: Bundle::new(script),
        }
    }

    pub fn state_root(&self, rt: Rt) -> PathBuf {
        match rt {
            Rt::Hullrt => self.b.root.clone(),
            Rt::Runc => self.b.path().join("runc-state"),
        }
    }

    /// `RUNTIME --root STATE ARGS...` in the bundle directory, output to files (a created
    /// container would hold a pipe open).
    pub fn cmd(&self, rt: Rt, args: &[&str]) -> Output {
        self.b.save();
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let status = Command::new(rt.bin())
            .arg("--root")
            .arg(self.state_root(rt))
            .args(args)
            .current_dir(self.b.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("run the runtime");
        Output {
            status,
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    /// `run ID`: (exit code, stdout, stderr).
    pub fn run(&self, rt: Rt, id: &str) -> (i32, String, String) {
        let o = self.cmd(rt, &["run", id]);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    pub fn run_ok(&self, rt: Rt, id: &str) -> String {
        let (code, out, err) = self.run(rt, id);
        assert_eq!(code, 0, "{rt:?} run: stdout={out} stderr={err}");
        out
    }

    pub fn add_caps(&mut self, caps: &[&str]) {
        for set in ["bounding", "effective", "permitted"] {
            let list = self.b.config["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap();
            for c in caps {
                list.push(json!(c));
            }
        }
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.state_root(Rt::Runc)) else {
            return;
        };
        for e in entries.flatten() {
            let _ = Command::new(RUNC)
                .arg("--root")
                .arg(self.state_root(Rt::Runc))
                .args(["delete", "--force"])
                .arg(e.file_name())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The mount at `point` in a mountinfo text: its propagation as words without the peer
/// group numbers ("shared master", "private"...).
pub fn propagation_of(mountinfo: &str, point: &str) -> Option<String> {
    let line = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(point))?;
    let kinds: Vec<&str> = line
        .split(' ')
        .skip(6)
        .take_while(|w| *w != "-")
        .map(|w| w.split(':').next().unwrap_or(w))
        .collect();
    Some(if kinds.is_empty() {
        "private".into()
    } else {
        kinds.join(" ")
    })
}

pub fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// A host directory that is a shared mount of its own (its own peer group), removed after.
pub struct SharedDir {
    dir: tempfile::TempDir,
}

impl Default for SharedDir {
    fn default() -> Self {
        SharedDir::new()
    }
}

impl SharedDir {
    pub fn new() -> SharedDir {
        let dir = tempfile::Builder::new()
            .prefix("hull-prop-")
            .tempdir()
            .unwrap();
        for args in [
            vec!["--bind", "DIR", "DIR"],
            vec!["--make-private", "DIR"],
            vec!["--make-shared", "DIR"],
        ] {
            let args: Vec<&str> = args
                .iter()
                .map(|a| {
                    if *a == "DIR" {
                        dir.path().to_str().unwrap()
                    } else {
                        a
                    }
                })
                .collect();
            let st = Command::new("mount").args(&args).status().unwrap();
            assert!(st.success(), "mount {args:?}");
        }
        SharedDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path())
            .status();
    }
}

/// The mount options of the mountinfo line at `point`: per-mount ones, then the
/// filesystem's ("ro,nosuid,relatime tmpfs rw"), without ids.
pub fn options_of(mountinfo: &str, point: &str) -> Option<String> {
    let line = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(point))?;
    let f: Vec<&str> = line.split(' ').collect();
    let dash = f.iter().position(|w| *w == "-")?;
    Some(format!("{} {} {}", f[5], f[dash + 1], f.get(dash + 3)?))
}
