//! The healthcheck timer (`--health-interval NS`): one interval after the container starts,
//! and one interval after each check ends, the monitor runs its hook as `health ID 0`; the
//! hook (hull) runs the check, applies docker's rules and records the result. One check at
//! a time, as docker runs them. Without the flag the monitor keeps no timer.

use alloc::string::ToString;

use hull_monitor::args::Args;
use rustix::time::{ClockId, Timespec};

use crate::sys::{self, Start};

pub struct Timer<'a> {
    args: &'a Args,
    start: &'a Start,
    interval_ns: u64,
    /// Monotonic time of the next check, when none runs.
    due: u64,
    /// The hook of the check that runs.
    running: Option<i32>,
}

fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl<'a> Timer<'a> {
    pub fn new(args: &'a Args, start: &'a Start) -> Option<Timer<'a>> {
        (args.health_interval > 0).then_some(Timer {
            args,
            start,
            interval_ns: args.health_interval,
            due: 0,
            running: None,
        })
    }

    /// At each start of the container: the first check one interval from now.
    pub fn arm(&mut self) {
        self.due = now_ns().saturating_add(self.interval_ns);
    }

    /// How long poll may wait before the next check is due (None: no check is due while one
    /// runs; its end, a SIGCHLD, wakes the loop).
    pub fn wait(&self) -> Option<Timespec> {
        if self.running.is_some() {
            return None;
        }
        let left = self.due.saturating_sub(now_ns());
        Some(Timespec {
            tv_sec: (left / 1_000_000_000) as i64,
            tv_nsec: (left % 1_000_000_000) as i64,
        })
    }

    /// Starts the check when it is due.
    pub fn fire(&mut self) {
        if self.running.is_some() || now_ns() < self.due {
            return;
        }
        let mut v = self.args.hook[1..].to_vec();
        v.extend(["health".to_string(), self.args.id.clone(), "0".to_string()]);
        let cmd = sys::Command {
            prog: &self.args.hook[0],
            args: v,
            stdio: [sys::Io::Null, sys::Io::Null, sys::Io::Null],
        };
        crate::trace(self.args, "healthcheck");
        match sys::spawn(&cmd, self.start) {
            Ok(pid) => self.running = Some(pid.as_raw_nonzero().get()),
            // Cannot run it now: try again one interval later.
            Err(_) => self.arm(),
        }
    }

    /// A child was reaped: when it was the check's hook, the next check is one interval away.
    pub fn reaped(&mut self, pid: i32) {
        if self.running == Some(pid) {
            self.running = None;
            self.arm();
        }
    }
}
