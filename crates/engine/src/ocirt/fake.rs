//! Fakes of the lifecycle's seams, for unit tests without root: an OCI runtime, a monitor and
//! a bundler that record what they are asked, in order, in one [`Journal`], and fail where a
//! test tells them to. The fake monitor speaks the monitor's side of the start handshake
//! (crate::ocirt::monitor) on a thread, as the script says; the engine's own code (the
//! handshake, the state, the rollback) is the real one.

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use hull_monitor::proto;

use super::driver::{Deleting, ExecCall, OciRuntime, RuntimeError};
use super::monitor::Monitor;
use crate::bundle::Bundler;
use crate::container::start::{Attach, StartError};
use crate::container::Container;
use crate::engine::Engine;
use crate::image::ImageInfo;
use crate::Paths;

/// Every call the fakes were asked, in order: "runtime kill 9", "bundle prepare"...
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }

    /// What was asked so far.
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// The steps a test makes fail: "runtime kill", "bundle prepare", "monitor spawn"...
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<BTreeSet<String>>>);

impl Faults {
    pub fn set(&self, step: &str) {
        self.0.lock().unwrap().insert(step.into());
    }

    fn has(&self, step: &str) -> bool {
        self.0.lock().unwrap().contains(step)
    }
}

/// What the fake monitor says after the starter's HELLO.
#[derive(Clone, Debug)]
pub enum Script {
    /// STARTED with this init pid (no terminal).
    Started(i32),
    /// CREATED with this pid, then (after GO) STARTED (a terminal).
    CreatedThenStarted(i32),
    /// ERROR with the runtime's message.
    Error(String),
    /// Writes this message where the network's createRuntime hook leaves its failure, then
    /// hangs up, as a monitor whose runtime's create failed in the hook.
    HookFailed(String),
    /// Hangs up at once (the monitor died).
    Exit,
}

/// The fake OCI runtime.
pub struct FakeRuntime {
    pub journal: Journal,
    pub faults: Faults,
    /// What an exec runs: a `sh -c` script, with the process file in `$PROCESS` and the pid
    /// file in `$PID_FILE`.
    pub exec_script: Arc<Mutex<String>>,
}

impl FakeRuntime {
    fn call(&self, verb: &str, args: &str) -> Result<(), RuntimeError> {
        self.journal
            .push(format!("runtime {verb} {args}").trim_end().to_string());
        match self.faults.has(&format!("runtime {verb}")) {
            true => Err(RuntimeError {
                runtime: "fake".into(),
                verb: verb.into(),
                msg: "injected failure".into(),
            }),
            false => Ok(()),
        }
    }
}

impl OciRuntime for FakeRuntime {
    fn kill(&self, _id: &str, signal: i32) -> Result<(), RuntimeError> {
        self.call("kill", &signal.to_string())
    }

    fn pause(&self, _id: &str) -> Result<(), RuntimeError> {
        self.call("pause", "")
    }

    fn resume(&self, _id: &str) -> Result<(), RuntimeError> {
        self.call("resume", "")
    }

    fn delete_force(&self, _id: &str) {
        let _ = self.call("delete", "--force");
    }

    fn start_delete(&self, _id: &str) -> Deleting {
        let _ = self.call("delete-start", "");
        let j = self.journal.clone();
        Deleting::new(move || j.push("runtime delete-wait"))
    }

    fn update(&self, _id: &str, resources: &serde_json::Value) -> Result<(), RuntimeError> {
        self.call("update", &resources.to_string())
    }

    fn exec(&self, _id: &str, call: &ExecCall) -> Command {
        let mut flags = Vec::new();
        if call.console_socket.is_some() {
            flags.push("--console-socket");
        }
        if call.detach {
            flags.push("--detach");
        }
        let _ = self.call("exec", &flags.join(" "));
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(self.exec_script.lock().unwrap().as_str())
            .current_dir(&call.dir)
            .env("PROCESS", &call.process)
            .env("PID_FILE", call.pid_file.clone().unwrap_or_default());
        cmd
    }
}

/// The fake monitor: its pid is [`FakeMonitor::PID`]; it plays `script`.
pub struct FakeMonitor {
    pub journal: Journal,
    pub faults: Faults,
    pub script: Arc<Mutex<Script>>,
    /// Where the hook's failure is left (the container's run directory).
    pub paths: Paths,
}

impl FakeMonitor {
    pub const PID: i32 = 4_000_001;
}

