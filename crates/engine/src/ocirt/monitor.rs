//! hull-monitor, the process that runs the runtime's create and start, holds the container's
//! stdio and records its exit: its spawn (behind the [`Monitor`] trait, so the start can be
//! tested with a fake that speaks the protocol) and the starter's side of the handshake over
//! their socketpair: HELLO with what the starter attaches; CREATED (with a terminal, before
//! the start) or STARTED with the init pid, on which the starter records "running" and
//! answers GO; or ERROR with the runtime's message.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use hull_monitor::proto;

use crate::container::start::{runtime_error, Attach, StartError};
use crate::container::{self, Container};
use crate::engine::{find_binary, Engine};

/// Spawns the monitor of a start.
pub trait Monitor {
    /// Spawns the monitor of `c`, its end of the socketpair as stdin; its pid.
    fn spawn(
        &self,
        eng: &Engine,
        c: &Container,
        theirs: OwnedFd,
        at: Attach,
    ) -> Result<i32, StartError>;
}

/// The hull-monitor binary next to hull (or in PATH).
pub struct HullMonitor;

impl Monitor for HullMonitor {
    fn spawn(
        &self,
        eng: &Engine,
        c: &Container,
        theirs: OwnedFd,
        at: Attach,
    ) -> Result<i32, StartError> {
        let monitor = find_binary("hull-monitor")?;
        let io_err = |source| StartError::Io {
            path: monitor.display().to_string(),
            source,
        };
        let mut cmd = Command::new(&monitor);
        cmd.arg("--id")
            .arg(&c.id)
            .arg("--runtime")
            .arg(&eng.runtime)
            .arg("--runtime-root")
            .arg(eng.paths.runtime_root())
            .arg("--bundle")
            .arg(eng.paths.run_dir(&c.id))
            .arg("--log")
            .arg(eng.paths.log_file(&c.id))
            .arg("--log-driver")
            .arg(c.config.log_driver())
            .arg("--sync");
        if c.config.tty {
            cmd.arg("--tty");
        }
        if c.config.open_stdin {
            cmd.arg("--stdin");
        }
        // The monitor's timer for the healthcheck (crate::container::health).
        if let Some(ns) = crate::container::health::monitor_interval(c) {
            cmd.args(["--health-interval", &ns.to_string()]);
        }
        if let Some((r, col)) = at.size {
            cmd.args(["--rows", &r.to_string(), "--cols", &col.to_string()]);
        }
        // The sockets reserving the published ports: inherited (close-on-exec cleared just
        // for this spawn) and kept by the monitor; ours close when `held` drops below.
        let held = crate::network::ports::take(&c.id);
        for fd in &held {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
            )
            .map_err(|e| io_err(e.into()))?;
            cmd.args(["--hold", &fd.as_raw_fd().to_string()]);
        }
        // Traced (`hull --log-level`): the monitor and its exit hook get the level and write
        // to our stderr, as podman passes --log-level to conmon.
        let mut hook = hook_command(eng);
        let stderr = match hull_trace::current_level() {
            Some(level) => {
                cmd.args(["--log-level", level]);
                hook.splice(1..1, ["--log-level".to_string(), level.to_string()]);
                Stdio::inherit()
            }
            None => Stdio::null(),
        };
        cmd.arg("--").args(hook);
        let child = cmd
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io_err)?;
        let pid = child.id() as i32;
        crate::children::leave(child);
        Ok(pid)
    }
}

/// The command the monitor runs at each exit: this hull, same state, hidden verb.
pub fn hook_command(eng: &Engine) -> Vec<String> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hull"));
    vec![
        exe.display().to_string(),
        "--root".into(),
        eng.paths.root.display().to_string(),
        "--runroot".into(),
        eng.paths.runroot.display().to_string(),
        "--runtime".into(),
        eng.runtime.display().to_string(),
        "internal-hook".into(),
    ]
}

/// The starter's side of the handshake: the init pid once the container runs, recorded
/// "running" (with `monitor_pid`) before the monitor is told GO.
pub fn handshake(
    eng: &Engine,
    c: &Container,
    s: &mut UnixStream,
    monitor_pid: i32,
    at: Attach,
) -> Result<i32, StartError> {
    let gone = || runtime_error("hull-monitor exited before the container started".into());
    let send =
        |s: &mut UnixStream, k: u8, p: &[u8]| proto::write_frame(s, k, p).map_err(|_| gone());
    let running = |pid: i32| -> Result<(), StartError> {
        let now = crate::time::nanotime::now_nanos();
        container::set_running(&eng.conn, &c.id, pid, monitor_pid, &now)?;
        // Before GO: the monitor records no exit (and no die event) before it.
        crate::events::container(&eng.paths, c, "start", &[]);
        Ok(())
    };
    send(s, proto::HELLO, &[at.want])?;
    let mut pid = 0;
    loop {
        match proto::read_frame(s) {
            // With a terminal: created, not started yet.
            Ok(Some((proto::CREATED, p))) => {
                hull_sys::fault_point("hull-start-created");
                pid = proto::payload_i32(&p).unwrap_or(0);
                running(pid)?;
                send(s, proto::GO, &[])?;
            }
            // The monitor records no exit before our GO, so this write cannot come after it.
            Ok(Some((proto::STARTED, p))) => {
                hull_sys::fault_point("hull-start-started");
                if pid == 0 {
                    pid = proto::payload_i32(&p).unwrap_or(0);
                    running(pid)?;
                    send(s, proto::GO, &[])?;
                }
                return Ok(pid);
            }
            Ok(Some((proto::ERROR, msg))) => {
                return Err(runtime_error(String::from_utf8_lossy(&msg).into_owned()))
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return Err(gone()),
        }
    }
}
