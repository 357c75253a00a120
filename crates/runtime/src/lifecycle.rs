//! `start`, `kill`, `delete`, `state` and `list` on a container that `create` made.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill as send, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::hooks::{self, Kind};
use crate::state::{self, Saved, Status};

fn not_in(id: &str, st: Status, what: &str) -> Error {
    Error::State {
        id: id.to_string(),
        reason: format!("cannot {what}: container is {st}"),
    }
}

/// Releases init from the exec fifo: it then runs the startContainer hooks and execs.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let _span = tracing::debug_span!("start", id).entered();
    let saved = Saved::load(root, id)?;
    let st = saved.status(root);
    if st != Status::Created {
        return Err(not_in(id, st, "start"));
    }
    let fifo = state::dir(root, id).join(state::FIFO);
    // Init holds the fifo open for reading; without a reader the open fails with ENXIO
    // instead of blocking, which tells us init is gone.
    let fd = match open(
        &fifo,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENXIO) => {
            return Err(Error::State {
                id: id.into(),
                reason: "container init exited before it could start".into(),
            })
        }
        Err(e) => return Err(Error::sys("open", &fifo, e)),
    };
    nix::unistd::write(&fd, b"0").map_err(|e| Error::sys("write", &fifo, e))?;
    tracing::debug!(pid = saved.pid, "exec.fifo opened: init execs the process");
    let _ = std::fs::remove_file(&fifo);
    if saved
        .hooks
        .as_ref()
        .is_some_and(|h| h.poststart().is_some())
    {
        wait_for_exec(&saved, &fd);
    }
    let state = serde_json::to_vec(&saved.oci(Status::Running)).unwrap_or_default();
    // A failing poststart hook fails start and stops the container, as runc has always done
    // (runtime-spec 1.3 says so too).
    if let Err(e) = hooks::run(saved.hooks.as_ref(), Kind::Poststart, &state) {
        let _ = send(Pid::from_raw(saved.pid), Signal::SIGKILL);
        return Err(e);
    }
    Ok(())
}

