//! Waiting for, stopping and signalling a running container. Waiting is a connection to the
//! monitor's attach socket that reads until the EXIT frame (sent once the exit is recorded),
//! with no polling; a container whose monitor is gone is read from the database.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use hull_monitor::proto;

use crate::container::{self, Container, ContainerError};
use crate::engine::Engine;
use crate::ocirt::driver::RuntimeError;

#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("container {0} is not running")]
    NotRunning(String),
}

/// Connects to the monitor of container `id` (at any length of its socket's path).
pub fn connect(eng: &Engine, id: &str) -> Option<UnixStream> {
    hull_sys::fdpass::connect(&eng.paths.run_dir(id).join("attach")).ok()
}

/// Waits until the container's exit is recorded; its exit code, or None on timeout. A
/// container that is not running gives its recorded code at once.
pub fn wait_exit(eng: &Engine, c: &Container, timeout: Option<Duration>) -> Option<i32> {
    ExitWaiter::connect(eng, c, false).wait(eng, c, timeout)
}

/// A connection to a container's monitor that waits for the exit. With `record`, this
/// process records the exit and tears the container down when the monitor asks (WANT_HOOK,
/// as the foreground `run` does) instead of the monitor starting a `hull internal-hook`
/// process for it: `stop` and `rm -f` of many spare a process start per container. Connected
/// before the signal, so the monitor knows the connection when the init exits.
pub struct ExitWaiter {
    sock: Option<UnixStream>,
    record: bool,
}

impl ExitWaiter {
    pub fn connect(eng: &Engine, c: &Container, record: bool) -> ExitWaiter {
        let flags = if record { proto::WANT_HOOK } else { 0 };
        let sock = connect(eng, &c.id).and_then(|mut s| {
            proto::write_frame(&mut s, proto::HELLO, &[flags])
                .ok()
                .map(|_| s)
        });
        ExitWaiter { sock, record }
    }

    /// [`wait_exit`] on this connection.
    pub fn wait(self, eng: &Engine, c: &Container, timeout: Option<Duration>) -> Option<i32> {
        if let Some(mut s) = self.sock {
            let deadline = timeout.map(|t| Instant::now() + t);
            let mut hooked = None;
            loop {
                if let Some(d) = deadline {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    let _ = s.set_read_timeout(Some(left));
                }
                match proto::read_frame(&mut s) {
                    Ok(Some((proto::EXIT, p))) => return proto::payload_i32(&p),
                    Ok(Some((proto::HOOK, p))) if self.record => {
                        let code = proto::payload_i32(&p).unwrap_or(255);
                        // The monitor's own hook would apply the restart policy; so does
                        // this (a stop or rm set stop_requested first, so none follows).
                        let status = crate::ocirt::callback::exited(eng, &c.id, code);
                        if proto::write_frame(&mut s, proto::HOOK_DONE, &proto::i32_payload(status))
                            .is_err()
                        {
                            break;
                        }
                        if status != crate::ocirt::callback::RESTART {
                            hooked = Some(code);
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        return hooked;
                    }
                    Err(_) => break,
                }
            }
            if hooked.is_some() {
                return hooked;
            }
        }
        // No monitor (or it went away): the database, checked against the kernel.
        match container::lookup(&eng.conn, &c.id) {
            Ok(mut now) => {
                crate::container::reconcile::reconcile(eng, &mut now);
                if now.status.is_live() && now.pid > 0 && container::process_alive(now.pid) {
                    // Alive without a monitor socket: wait on the process itself.
                    if !crate::container::reconcile::wait_gone(now.pid, timeout) {
                        return None;
                    }
                    return Some(255);
                }
                Some(now.exit_code)
            }
            Err(_) => Some(c.exit_code),
        }
    }
}

/// `hull stop`: the stop signal, then KILL after `timeout` seconds; returns once the exit is
/// recorded. No restart policy applies afterwards.
pub fn stop(eng: &Engine, c: &Container, timeout: Option<u32>) -> Result<(), StopError> {
    if !c.status.is_live() {
        return Ok(());
    }
    container::set_stop_requested(&eng.conn, &c.id, true)?;
    let sig = crate::signal::number(c.config.stop_signal()).unwrap_or(15);
    let secs = timeout.unwrap_or_else(|| c.config.stop_timeout());
    if c.status == container::Status::Paused {
        let _ = eng.oci.resume(&c.id);
    }
    if crate::container::reconcile::running_monitor(eng, c) == 0 && c.pid > 0 {
        // An orphan: no monitor will record the exit or tear the container down.
        crate::container::reconcile::kill_init(eng, c, sig);
        let mut last = sig;
        if !crate::container::reconcile::wait_gone(
            c.pid,
            Some(Duration::from_secs(u64::from(secs))),
        ) {
            crate::container::reconcile::kill_init(eng, c, 9);
            last = 9;
            crate::container::reconcile::wait_gone(c.pid, Some(Duration::from_secs(60)));
        }
        crate::container::reconcile::finish_orphan(eng, &mut c.clone(), 128 + last);
        return Ok(());
    }
    crate::events::container(&eng.paths, c, "kill", &[("signal", sig.to_string())]);
    let waiter = ExitWaiter::connect(eng, c, true);
    let _ = eng.oci.kill(&c.id, sig);
    hull_sys::fault_point("hull-stop-signalled");
    if waiter
        .wait(eng, c, Some(Duration::from_secs(u64::from(secs))))
        .is_none()
    {
        crate::events::container(&eng.paths, c, "kill", &[("signal", "9".into())]);
        let waiter = ExitWaiter::connect(eng, c, true);
        let _ = eng.oci.kill(&c.id, 9);
        thaw_after_kill(eng, c, 9);
        waiter.wait(eng, c, Some(Duration::from_secs(60)));
    }
    crate::events::container(&eng.paths, c, "stop", &[]);
    Ok(())
}

/// `hull kill`: one signal to the container's init.
pub fn kill(eng: &Engine, c: &Container, signal: i32) -> Result<(), StopError> {
    if !c.status.is_live() {
        return Err(StopError::NotRunning(c.name.clone()));
    }
    container::set_stop_requested(&eng.conn, &c.id, true)?;
    crate::events::container(&eng.paths, c, "kill", &[("signal", signal.to_string())]);
    eng.oci.kill(&c.id, signal)?;
    thaw_after_kill(eng, c, signal);
    Ok(())
}

/// A paused container's frozen init dies of a SIGKILL only once thawed: as docker, resume
/// it after sending one (the status turns with the exit).
pub(crate) fn thaw_after_kill(eng: &Engine, c: &Container, signal: i32) {
    if signal == 9 && c.status == crate::Status::Paused {
        let _ = eng.oci.resume(&c.id);
    }
}

impl Engine {
    /// `stop`: the container's stop signal, KILL after `timeout` seconds (its own or docker's
    /// default when None). A stopped container is left as it is.
    pub fn stop(&self, key: &str, timeout: Option<u32>) -> crate::Result<()> {
        let c = self.lookup(key)?;
        Ok(stop(self, &c, timeout)?)
    }

    /// `kill`: `signal` to the container's init (Error::NotRunning when it does not run).
    pub fn kill(&self, key: &str, signal: i32) -> crate::Result<()> {
        let c = self.lookup(key)?;
        Ok(kill(self, &c, signal)?)
    }

    /// `wait`: blocks until the container stops; its exit code (-1 when none is known).
    pub fn wait(&self, key: &str) -> crate::Result<i32> {
        let c = self.lookup(key)?;
        Ok(wait_exit(self, &c, None).unwrap_or(-1))
    }
}
