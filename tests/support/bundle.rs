//! An OCI bundle with a busybox rootfs (from `hullrt spec`), run by the real `hullrt` as root
//! with a state root of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::{busybox, hullrt_path, read_all, require_root};

pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub config: Value,
}

const APPLETS: &[&str] = &[
    "sh",
    "cat",
    "ls",
    "hostname",
    "id",
    "echo",
    "sleep",
    "ps",
    "mount",
    "true",
    "false",
    "env",
    "pwd",
    "touch",
    "mkdir",
    "readlink",
    "grep",
    "uptime",
    "date",
    "stat",
    "domainname",
    "wc",
    "head",
    "kill",
    "test",
    "umask",
    "ipcs",
    "ipcmk",
    "ip",
    "rm",
    "ln",
    "chmod",
    "mknod",
    "dd",
    "nproc",
    "yes",
    "seq",
    "tail",
    "tr",
    "cut",
    "sed",
    "awk",
    "printf",
    "whoami",
];

impl Bundle {
    /// A bundle whose process is `sh -c SCRIPT`, from `hullrt spec` with terminal off.
    pub fn new(script: &str) -> Bundle {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("hull-e2e-")
            .tempdir()
            .expect("tempdir");
        let rootfs = dir.path().join("rootfs");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy(busybox(), rootfs.join("bin/busybox")).unwrap();
        for a in APPLETS {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
        let out = Command::new(hullrt_path())
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "hullrt spec: {out:?}");
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(["sh", "-c", script]);
        let root = dir.path().join("state");
        Bundle { dir, root, config }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn save(&self) {
        std::fs::write(
            self.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// `hullrt --root STATE ARGS...` with the bundle as working directory.
    pub fn hullrt(&self, args: &[&str]) -> Output {
        self.save();
        // Output goes to files, not pipes: a detached or created container inherits hullrt's
        // stdout and stderr and would keep a pipe open long after hullrt exits.
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let status = Command::new(hullrt_path())
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("run hullrt");
        Output {
            status,
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    /// `hullrt run ID`; returns (exit code, stdout, stderr).
    pub fn run(&self, id: &str) -> (i32, String, String) {
        text(&self.hullrt(&["run", id]))
    }

    /// Runs and asserts success; returns stdout.
    pub fn run_ok(&self, id: &str) -> String {
        let (code, out, err) = self.run(id);
        assert_eq!(code, 0, "hullrt run failed: stdout={out} stderr={err}");
        out
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.hullrt(&["state", id]);
        assert!(out.status.success(), "state: {out:?}");
        serde_json::from_slice(&out.stdout).expect("state json")
    }

    /// Adds an entry to `mounts`.
    pub fn mount(&mut self, m: Value) {
        self.config["mounts"].as_array_mut().unwrap().push(m);
    }

    /// Sets the `linux.namespaces` list to these types (no paths).
    pub fn namespaces(&mut self, types: &[&str]) {
        self.config["linux"]["namespaces"] =
            Value::Array(types.iter().map(|t| json!({ "type": t })).collect());
    }

    /// Whether the state root has nothing left for `id`.
    pub fn no_state_left(&self, id: &str) -> bool {
        !self.root.join(id).exists()
    }
}

/// A test that fails half-way must not leave its containers running: whatever is still in
/// this bundle's state root is force-deleted when the bundle goes out of scope.
impl Drop for Bundle {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in entries.flatten() {
            let _ = Command::new(hullrt_path())
                .arg("--root")
                .arg(&self.root)
                .args(["delete", "--force"])
                .arg(e.file_name())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A command's (exit code or -1, stdout, stderr), the output as text (lossy).
pub fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
