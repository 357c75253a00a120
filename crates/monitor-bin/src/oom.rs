//! The OOM watch (see crates/monitor's oom.rs): on cgroup v2, an inotify watch on the
//! container's `memory.events`; each change is read at once, and the first OOM kill leaves
//! the file `oom` in the bundle for hull's exit hook.

use alloc::format;
use alloc::string::String;
use core::mem::MaybeUninit;

use hull_monitor::oom;
use rustix::fd::OwnedFd;
use rustix::fs::inotify;

use crate::fdio;

/// Where the monitor records an OOM kill (the bundle is its working directory).
pub const FILE: &str = "oom";

pub struct OomWatch {
    pub fd: OwnedFd,
    events: String,
    seen: bool,
}

impl OomWatch {
    /// Watches the cgroup v2 `memory.events` of `pid`; None where there is none (cgroup v1's
    /// memory controller: hull reads `memory.oom_control` there, which outlives the exit).
    pub fn new(pid: i32) -> Option<OomWatch> {
        let cg = fdio::read_file(&format!("/proc/{pid}/cgroup")).ok()?;
        let path = oom::cgroup2_path(core::str::from_utf8(&cg).ok()?)?;
        let events = format!("/sys/fs/cgroup{}/memory.events", path.trim_end_matches('/'));
        let fd =
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).ok()?;
        inotify::add_watch(&fd, events.as_str(), inotify::WatchFlags::MODIFY).ok()?;
        let mut w = OomWatch {
            fd,
            events,
            seen: false,
        };
        w.check();
        Some(w)
    }

    /// The watch fired: drain it, then read the counters.
    pub fn changed(&mut self) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
        while matches!(fdio::read_some(&self.fd, &mut buf), Ok(b) if !b.is_empty()) {}
        self.check();
    }

    fn check(&mut self) {
        if self.seen {
            return;
        }
        let Ok(ev) = fdio::read_file(&self.events) else {
            return;
        };
        if oom::oom_kills(core::str::from_utf8(&ev).unwrap_or("")) > 0 {
            self.seen = fdio::write_file_atomic(FILE, b"1").is_ok();
        }
    }
}
