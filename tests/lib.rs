//! Helpers for the end-to-end tests: bundles with a busybox rootfs, and the real `hullrt`
//! binary run as root against them. Every test gets its own state root and bundle, so tests
//! run in parallel.

pub mod client_session;
pub mod client_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// target/debug (or release), found from the test executable's own path.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("target dir").to_path_buf()
}

/// The `hull` binary, after checking that the hull-monitor beside it is built and newer than
/// its sources: it is its own workspace (crates/monitor-bin), which `cargo build` at the root
/// does not build, and a stale one would fail tests far from the cause.
pub fn hull_bin() -> PathBuf {
    static STALE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let stale = STALE.get_or_init(|| {
        let mon = bin_dir().join("hull-monitor");
        let built = std::fs::metadata(&mon).and_then(|m| m.modified()).ok();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sources = newest(&root.join("crates/monitor-bin"));
        let sources = sources.max(newest(&root.join("crates/monitor")));
        let fresh = built.is_some_and(|b| Some(b) >= sources);
        (!fresh).then(|| {
            format!(
                "{} is missing or older than crates/monitor-bin or crates/monitor: \
                 run `cargo build-monitor` (its own workspace; scripts/test.sh builds it)",
                mon.display()
            )
        })
    });
    if let Some(msg) = stale {
        panic!("{msg}");
    }
    let p = bin_dir().join("hull");
    assert!(
        p.exists(),
        "{} missing: run `cargo build` first",
        p.display()
    );
    p
}

/// The newest modification time of the files under `dir`, leaving out build output.
fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    let mut best = None;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let t = if p.is_dir() {
            if e.file_name() == "target" {
                continue;
            }
            newest(&p)
        } else {
            e.metadata().and_then(|m| m.modified()).ok()
        };
        best = best.max(t);
    }
    best
}

pub fn hullrt_path() -> PathBuf {
    let p = bin_dir().join("hullrt");
    assert!(
        p.exists(),
        "{} missing: run `cargo build` first",
        p.display()
    );
    p
}

pub fn require_root() {
    assert!(
        nix_is_root(),
        "these tests run real containers and must run as root"
    );
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid cannot fail and has no side effects.
    unsafe { libc::geteuid() == 0 }
}

/// A static busybox, from Debian's busybox-static.
pub fn busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = PathBuf::from(p);
        if p.exists() {
            return p;
        }
    }
    panic!("busybox not found: apt-get install busybox-static");
}

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
        let out = self.hullrt(&["run", id]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
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

/// A process's namespace link, e.g. `ns_of("self", "net")` -> "net:[4026531840]".
pub fn ns_of(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
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

/// Every cgroup directory named `name` under the v1 hierarchies or the v2 tree.
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "4",
            "-type",
            "d",
            "-name",
            name,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// A unique container id for this test process.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

fn read_all(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut v = Vec::new();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}

/// Receives one message on `conn` with an fd attached by SCM_RIGHTS (a console socket's pty
/// master, a seccomp listener's notify fd): the message's bytes and the fd.
pub fn recv_with_fd(conn: &std::os::unix::net::UnixStream) -> (Vec<u8>, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = None;
    for c in msg.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: SCM_RIGHTS just installed this fd in our table; nothing else owns it.
            fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let n = msg.bytes;
    buf.truncate(n);
    (buf, fd.expect("an fd over SCM_RIGHTS"))
}

/// Polls `f` every 100 ms for up to `secs` seconds; whether it came true.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    f()
}

/// The state letter of process `pid` (R, S, T, Z...), or None once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The process that stopped itself at fault point `point` (`HULL_FAULT_STOP=point`, see
/// hull_sys::fault_point) with `HULL_FAULT_TAG=tag` in its environment: waits up to `secs`.
pub fn stopped_at(point: &str, tag: &str, secs: u64) -> Option<i32> {
    let want = [
        format!("HULL_FAULT_STOP={point}"),
        format!("HULL_FAULT_TAG={tag}"),
    ];
    let mut found = None;
    wait_for(secs, || {
        found = std::fs::read_dir("/proc").ok().and_then(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .find(|&pid| {
                    proc_state(pid) == Some('T')
                        && std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                            let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
                            want.iter().all(|w| vars.contains(&w.as_bytes()))
                        })
                })
        });
        found.is_some()
    });
    found
}

/// SIGKILL to `pid` (a process a test stopped at a fault point).
pub fn kill9(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// The pids in the cgroup directories named `name` (one list over all v1 hierarchies).
pub fn cgroup_procs(name: &str) -> Vec<i32> {
    let mut v: Vec<i32> = cgroup_dirs_named(name)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
