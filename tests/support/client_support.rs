//! What the real-client tests (tests/clients/, and the docker pair) share: finding the
//! clients' binaries, a private containerd and dockerd, teardown when the test binary exits,
//! and the checks that a client left nothing behind (processes, mounts, cgroups). The busybox
//! image they load is `image::busybox_archive`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::read_all;

/// The installed `bin`, or a panic naming the package that provides it.
pub fn require(bin: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(bin);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{bin} is not installed: apt-get install containerd podman conmon docker.io \
         containernetworking-plugins (scripts/deps.sh)"
    );
}

pub fn runc() -> PathBuf {
    require("runc")
}

/// The two runtimes every client test drives: hullrt, and runc as the control.
pub fn runtimes() -> [(&'static str, PathBuf); 2] {
    [("hullrt", crate::hullrt_path()), ("runc", runc())]
}

pub fn out_text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd` with stdin closed and its output in files, not pipes: a detached container's
/// shim or conmon inherits the client's stdout and would keep a pipe open forever.
pub fn output_via_files(cmd: &mut Command) -> Output {
    output_with_input(cmd.stdin(Stdio::null()))
}

/// As output_via_files, with `input` as the command's stdin (a file holding it).
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::{Seek, Write};
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(input).unwrap();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    output_with_input(cmd.stdin(f))
}

fn output_with_input(cmd: &mut Command) -> Output {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    let status = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .status()
        .unwrap();
    Output {
        status,
        stdout: read_all(out),
        stderr: read_all(err),
    }
}

/// `cmd` run under `script`, which gives it a terminal of its own (`-it` needs one).
pub fn under_pty(cmd: &Command) -> Output {
    require("script");
    let mut line = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            line.push_str(&format!(
                "{}={} ",
                k.to_string_lossy(),
                shell_quote(&v.to_string_lossy())
            ));
        }
    }
    line.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(&a.to_string_lossy()));
    }
    Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Teardowns to run when the test binary exits, after its last test: each returns what its
/// client left behind, and if any did, the binary exits 101 with the list on stderr.
static AT_EXIT: std::sync::Mutex<Vec<Teardown>> = std::sync::Mutex::new(Vec::new());

/// A client's teardown: what it left behind, one line each.
pub type Teardown = fn() -> Vec<String>;

/// Runs `teardown` when the test binary exits (a client shared by a file's tests is started
/// once, in a static, which Rust never drops).
pub fn on_exit(teardown: Teardown) {
    let mut list = AT_EXIT.lock().unwrap();
    if list.is_empty() {
        // SAFETY: run_at_exit is an extern "C" fn without arguments, as atexit requires;
        // the test harness's exit runs it once after the last test.
        unsafe { libc::atexit(run_at_exit) };
    }
    list.push(teardown);
}

extern "C" fn run_at_exit() {
    let list = std::mem::take(&mut *AT_EXIT.lock().unwrap());
    let left: Vec<String> = list.into_iter().flat_map(|f| f()).collect();
    if !left.is_empty() {
        eprintln!("the clients left behind:\n  {}", left.join("\n  "));
        // SAFETY: _exit ends the process at once, with the status that fails the run.
        unsafe { libc::_exit(101) };
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// A containerd of our own under `dir`: root, state and socket there, nothing on TCP.
/// `extra` is appended to its config (the CRI plugin's section, or nothing and CRI off).
/// A private dockerd's command line: its state (data root, exec root, pidfile, socket
/// `DIR/d.sock`) all under `dir`, the given containerd, no iptables, no bridge, containers under
/// the cgroup `/cgroup_parent`; stdio to `DIR/dockerd.log`. Callers add their own flags.
pub fn dockerd_command(dir: &Path, containerd: &ContainerdDaemon, cgroup_parent: &str) -> Command {
    let bin = require("dockerd");
    std::fs::write(dir.join("daemon.json"), "{}").unwrap();
    let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--containerd")
        .arg(&containerd.sock)
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("dockerd.pid"))
        .arg("-H")
        .arg(format!("unix://{}", dir.join("d.sock").display()))
        .args(["--iptables=false", "--ip6tables=false", "--ip-masq=false"])
        .args(["--bridge=none", "--userland-proxy=false"])
        .arg("--cgroup-parent")
        .arg(format!("/{cgroup_parent}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    cmd
}

/// A private dockerd started by a test: its own directory under /tmp (state and socket
/// `d.sock`, see [`dockerd_command`]), its own containerd and cgroup parent.
pub struct PrivateDockerd {
    pub dir: PathBuf,
    /// The cgroup parent its containers go under: unique to this process.
    pub cgroup_parent: String,
    daemon: std::sync::Mutex<Option<Child>>,
    containerd: std::sync::Mutex<Option<ContainerdDaemon>>,
}

impl PrivateDockerd {
    /// Starts one in a new directory `/tmp/PREFIX*` (short: dockerd and containerd put unix
    /// sockets under it), dockerd with `extra` flags after [`dockerd_command`]'s. Returns
    /// when it is spawned; callers wait for it to answer.
    pub fn start(prefix: &str, extra: &[&str]) -> PrivateDockerd {
        crate::require_root();
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let containerd = ContainerdDaemon::start(&dir, None);
        let cgroup_parent = format!("{prefix}{}", std::process::id());
        let daemon = dockerd_command(&dir, &containerd, &cgroup_parent)
            .args(extra)
            .spawn()
            .unwrap();
        PrivateDockerd {
            dir,
            cgroup_parent,
            daemon: std::sync::Mutex::new(Some(daemon)),
            containerd: std::sync::Mutex::new(Some(containerd)),
        }
    }

    /// Its API socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("d.sock")
    }

    /// Stops dockerd and its containerd, then removes its mounts, cgroups and directory.
    /// Returns what was left under its directory while the daemons ran ([`leftovers`]).
    pub fn stop(&self) -> Vec<String> {
        if let Some(mut d) = self.daemon.lock().unwrap().take() {
            stop_child(&mut d);
        }
        if let Some(mut c) = self.containerd.lock().unwrap().take() {
            c.stop();
        }
        let left = leftovers(&self.dir.to_string_lossy(), None);
        crate::unmount_under(&self.dir);
        remove_cgroups(&self.cgroup_parent);
        let _ = std::fs::remove_dir_all(&self.dir);
        left
    }
}

pub struct ContainerdDaemon {
    pub sock: PathBuf,
    daemon: Child,
}

impl ContainerdDaemon {
    pub fn start(dir: &Path, extra: Option<&str>) -> ContainerdDaemon {
        crate::require_root();
        let bin = require("containerd");
        require("containerd-shim-runc-v2");
        let d = dir.display();
        let cri = match extra {
            Some(_) => "",
            None => "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n",
        };
        let config = format!(
            "version = 2\nroot = \"{d}/ctd-root\"\nstate = \"{d}/ctd-state\"\n{cri}\
             [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"\"\n\
             [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n{}",
            extra.unwrap_or("")
        );
        std::fs::write(dir.join("containerd.toml"), config).unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new(bin)
            .arg("--config")
            .arg(dir.join("containerd.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = ContainerdDaemon {
            sock: dir.join("c.sock"),
            daemon,
        };
        wait_until("containerd to answer", Duration::from_secs(30), || {
            c.ctr("default", &["version"]).status.success()
        });
        c
    }

    pub fn ctr_cmd(&self, ns: &str) -> Command {
        let mut c = Command::new(require("ctr"));
        c.arg("--address")
            .arg(&self.sock)
            .arg("--namespace")
            .arg(ns);
        c
    }

    pub fn ctr(&self, ns: &str, args: &[&str]) -> Output {
        output_via_files(self.ctr_cmd(ns).args(args))
    }

    /// The ids of the tasks containerd still has in `ns`.
    pub fn tasks(&self, ns: &str) -> Vec<String> {
        let o = self.ctr(ns, &["task", "ls", "-q"]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// SIGTERM, then wait for it to exit.
    pub fn stop(&mut self) {
        stop_child(&mut self.daemon);
    }
}

impl Drop for ContainerdDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends SIGTERM to `child` and reaps it; SIGKILL if it has not exited after 20 s.
pub fn stop_child(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What a client left behind that mentions `needle` (its private directory, or a container
/// id): processes whose command line names it (shims carry their daemon's socket path and
/// the container id), mounts under or naming it, and cgroup directories whose name contains `cgroup`.
pub fn leftovers(needle: &str, cgroup: Option<&str>) -> Vec<String> {
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) {
            found.push(format!("process {name}: {}", cmd.trim()));
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for l in mounts.lines().filter(|l| l.contains(needle)) {
        found.push(format!("mount: {l}"));
    }
    if let Some(cg) = cgroup {
        // Named as the id (docker's cgroupfs driver) or with a prefix (podman's libpod-ID).
        let dirs = Command::new("find")
            .args(["/sys/fs/cgroup", "-maxdepth", "5", "-type", "d", "-name"])
            .arg(format!("*{cg}*"))
            .output()
            .unwrap();
        for p in String::from_utf8_lossy(&dirs.stdout).lines() {
            found.push(format!("cgroup: {p}"));
        }
    }
    found
}

/// Removes the (empty) cgroup directories named `name` in every hierarchy, children first.
pub fn remove_cgroups(name: &str) {
    for p in crate::cgroup_dirs_named(name) {
        let _ = Command::new("find")
            .arg(&p)
            .args(["-depth", "-type", "d", "-exec", "rmdir", "{}", ";"])
            .status();
    }
}

/// Every step where two transcripts (hullrt's, runc's) differ, one line each, or "".
pub fn transcript_diff(hullrt: &[String], runc: &[String]) -> String {
    let mut out = String::new();
    for i in 0..hullrt.len().max(runc.len()) {
        let (a, b) = (hullrt.get(i), runc.get(i));
        if a != b {
            out.push_str(&format!(
                "\n  step {i}:\n    hullrt: {a:?}\n    runc:   {b:?}"
            ));
        }
    }
    out
}
