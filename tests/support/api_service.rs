//! `hull system service` for a test file: its own root, runroot and socket, started once per
//! file (keep it in a `OnceLock`) and torn down when the test binary exits, with what it
//! left behind (processes, mounts) failing the run; the docker CLI pointed at it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::client_support::{leftovers, stop_child, wait_until};
use crate::procs::unmount_under;

pub struct Service {
    pub dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

impl Service {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    /// Starts the service and waits for its socket.
    pub fn start() -> Service {
        crate::require_root();
        let dir = tempfile::Builder::new()
            .prefix("hull-api-")
            .tempdir()
            .unwrap();
        let s = Service {
            dir,
            child: Mutex::new(None),
        };
        let log = std::fs::File::create(s.dir.path().join("service.log")).unwrap();
        let child = Command::new(crate::hull_bin())
            .arg("--root")
            .arg(s.root())
            .arg("--runroot")
            .arg(s.runroot())
            .args(["system", "service", "--socket"])
            .arg(format!("unix://{}", s.socket().display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        *s.child.lock().unwrap() = Some(child);
        let sock = s.socket();
        wait_until("the service's socket", Duration::from_secs(20), || {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        });
        s
    }

    /// The service's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }

    /// `hull` itself on the service's state.
    pub fn hull(&self, args: &[&str]) -> Output {
        Command::new(crate::hull_bin())
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The docker CLI at `bin` against the service (stdin closed).
    pub fn client(&self, bin: &str, args: &[&str]) -> Command {
        assert!(Path::new(bin).exists(), "{bin} is not installed");
        let mut c = Command::new(bin);
        c.env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_API_VERSION")
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Stops the service; what it left behind, one line each.
    pub fn teardown(&self) -> Vec<String> {
        // Containers still there (a failed test's) go first, through hull itself.
        let ps = self.hull(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ps.stdout).split_whitespace() {
            self.hull(&["rm", "-f", id]);
        }
        if let Some(mut c) = self.child.lock().unwrap().take() {
            stop_child(&mut c);
        }
        let mut left = leftovers(&self.dir.path().to_string_lossy(), None);
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = self.dir.path().to_string_lossy().into_owned();
        left.extend(
            mounts
                .lines()
                .filter_map(|l| l.split(' ').nth(4))
                .filter(|m| m.starts_with(&dir))
                .map(|m| format!("mount {m}")),
        );
        unmount_under(self.dir.path());
        // The TempDir lives in a static, which is never dropped: removed here.
        let _ = std::fs::remove_dir_all(self.dir.path());
        left
    }
}

/// The client: $HULL_API_DOCKER, else docker 28's CLI where it is installed, else Debian's
/// docker.io (20.10, which scripts/deps.sh installs).
pub fn docker_bin() -> String {
    if let Ok(b) = std::env::var("HULL_API_DOCKER") {
        return b;
    }
    ["/usr/local/bin/docker", "/usr/bin/docker"]
        .into_iter()
        .find(|b| Path::new(b).exists())
        .unwrap_or("docker")
        .to_string()
}

/// Output as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The output of a command that must succeed.
pub fn ok_output(mut cmd: Command) -> String {
    let what = format!("{cmd:?}");
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}
