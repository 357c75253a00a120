//! The clock supervisor: one process per container (`hull internal-clock serve`), the ptrace
//! tracer of every process in it.
//!
//! - It seizes the container's init while the runtime holds it before its exec, and follows
//!   every fork, vfork and clone from there (`hull exec` hands it its own process the same way,
//!   over `STATE/faketime/clock.sock`, before it runs the runtime).
//! - At each exec, before the new image runs its first instruction, it patches the image's
//!   vDSO (`vdso/`): its realtime entries return the faked clock, read from a data block that
//!   the supervisor rewrites in every patched process at each update; glibc, musl, Go and
//!   static binaries all read the clock there, without a stop. A vDSO that cannot be patched
//!   is hidden instead (`AT_SYSINFO_EHDR` becomes `AT_IGNORE`): the program then makes system
//!   calls.
//! - The container's seccomp filter (see `rules.rs`) returns `SECCOMP_RET_TRACE` for the
//!   realtime clock calls only; at that stop the supervisor answers `clock_gettime`,
//!   `gettimeofday` and `time` itself (the call is skipped, the faked value written into the
//!   process; a call from a patched vDSO's own fallback is let through: its stub fakes the
//!   result), and rewrites the absolute realtime deadline of `clock_nanosleep`,
//!   `timerfd_settime` and `timer_settime` in place for the duration of the call (restored
//!   at its exit stop).
//!
//! A process that is stopped here is stopped only for these events: other system calls never
//! stop, and signals are passed on as they come.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::time::{clock_gettime, ClockId};
use nix::unistd::Pid;

use crate::mem::{read as read_mem, write as write_mem};
use crate::model::Model;
use crate::vdso::{self, AtExec, Patched};

const TIMER_ABSTIME: u64 = 1;
const CLOCK_REALTIME: i32 = 0;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_TAI: i32 = 11;
const NANOS: i64 = 1_000_000_000;

/// The socket in the clock directory: `seize PID`, `reload`, `ping`.
pub const SOCKET: &str = "clock.sock";
/// The model file in the clock directory.
pub const MODEL: &str = "clock";

fn options() -> Options {
    Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACESYSGOOD
}

/// The bytes to put back into a process when its system call ends.
struct Restore {
    addr: usize,
    bytes: Vec<u8>,
}

struct Supervisor {
    dir: PathBuf,
    model: Model,
    init: i32,
    init_gone: bool,
    restore: HashMap<i32, Restore>,
    /// The processes (and threads) whose vDSO carries the stub.
    patched: HashMap<i32, Patched>,
    /// The last sequence count written into a stub (even; each update adds 2).
    seq: u64,
}

