//! One `hull system service` for a test file (tests/clients/api_*.rs): its own root, runroot
//! and socket under a temp dir, started once and stopped when the test binary exits, when
//! what it left (processes, mounts) fails the run. Clients reach it with
//! `DOCKER_HOST=unix://...` ([`ApiService::client`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::client_support::{leftovers, stop_child, wait_until};
use crate::procs::unmount_under;

pub struct ApiService {
    pub dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

impl ApiService {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    pub fn start() -> ApiService {
        crate::require_root();
        let dir = tempfile::Builder::new()
            .prefix("hull-api-")
            .tempdir()
            .unwrap();
        let s = ApiService {
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

    /// A client program (`docker`, `docker-compose`) at `bin` pointed at the service.
    pub fn client(&self, bin: &str, args: &[&str]) -> Command {
        assert!(
            Path::new(bin).exists() || !bin.contains('/'),
            "{bin} is not installed"
        );
        let mut c = Command::new(bin);
        c.env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
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
        unmount_under(self.dir.path());
        left.dedup();
        left
    }
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