/// Poststart hooks run after the program has been exec'd. Init holds the fifo's only read
/// end, close-on-exec: when exec (or death) closes it, our write end reports POLLERR.
fn wait_for_exec(saved: &Saved, fd: &std::os::fd::OwnedFd) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    while saved.alive() {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(n) if n > 0 => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// A signal by name or number; `None` for 0, which only checks that the process is there
/// (runc sends it too).
pub fn parse_signal(s: &str) -> Result<Option<Signal>> {
    let bad = || Error::Other(format!("invalid signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        if n == 0 {
            return Ok(None);
        }
        return Signal::try_from(n).map(Some).map_err(|_| bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().map(Some).map_err(|_| bad())
}

pub fn kill(root: &Path, id: &str, sig: Option<Signal>, all: bool) -> Result<()> {
    let _span = tracing::debug_span!("kill", id).entered();
    let saved = Saved::load(root, id)?;
    let st = saved.status(root);
    tracing::debug!(status = %st, signal = sig.map_or("0", |s| s.as_str()), all, "kill");
    if st == Status::Stopped {
        // As runc: `kill --all` of a stopped container signals what is left in its cgroup
        // (containerd's shim sends it after every exit and waits for it to succeed), and a
        // plain kill fails with the words the shim matches to record the exit.
        if all {
            return signal_all(&saved, sig).or(Ok(()));
        }
        return Err(Error::State {
            id: id.to_string(),
            reason: "container not running".into(),
        });
    }
    if all {
        return signal_all(&saved, sig);
    }
    send(Pid::from_raw(saved.pid), sig).map_err(|e| {
        let name = sig.map_or("signal 0", |s| s.as_str());
        Error::call(format!("kill {} with {name}", saved.pid), e)
    })
}

fn signal_all(saved: &Saved, sig: impl Into<Option<Signal>>) -> Result<()> {
    let sig = sig.into();
    let cg = crate::cgroup::for_saved(saved)?;
    let pids = cg.pids().map_err(|e| Error::Cgroup(e.to_string()))?;
    for p in pids {
        let _ = send(Pid::from_raw(p), sig);
    }
    // A frozen process would not act on SIGKILL until thawed.
    if sig == Some(Signal::SIGKILL) {
        let _ = cg.thaw();
    }
    Ok(())
}

/// Waits for `pid` to die; it may not be our child, so poll rather than waitpid.
fn wait_gone(saved: &Saved, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if !saved.alive() {
            return true;
        }
        // If it is our child (run, or create from this process), reap it.
        let _ = nix::sys::wait::waitpid(
            Pid::from_raw(saved.pid),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    !saved.alive()
}

pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let _span = tracing::debug_span!("delete", id).entered();
    let saved = match Saved::load(root, id) {
        Ok(s) => s,
        Err(Error::NotFound(_)) if force => return destroy_half_made(root, id),
        Err(e) => return Err(e),
    };
    let st = saved.status(root);
    tracing::debug!(status = %st, force, "delete");
    match st {
        Status::Stopped => {}
        // runc deletes a created container without --force: it never ran anything.
        Status::Created => {
            let _ = send(Pid::from_raw(saved.pid), Signal::SIGKILL);
        }
        _ if force => {
            let _ = signal_all(&saved, Signal::SIGKILL);
            let _ = send(Pid::from_raw(saved.pid), Signal::SIGKILL);
        }
        _ => {
            return Err(Error::State {
                id: id.into(),
                reason: format!("cannot delete a {st} container; stop it first or use --force"),
            })
        }
    }
    if !wait_gone(&saved, Duration::from_secs(10)) {
        return Err(Error::State {
            id: id.into(),
            reason: "init did not exit after SIGKILL".into(),
        });
    }
    destroy(root, &saved)
}

/// Removes what remains of a stopped container: processes left in its cgroup when it had no
/// pid namespace of its own, the cgroup, the state directory; then runs poststop hooks.
pub fn destroy(root: &Path, saved: &Saved) -> Result<()> {
    if let Ok(cg) = crate::cgroup::for_saved(saved) {
        if !saved.private_pid_ns {
            if let Ok(pids) = cg.pids() {
                for p in pids {
                    let _ = send(Pid::from_raw(p), Signal::SIGKILL);
                }
            }
        }
        cg.destroy().map_err(|e| Error::Cgroup(e.to_string()))?;
    }
    let state = serde_json::to_vec(&saved.oci(Status::Stopped)).unwrap_or_default();
    let dir = state::dir(root, &saved.id);
    std::fs::remove_dir_all(&dir).map_err(|e| Error::sys("remove", &dir, e))?;
    if let Err(e) = hooks::run(saved.hooks.as_ref(), Kind::Poststop, &state) {
        eprintln!("warning: {e}");
    }
    Ok(())
}

/// `delete --force` of a container whose `create` was killed before it wrote state.json: the
/// state directory, and the cgroup named by the config copy that create saved first (its init
/// died with create, but anything else in the cgroup is killed too).
fn destroy_half_made(root: &Path, id: &str) -> Result<()> {
    let dir = state::dir(root, id);
    if !dir.is_dir() {
        return Ok(());
    }
    let copy = dir.join(crate::exec::CONFIG_COPY);
    if let Ok(spec) = std::fs::read(&copy)
        .ok()
        .map(|b| crate::spec::parse(&b))
        .transpose()
    {
        let path = spec.as_ref().and_then(|s| {
            s.linux()
                .as_ref()?
                .cgroups_path()
                .as_ref()
                .map(|p| p.display().to_string())
        });
        if let Ok(cg) = crate::cgroup::manager(path.as_deref(), id) {
            let end = Instant::now() + Duration::from_secs(10);
            while let Ok(pids) = cg.pids() {
                if pids.is_empty() || Instant::now() > end {
                    break;
                }
                for p in pids {
                    let _ = send(Pid::from_raw(p), Signal::SIGKILL);
                }
                let _ = cg.thaw();
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = cg.destroy();
        }
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::sys("remove", &dir, e))
}

pub fn state_json(root: &Path, id: &str) -> Result<String> {
    let saved = Saved::load(root, id)?;
    let st = saved.status(root);
    let mut doc = serde_json::to_value(saved.oci(st)).map_err(|e| Error::Other(e.to_string()))?;
    // runc's `state` always has a pid, 0 once stopped (the hooks' state leaves it out).
    if let Some(m) = doc.as_object_mut() {
        m.entry("pid").or_insert(0.into());
    }
    serde_json::to_string_pretty(&doc).map_err(|e| Error::Other(e.to_string()))
}

/// Every container under `root`, with its current status.
pub fn list(root: &Path) -> Result<Vec<(Saved, Status)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::sys("read", root, e)),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(s) = Saved::load(root, &name) {
            let st = s.status(root);
            out.push((s, st));
        }
    }
    out.sort_by(|a, b| a.0.created.cmp(&b.0.created));
    Ok(out)
}

pub fn default_root() -> PathBuf {
    PathBuf::from("/run/hullrt")
}