impl Monitor for FakeMonitor {
    fn spawn(
        &self,
        _eng: &Engine,
        c: &Container,
        theirs: OwnedFd,
        at: Attach,
    ) -> Result<i32, StartError> {
        self.journal.push("monitor spawn");
        if self.faults.has("monitor spawn") {
            return Err(StartError::Io {
                path: "fake hull-monitor".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let script = self.script.lock().unwrap().clone();
        let hook_error = self.paths.run_dir(&c.id).join("hook-error");
        let journal = self.journal.clone();
        std::thread::spawn(move || play(UnixStream::from(theirs), script, hook_error, journal, at));
        Ok(Self::PID)
    }
}

/// The monitor's side of the handshake, as `script` says; then reads until the starter
/// hangs up (it stays connected as the first attach client).
fn play(mut s: UnixStream, script: Script, hook_error: PathBuf, j: Journal, at: Attach) {
    match proto::read_frame(&mut s) {
        Ok(Some((proto::HELLO, p))) if p == [at.want] => j.push("monitor hello"),
        other => {
            j.push(format!("monitor expected HELLO, got {other:?}"));
            return;
        }
    }
    let go = |s: &mut UnixStream| matches!(proto::read_frame(s), Ok(Some((proto::GO, _))));
    match script {
        Script::Started(pid) => {
            let _ = proto::write_frame(&mut s, proto::STARTED, &pid.to_le_bytes());
            if go(&mut s) {
                j.push("monitor go");
            }
        }
        Script::CreatedThenStarted(pid) => {
            let _ = proto::write_frame(&mut s, proto::CREATED, &pid.to_le_bytes());
            if !go(&mut s) {
                return;
            }
            j.push("monitor go");
            let _ = proto::write_frame(&mut s, proto::STARTED, &pid.to_le_bytes());
        }
        Script::Error(msg) => {
            let _ = proto::write_frame(&mut s, proto::ERROR, msg.as_bytes());
            return;
        }
        Script::HookFailed(msg) => {
            let _ = std::fs::write(hook_error, msg);
            return;
        }
        Script::Exit => return,
    }
    while let Ok(Some(_)) = proto::read_frame(&mut s) {}
}

/// The fake bundler: makes (and removes) the run directory, nothing else.
pub struct FakeBundler {
    pub journal: Journal,
    pub faults: Faults,
}

impl Bundler for FakeBundler {
    fn prepare(
        &self,
        eng: &Engine,
        c: &Container,
        _img: Option<&ImageInfo>,
    ) -> Result<(), StartError> {
        self.journal.push("bundle prepare");
        let dir = eng.paths.run_dir(&c.id);
        std::fs::create_dir_all(&dir).map_err(|source| StartError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        match self.faults.has("bundle prepare") {
            true => Err(StartError::Runtime {
                msg: "injected failure".into(),
                code: 125,
            }),
            false => Ok(()),
        }
    }

    fn unprepare(&self, eng: &Engine, c: &Container) {
        self.journal.push("bundle unprepare");
        let _ = std::fs::remove_dir_all(eng.paths.run_dir(&c.id));
    }

    fn release(&self, _eng: &Engine, _c: &Container) {
        self.journal.push("bundle release");
    }
}

/// An engine over a temporary root, with the fakes; its journal, faults and the monitor's
/// script to steer them.
pub struct Rig {
    pub eng: Engine,
    pub journal: Journal,
    pub faults: Faults,
    pub script: Arc<Mutex<Script>>,
    /// The fake runtime's exec script ([`FakeRuntime::exec_script`]).
    pub exec_script: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Default for Rig {
    fn default() -> Rig {
        Rig::new()
    }
}

impl Rig {
    pub fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        let mut eng = Engine::open(paths.clone(), Some("/nonexistent/runtime".into())).unwrap();
        let (journal, faults) = (Journal::default(), Faults::default());
        let script = Arc::new(Mutex::new(Script::Started(4_000_002)));
        let exec_script = Arc::new(Mutex::new(String::from("exit 0")));
        eng.oci = Box::new(FakeRuntime {
            journal: journal.clone(),
            faults: faults.clone(),
            exec_script: exec_script.clone(),
        });
        eng.monitor = Box::new(FakeMonitor {
            journal: journal.clone(),
            faults: faults.clone(),
            script: script.clone(),
            paths,
        });
        eng.bundler = Box::new(FakeBundler {
            journal: journal.clone(),
            faults: faults.clone(),
        });
        Rig {
            eng,
            journal,
            faults,
            script,
            exec_script,
            _dir: dir,
        }
    }

    pub fn script(&self, s: Script) {
        *self.script.lock().unwrap() = s;
    }

    /// Stores a container named `name` (no network of its own: --network none) as `status`,
    /// with `pid` as its init's.
    pub fn container(&self, name: &str, f: impl FnOnce(&mut Container)) -> Container {
        let mut c = Container::new(
            crate::container::names::new_id(),
            name.into(),
            "img".into(),
            "busybox".into(),
            Default::default(),
        );
        c.config.network_mode = "none".into();
        f(&mut c);
        crate::container::insert(&self.eng.conn, &c).unwrap();
        self.get(&c.id)
    }

    /// The container as stored now (None once removed).
    pub fn get(&self, id: &str) -> Container {
        crate::container::lookup(&self.eng.conn, id).unwrap()
    }

    pub fn exists(&self, id: &str) -> bool {
        crate::container::lookup(&self.eng.conn, id).is_ok()
    }
}

/// A pid no process has (above the kernel's pid_max).
pub const DEAD_PID: i32 = i32::MAX - 1;