/// Seizes `init` and supervises it and everything it starts until all of them are gone.
/// `dir` holds the model file and gets the socket.
pub fn serve(dir: &Path, init: i32) -> io::Result<()> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.thread_block().map_err(io::Error::from)?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(io::Error::from)?;
    let model_path = dir.join(MODEL);
    let model = Model::read(&model_path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", model_path.display())))?;
    let sock = dir.join(SOCKET);
    let _ = std::fs::remove_file(&sock);
    let listener = crate::inject::short_path(dir, SOCKET, UnixListener::bind)
        .map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", sock.display())))?;
    listener.set_nonblocking(true)?;
    ptrace::seize(Pid::from_raw(init), options()).map_err(|e| {
        io::Error::other(format!("ptrace seize of the container's init {init}: {e}"))
    })?;
    tracing::debug!(init, "supervising the container's init");
    let mut s = Supervisor {
        dir: dir.to_path_buf(),
        model,
        init,
        init_gone: false,
        restore: HashMap::new(),
        patched: HashMap::new(),
        seq: 0,
    };
    loop {
        // Done once init is gone and the kernel has no tracee left for us (ECHILD): a set of
        // our own would have to order a child's exit against its parent's fork event.
        let none_left = s.drain();
        if s.init_gone && none_left {
            break;
        }
        let mut fds = [
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let client = fds[1].revents().is_some_and(|r| !r.is_empty());
        while let Ok(Some(_)) = sfd.read_signal() {}
        if client {
            while let Ok((conn, _)) = listener.accept() {
                s.client(conn);
            }
        }
    }
    let _ = std::fs::remove_file(&sock);
    tracing::debug!(init, "no process left: supervisor done");
    Ok(())
}

impl Supervisor {
    /// Handles every stop and exit that is waiting; true when no tracee is left.
    fn drain(&mut self) -> bool {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
                Ok(WaitStatus::StillAlive) => return false,
                Err(Errno::ECHILD) => return true,
                Ok(st) => self.event(st),
                Err(Errno::EINTR) => {}
                Err(_) => return false,
            }
        }
    }

    fn event(&mut self, st: WaitStatus) {
        match st {
            WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _) => {
                let pid = pid.as_raw();
                self.restore.remove(&pid);
                self.patched.remove(&pid);
                if pid == self.init {
                    self.init_gone = true;
                }
            }
            WaitStatus::PtraceEvent(pid, sig, ev) => {
                match ev {
                    libc::PTRACE_EVENT_EXEC => self.exec(pid),
                    libc::PTRACE_EVENT_FORK
                    | libc::PTRACE_EVENT_VFORK
                    | libc::PTRACE_EVENT_CLONE => self.child(pid),
                    // Stop again at its exit, to put the caller's memory back.
                    libc::PTRACE_EVENT_SECCOMP if self.syscall(pid) => {
                        let _ = ptrace::syscall(pid, None);
                        return;
                    }
                    libc::PTRACE_EVENT_STOP
                        if matches!(
                            sig,
                            Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
                        ) =>
                    {
                        // A group-stop: it stays stopped until SIGCONT.
                        let _ = hull_sys::ptrace_listen(pid.as_raw());
                        return;
                    }
                    _ => {}
                }
                let _ = ptrace::cont(pid, None);
            }
            WaitStatus::PtraceSyscall(pid) => {
                if let Some(r) = self.restore.remove(&pid.as_raw()) {
                    let _ = write_mem(pid, r.addr, &r.bytes);
                }
                let _ = ptrace::cont(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                let _ = ptrace::cont(pid, sig);
            }
            _ => {}
        }
    }

    /// At an exec stop: the new image's vDSO gets the stub (or is hidden). A thread other
    /// than the leader that execs takes the leader's pid: its former one is forgotten.
    fn exec(&mut self, pid: Pid) {
        if let Ok(former) = ptrace::getevent(pid) {
            self.patched.remove(&(former as i32));
            self.restore.remove(&(former as i32));
        }
        self.patched.remove(&pid.as_raw());
        match vdso::at_exec(pid, &self.model, self.seq) {
            Ok(AtExec::Patched(p)) => {
                tracing::debug!(%pid, "exec: vDSO patched");
                self.patched.insert(pid.as_raw(), p);
            }
            Ok(AtExec::Hidden(why)) => {
                eprintln!("process {pid}: vDSO hidden, not patched: {why}");
            }
            Ok(AtExec::Untouched) => {}
            Err(e) => eprintln!("process {pid}: exec: {e}"),
        }
    }

    /// At a fork, vfork or clone event: the new process has its parent's vDSO, and gets the
    /// model as it is now (an update may have come between the fork and this event).
    fn child(&mut self, parent: Pid) {
        let (Ok(child), Some(&p)) = (ptrace::getevent(parent), self.patched.get(&parent.as_raw()))
        else {
            return;
        };
        let child = child as i32;
        self.patched.insert(child, p);
        self.seq += 2;
        if let Err(e) = vdso::update(Pid::from_raw(child), &p, &self.model, self.seq) {
            eprintln!("process {child}: clock: {e}");
        }
    }

    /// A new model: written into every patched process (the rest read it at their next
    /// system call).
    fn reload(&mut self) -> Result<(), String> {
        self.model = Model::read(&self.dir.join(MODEL)).map_err(|e| e.to_string())?;
        self.seq += 2;
        // Only processes still traced here: a child killed before its parent's fork event
        // was seen leaves an entry whose pid could one day be another process's.
        let me = std::process::id().to_string();
        self.patched
            .retain(|pid, _| tracer_of(*pid).is_some_and(|t| t == me));
        for (&pid, p) in &self.patched {
            // A process that is exiting has no memory left: nothing to update there.
            let _ = vdso::update(Pid::from_raw(pid), p, &self.model, self.seq);
        }
        Ok(())
    }

    /// A seccomp stop for one of the clock calls. True when the call goes on with a rewritten
    /// argument that must be restored at its exit.
    fn syscall(&mut self, pid: Pid) -> bool {
        let Ok(mut regs) = ptrace::getregs(pid) else {
            return false;
        };
        let call = regs.orig_rax as i64;
        let read = [
            libc::SYS_clock_gettime,
            libc::SYS_gettimeofday,
            libc::SYS_time,
        ];
        if read.contains(&call)
            && self
                .patched
                .get(&pid.as_raw())
                .is_some_and(|p| p.contains(regs.rip))
        {
            // The vDSO's own fallback to the system call: the stub fakes what it returns.
            return false;
        }
        let result: i64 = match call {
            libc::SYS_clock_gettime => {
                let clk = regs.rdi as i32;
                if !matches!(clk, CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI) {
                    return false;
                }
                let t = self.now(clk);
                put(pid, regs.rsi, &timespec(t))
            }
            libc::SYS_gettimeofday => {
                let t = self.now(CLOCK_REALTIME);
                let tv = [t.div_euclid(NANOS), t.rem_euclid(NANOS) / 1000];
                let mut r = put(pid, regs.rdi, &words(&tv));
                if r == 0 && regs.rsi != 0 {
                    r = put(pid, regs.rsi, &[0u8; 8]);
                }
                r
            }
            libc::SYS_time => {
                let secs = self.now(CLOCK_REALTIME).div_euclid(NANOS);
                let r = put(pid, regs.rdi, &secs.to_ne_bytes());
                if r == 0 {
                    secs
                } else {
                    r
                }
            }
            libc::SYS_clock_nanosleep => {
                let realtime = matches!(regs.rdi as i32, CLOCK_REALTIME | CLOCK_TAI);
                if !realtime || regs.rsi & TIMER_ABSTIME == 0 {
                    return false;
                }
                return self.deadline(pid, regs.rdx as usize);
            }
            libc::SYS_timerfd_settime => {
                if regs.rsi & TIMER_ABSTIME == 0 || regs.rdx == 0 {
                    return false;
                }
                let clk = fd_clock(pid, regs.rdi as i32);
                if !matches!(clk, Some(CLOCK_REALTIME | CLOCK_REALTIME_ALARM)) {
                    return false;
                }
                return self.itimerspec(pid, regs.rdx, regs.r10);
            }
            libc::SYS_timer_settime => {
                if regs.rsi & TIMER_ABSTIME == 0 || regs.rdx == 0 {
                    return false;
                }
                let clk = timer_clock(pid, regs.rdi as i32);
                if !matches!(clk, Some(CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI)) {
                    return false;
                }
                return self.itimerspec(pid, regs.rdx, regs.r10);
            }
            _ => return false,
        };
        // Skip the call: -1 as its number; its result is what rax holds.
        regs.orig_rax = u64::MAX;
        regs.rax = result as u64;
        let _ = ptrace::setregs(pid, regs);
        false
    }

    /// The absolute deadline of a `timerfd_settime` or `timer_settime` (`new`, `old`: the
    /// struct itimerspec { it_interval, it_value } pointers): its it_value. When the old
    /// value is written to the same struct, the kernel's output stays.
    fn itimerspec(&mut self, pid: Pid, new: u64, old: u64) -> bool {
        let rewrote = self.deadline(pid, new as usize + 16);
        if rewrote && old == new {
            self.restore.remove(&pid.as_raw());
        }
        rewrote
    }

    /// Rewrites the faked absolute deadline (a timespec at `addr`) into the real one.
    fn deadline(&mut self, pid: Pid, addr: usize) -> bool {
        let mut b = [0u8; 16];
        if read_mem(pid, addr, &mut b) != Some(16) {
            return false;
        }
        let sec = i64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
        let nsec = i64::from_ne_bytes(b[8..].try_into().expect("8 bytes"));
        if sec == 0 && nsec == 0 {
            return false; // timerfd: disarm
        }
        let fake = (sec as i128 * NANOS as i128 + nsec as i128).clamp(0, i64::MAX as i128) as i64;
        let real = self.model.real_for(fake);
        if write_mem(pid, addr, &timespec(real)).is_err() {
            return false;
        }
        self.restore.insert(
            pid.as_raw(),
            Restore {
                addr,
                bytes: b.to_vec(),
            },
        );
        true
    }

    /// The faked value of a realtime clock now (ns).
    fn now(&self, clk: i32) -> i64 {
        let id = ClockId::from_raw(clk);
        let real = clock_gettime(id)
            .map(|t| t.tv_sec() * NANOS + t.tv_nsec())
            .unwrap_or(0);
        self.model.fake(real)
    }

    /// One request on the socket: `seize PID`, `reload` or `ping`; answers `ok` or `error: ...`.
    fn client(&mut self, conn: UnixStream) {
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = String::new();
        let mut r = BufReader::new(&conn);
        if r.read_line(&mut line).is_err() {
            return;
        }
        let reply = match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["seize", pid] => match pid.parse::<i32>() {
                Ok(p) => ptrace::seize(Pid::from_raw(p), options())
                    .map_err(|e| format!("ptrace seize of {p}: {e}")),
                Err(_) => Err(format!("bad pid {pid:?}")),
            },
            ["reload"] => self.reload(),
            ["ping"] => Ok(()),
            _ => Err(format!("unknown request {:?}", line.trim())),
        };
        let text = match reply {
            Ok(()) => "ok\n".to_string(),
            Err(e) => format!("error: {e}\n"),
        };
        let _ = (&conn).write_all(text.as_bytes());
    }
}

