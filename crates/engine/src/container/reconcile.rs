//! A container's recorded state against reality: the runtime's pid file, the init and the
//! monitor as the kernel sees them. A `kill -9` of hull, of the monitor or of the runtime
//! leaves a row that says otherwise; the next command that looks at the container (and
//! `hull system check`) sets it right here:
//! - a start whose hull died after the runtime made the init, before "running" was written:
//!   the row says created (or exited) with pid 0 while the container runs. It is adopted:
//!   recorded running, with the monitor the bundle names.
//! - init and monitor both gone before the exit was written: the exit is recorded and the
//!   container torn down (runtime state, mounts, network) as the monitor's exit hook would.
//! - init alive, monitor gone (an orphan): stop, rm and `system check --repair` stop it
//!   through the runtime and then tear it down here (`finish_orphan`).

use crate::container::{self, Container, Status};
use crate::engine::Engine;

/// The runtime's pid file in the bundle (`--pid-file pid`, see crates/monitor-bin/src/start.rs).
const PID_FILE: &str = "pid";
/// The monitor's own pid, written as it starts (crates/monitor-bin/src/main.rs).
const MONITOR_PID_FILE: &str = "monitor.pid";

fn read_pid(path: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 0)
}

/// `pid` is alive and in container `id`'s cgroup (not a reused pid).
fn is_init_of(pid: i32, id: &str) -> bool {
    container::process_alive(pid)
        && std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|s| s.contains(id))
}

/// `pid` is a live hull-monitor.
pub fn monitor_alive(pid: i32) -> bool {
    pid > 0
        && container::process_alive(pid)
        && std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|s| s.trim() == "hull-monitor")
}

/// The init that the runtime made for the container's last start, if it still runs.
pub fn running_init(eng: &Engine, c: &Container) -> Option<i32> {
    read_pid(&eng.paths.run_dir(&c.id).join(PID_FILE)).filter(|&p| is_init_of(p, &c.id))
}

/// The container's monitor, if it still runs (0 if not).
pub fn running_monitor(eng: &Engine, c: &Container) -> i32 {
    let recorded = c.monitor_pid;
    if monitor_alive(recorded) {
        return recorded;
    }
    read_pid(&eng.paths.run_dir(&c.id).join(MONITOR_PID_FILE))
        .filter(|&p| monitor_alive(p))
        .unwrap_or(0)
}

/// Waits for process `pid` (not our child) to end; false on timeout.
pub fn wait_gone(pid: i32, timeout: Option<std::time::Duration>) -> bool {
    let Ok(fd) = hull_sys::pidfd_open(pid) else {
        return true;
    };
    let ms = timeout
        .map(|t| t.as_millis().min(i32::MAX as u128) as i32)
        .unwrap_or(-1);
    let mut pfd = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&fd),
        nix::poll::PollFlags::POLLIN,
    )];
    let t = nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::NONE);
    nix::poll::poll(&mut pfd, t).unwrap_or(0) > 0 || !container::process_alive(pid)
}

/// Sets `c` (and its row) to what the kernel says. See the module comment.
pub fn reconcile(eng: &Engine, c: &mut Container) {
    if !c.status.is_live() {
        let Some(pid) = running_init(eng, c) else {
            return;
        };
        let monitor = running_monitor(eng, c);
        let now = crate::time::nanotime::now_nanos();
        if container::set_running(&eng.conn, &c.id, pid, monitor, &now).is_ok() {
            c.status = Status::Running;
            c.pid = pid;
            c.monitor_pid = monitor;
            c.started_at = Some(now);
            c.finished_at = None;
        }
        return;
    }
    if c.pid > 0 && container::process_alive(c.pid) {
        return;
    }
    // A live monitor records the exit itself (and may be restarting the container: its
    // recorded pid is then the last one, dead).
    if running_monitor(eng, c) > 0 {
        return;
    }
    let code = std::fs::read_to_string(eng.paths.exit_file(&c.id))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(255);
    finish(eng, c, code);
}

/// Signals the container's init through the runtime; straight to the pid (checked to be
/// the container's) when the runtime has no state for it.
pub fn kill_init(eng: &Engine, c: &Container, sig: i32) {
    if eng.oci.kill(&c.id, sig).is_err() && is_init_of(c.pid, &c.id) {
        if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.pid), s);
        }
    }
}

/// SIGKILL to a running container's init from this process, through a pidfd taken before
/// the pid is checked to be the container's (so no process that took the pid since can get
/// it). What `rm -f` does instead of starting the runtime's `kill`: with the init gone, the
/// exit's teardown runs the runtime's `delete --force`, which kills whatever else is left in
/// the container's cgroup, as after `runtime kill`. Not for a paused container (a frozen
/// init dies only once thawed, which the runtime does). False when it was not sent.
pub fn sigkill_init(c: &Container) -> bool {
    if c.status != Status::Running || c.pid <= 0 {
        return false;
    }
    let Ok(fd) = hull_sys::pidfd_open(c.pid) else {
        return false;
    };
    is_init_of(c.pid, &c.id)
        && hull_sys::pidfd_send_signal(std::os::fd::AsFd::as_fd(&fd), libc::SIGKILL).is_ok()
}

/// An orphan (init alive, monitor dead) that stop, rm or repair killed: once its init is
/// gone, its exit is recorded (`code`: 128 + the signal that ended it; no monitor saw the
/// real status) and it is torn down.
pub fn finish_orphan(eng: &Engine, c: &mut Container, code: i32) {
    if c.pid > 0 && container::process_alive(c.pid) {
        return;
    }
    finish(eng, c, code);
}

/// Records the exit and tears the container down as the monitor's exit hook does, with no
/// restart (no monitor is left to do it).
fn finish(eng: &Engine, c: &mut Container, code: i32) {
    crate::ocirt::callback::record_exit(eng, &c.id, code, false);
    match container::lookup(&eng.conn, &c.id) {
        Ok(now) => *c = now,
        // --rm: the row went with the container.
        Err(_) => {
            c.status = Status::Exited;
            c.pid = 0;
            c.exit_code = code;
        }
    }
}

/// What a killed start or a dead monitor left of a container that does not run: runtime
/// state, mounts, the bundle. Removed before a start, so the runtime's create does not fail
/// with "container ... already exists".
pub fn clear_leftovers(eng: &Engine, c: &Container) {
    let rt = eng.paths.runtime_root().join(&c.id);
    if rt.exists() {
        eng.oci.delete_force(&c.id);
    }
    if eng.paths.run_dir(&c.id).exists() {
        eng.bundler.unprepare(eng, c);
    }
}
