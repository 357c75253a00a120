//! What the service saw happen to each container: starts, exits (recorded by the service
//! itself, as the foreground `hull run` does), removals, and attaches waiting for a start.
//!
//! docker's client sends `attach` and `wait?condition=next-exit` before `start`: the attach
//! must get the container's first output and the wait its next exit, even when the
//! container is gone a millisecond after starting. So a start hands its monitor connection
//! to the waiting attach (or a watcher), which records the exit; waiters learn it here.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Counters of one container (what a waiter compares with the snapshot it took).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub starts: u64,
    pub exits: u64,
    pub removes: u64,
    /// The last recorded exit code.
    pub code: i32,
    /// The last start's exit is recorded by the service (no restart policy).
    pub hooked: bool,
}

/// An attach waiting for the container's start: the monitor flags it wants and where the
/// starter's connection goes (None: connect to the monitor yourself).
pub struct PendingAttach {
    pub want: u8,
    pub to: Sender<Option<UnixStream>>,
}

#[derive(Default)]
struct Entry {
    counts: Counts,
    attaches: Vec<PendingAttach>,
    /// The terminal size the create asked for, used by the first start.
    console: Option<(u16, u16)>,
}

#[derive(Default)]
pub struct Tracker {
    map: Mutex<HashMap<String, Entry>>,
    changed: Condvar,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn counts(&self, id: &str) -> Counts {
        self.lock().get(id).map(|e| e.counts).unwrap_or_default()
    }

    pub fn started(&self, id: &str, hooked: bool) {
        let mut m = self.lock();
        let e = m.entry(id.to_string()).or_default();
        e.counts.starts += 1;
        e.counts.hooked = hooked;
        self.changed.notify_all();
    }

    pub fn exited(&self, id: &str, code: i32, removed: bool) {
        let mut m = self.lock();
        let e = m.entry(id.to_string()).or_default();
        e.counts.exits += 1;
        e.counts.code = code;
        if removed {
            e.counts.removes += 1;
        }
        self.changed.notify_all();
    }

    pub fn removed(&self, id: &str) {
        let mut m = self.lock();
        let e = m.entry(id.to_string()).or_default();
        e.counts.removes += 1;
        self.changed.notify_all();
    }

    /// Blocks until `done` holds for the container's counts; returns them.
    pub fn wait_for(&self, id: &str, done: impl Fn(&Counts) -> bool) -> Counts {
        let mut m = self.lock();
        loop {
            let c = m.get(id).map(|e| e.counts).unwrap_or_default();
            if done(&c) {
                return c;
            }
            m = self.changed.wait(m).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits until the exit of every start the service made is recorded in full (its
    /// teardown done): the database says "exited" before the hook has finished, and a start
    /// or an answer then would race the teardown.
    pub fn settle(&self, id: &str) {
        self.wait_for(id, |n| !n.hooked || n.exits >= n.starts);
    }

    pub fn set_console(&self, id: &str, size: (u16, u16)) {
        self.lock().entry(id.to_string()).or_default().console = Some(size);
    }

    pub fn take_console(&self, id: &str) -> Option<(u16, u16)> {
        self.lock().get_mut(id).and_then(|e| e.console.take())
    }

    pub fn add_attach(&self, id: &str, a: PendingAttach) {
        self.lock()
            .entry(id.to_string())
            .or_default()
            .attaches
            .push(a);
    }

    /// The attaches waiting for this start (the first gets the starter's connection).
    pub fn take_attaches(&self, id: &str) -> Vec<PendingAttach> {
        self.lock()
            .get_mut(id)
            .map(|e| std::mem::take(&mut e.attaches))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_sees_the_exit_after_its_snapshot_only() {
        let t = std::sync::Arc::new(Tracker::default());
        t.started("a", true);
        t.exited("a", 3, false);
        let snap = t.counts("a");
        let t2 = std::sync::Arc::clone(&t);
        let h = std::thread::spawn(move || t2.wait_for("a", |c| c.exits > snap.exits).code);
        t.started("a", true);
        t.exited("a", 7, true);
        assert_eq!(h.join().unwrap(), 7);
        assert_eq!(t.counts("a").removes, 1);
    }
}