fn timespec(ns: i64) -> [u8; 16] {
    let b = words(&[ns.div_euclid(NANOS), ns.rem_euclid(NANOS)]);
    b.try_into().expect("16 bytes")
}

fn words(w: &[i64]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

/// Writes an output of a skipped call: 0, or -EFAULT as the kernel would return.
fn put(pid: Pid, addr: u64, bytes: &[u8]) -> i64 {
    if addr == 0 {
        return 0;
    }
    match write_mem(pid, addr as usize, bytes) {
        Ok(()) => 0,
        Err(_) => -(libc::EFAULT as i64),
    }
}

/// The clock of the timerfd `fd` of process `pid` (its fdinfo's `clockid:`).
fn fd_clock(pid: Pid, fd: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("clockid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The clock of the POSIX timer `id` of process `pid` (`/proc/PID/timers`: `ID: N` and,
/// lines later, `ClockID: N`).
fn timer_clock(pid: Pid, id: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/timers")).ok()?;
    let mut lines = info.lines();
    lines.find(|l| l.strip_prefix("ID:").and_then(|v| v.trim().parse().ok()) == Some(id))?;
    lines
        .find_map(|l| l.strip_prefix("ClockID:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The `TracerPid:` of a process.
fn tracer_of(pid: i32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .map(|v| v.trim().to_string())
}
