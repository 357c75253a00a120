//! The monitor's event loop: the container's output to the log and to attached clients,
//! clients' stdin, resizes and signals to the container, and SIGCHLD (through a signalfd) for
//! the container's exit and any orphan that the subreaper inherits.

use alloc::vec::Vec;
use core::mem::MaybeUninit;

use hull_monitor::logfmt::{Driver, Framer};
use hull_monitor::proto;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::net::SocketFlags;
use rustix::process::{Pid, Signal};

use crate::fdio::{self, Conn};
use crate::health::Timer;
use crate::oom::OomWatch;
use crate::start::{self, Stdio};
use crate::sys::{self, Status};

/// The container's log file and its line framing.
pub struct Logger {
    file: Option<OwnedFd>,
    framer: Framer,
}

impl Logger {
    pub fn open(path: &str, driver: &str) -> Logger {
        let driver = Driver::from_name(driver);
        let file = if driver == Driver::None || path.is_empty() {
            None
        } else {
            fdio::open(path, OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND).ok()
        };
        Logger {
            file,
            framer: Framer::new(driver),
        }
    }

    /// Logs output of stream 0 (stdout) or 1 (stderr).
    fn write(&mut self, stream: usize, data: &[u8]) {
        if let Some(f) = &self.file {
            let mut out = Vec::new();
            self.framer.push(stream, data, &fdio::now(), &mut out);
            let _ = fdio::write_all(f, &out);
        }
    }

    /// Writes out unfinished lines (at the container's exit).
    fn flush(&mut self) {
        if let Some(f) = &self.file {
            let mut out = Vec::new();
            self.framer.flush(&fdio::now(), &mut out);
            let _ = fdio::write_all(f, &out);
        }
    }
}

pub struct Monitor<'a> {
    listener: OwnedFd,
    sigfd: OwnedFd,
    logger: Logger,
    clients: Vec<Conn>,
    health: Option<Timer<'a>>,
}

/// What a poll slot is for.
#[derive(Clone, Copy)]
enum Slot {
    Oom,
    Sig,
    Listen,
    Out,
    Err,
    Master,
    Client(usize),
}

impl<'a> Monitor<'a> {
    pub fn new(
        listener: OwnedFd,
        sigfd: OwnedFd,
        logger: Logger,
        health: Option<Timer<'a>>,
    ) -> Monitor<'a> {
        Monitor {
            listener,
            sigfd,
            logger,
            clients: Vec::new(),
            health,
        }
    }

    pub fn add_client(&mut self, c: Conn) {
        self.clients.push(c);
    }

    fn accept(&mut self) -> bool {
        match rustix::net::accept_with(&self.listener, SocketFlags::CLOEXEC) {
            Ok(s) => {
                let _ = fdio::set_nonblocking(&s, false);
                self.add_client(Conn::new(s));
                true
            }
            Err(_) => false,
        }
    }

    fn broadcast(&mut self, kind: u8, want: u8, data: &[u8]) {
        self.clients
            .retain(|c| (want != 0 && c.flags & want == 0) || c.send(kind, data));
    }

    /// Serves everything until the container's init (`pid`) exits; returns its exit code
    /// (128 + signal when killed).
    pub fn wait_exit(&mut self, pid: i32, io: &mut Stdio) -> i32 {
        // Frames already read with others (the starter's that came with its GO, a client's
        // after its HOOK_DONE) wait in their parsers: no poll would report them.
        for i in (0..self.clients.len()).rev() {
            if !self.client_frames(i, pid, io) {
                self.clients.remove(i);
            }
        }
        let mut code = lost(pid);
        let mut oom = OomWatch::new(pid);
        if let Some(h) = self.health.as_mut() {
            h.arm();
        }
        while code.is_none() {
            if let Some(h) = self.health.as_mut() {
                h.fire();
            }
            let mut slots = Vec::with_capacity(6 + self.clients.len());
            let mut fds = Vec::with_capacity(slots.capacity());
            // First: an OOM kill is read before the exit it caused is reaped.
            if let Some(w) = &oom {
                slots.push(Slot::Oom);
                fds.push(PollFd::new(&w.fd, PollFlags::IN));
            }
            slots.extend([Slot::Sig, Slot::Listen]);
            fds.push(PollFd::new(&self.sigfd, PollFlags::IN));
            fds.push(PollFd::new(&self.listener, PollFlags::IN));
            for (slot, f) in [
                (Slot::Out, &io.out),
                (Slot::Err, &io.err),
                (Slot::Master, &io.master),
            ] {
                if let Some(f) = f {
                    slots.push(slot);
                    fds.push(PollFd::new(f, PollFlags::IN));
                }
            }
            for (i, c) in self.clients.iter().enumerate() {
                slots.push(Slot::Client(i));
                fds.push(PollFd::new(&c.fd, PollFlags::IN));
            }
            let wait = self.health.as_ref().and_then(Timer::wait);
            if rustix::event::poll(&mut fds, wait.as_ref()).is_err() {
                continue;
            }
            let ready: Vec<Slot> = fds
                .iter()
                .zip(&slots)
                .filter(|(p, _)| !p.revents().is_empty())
                .map(|(_, s)| *s)
                .collect();
            drop(fds);
            let mut gone = Vec::new();
            for slot in ready {
                match slot {
                    Slot::Oom => {
                        if let Some(w) = oom.as_mut() {
                            w.changed();
                        }
                    }
                    Slot::Sig => {
                        drain_signals(&self.sigfd);
                        code = reap(pid, self.health.as_mut()).or_else(|| lost(pid));
                    }
                    Slot::Listen => {
                        self.accept();
                    }
                    Slot::Out => {
                        self.pump(&mut io.out, 0);
                    }
                    Slot::Err => {
                        self.pump(&mut io.err, 1);
                    }
                    Slot::Master => {
                        self.pump(&mut io.master, 0);
                    }
                    Slot::Client(i) => {
                        if !self.client_input(i, pid, io) {
                            gone.push(i);
                        }
                    }
                }
            }
            for i in gone.into_iter().rev() {
                self.clients.remove(i);
            }
        }
        // Whatever the container wrote before it died.
        self.pump_all(io);
        self.logger.flush();
        io.master = None;
        self.settle(pid, io);
        code.unwrap_or(255)
    }

    /// Takes in the connections and frames that came with the exit, without waiting: a
    /// `stop` or `rm -f` connects and says WANT_HOOK before it signals, so its HELLO is
    /// queued by the time the exit is seen, though the poll that saw the exit may not
    /// have read it. The hook then goes to that client, as it asked.
    fn settle(&mut self, pid: i32, io: &mut Stdio) {
        let _ = fdio::set_nonblocking(&self.listener, true);
        while self.accept() {}
        let _ = fdio::set_nonblocking(&self.listener, false);
        let now = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = self
                .clients
                .iter()
                .map(|c| PollFd::new(&c.fd, PollFlags::IN))
                .collect();
            if rustix::event::poll(&mut fds, Some(&now)).is_err() {
                return;
            }
            fds.iter().map(|p| !p.revents().is_empty()).collect()
        };
        for (i, readable) in ready.into_iter().enumerate().rev() {
            if readable && !self.client_input(i, pid, io) {
                self.clients.remove(i);
            }
        }
    }

    fn pump_all(&mut self, io: &mut Stdio) {
        for _ in 0..1024 {
            let before = (io.out.is_some(), io.err.is_some(), io.master.is_some());
            let a = self.pump(&mut io.out, 0);
            let b = self.pump(&mut io.err, 1);
            let c = self.pump(&mut io.master, 0);
            if !(a || b || c) || before == (false, false, false) {
                break;
            }
        }
    }

    /// Reads once from a stream; true if data came. End-of-file or EIO (a pty whose slave
    /// closed) drops the stream.
    fn pump(&mut self, fd: &mut Option<OwnedFd>, stream: usize) -> bool {
        let Some(f) = fd.as_ref() else { return false };
        let mut buf = [MaybeUninit::<u8>::uninit(); 32 * 1024];
        match fdio::read_some(f, &mut buf) {
            Ok([]) => {
                *fd = None;
                false
            }
            Ok(data) => {
                self.logger.write(stream, data);
                let (kind, want) = if stream == 0 {
                    (proto::STDOUT, proto::WANT_STDOUT)
                } else {
                    (proto::STDERR, proto::WANT_STDERR)
                };
                self.broadcast(kind, want, data);
                true
            }
            Err(Errno::AGAIN) | Err(Errno::INTR) => false,
            Err(_) => {
                *fd = None;
                false
            }
        }
    }

    /// Reads from client `i` and handles its frames; false when it went away.
    fn client_input(&mut self, i: usize, pid: i32, io: &mut Stdio) -> bool {
        self.clients[i].fill() && self.client_frames(i, pid, io)
    }

    /// Handles the frames buffered from client `i`; false when it broke the protocol.
    fn client_frames(&mut self, i: usize, pid: i32, io: &mut Stdio) -> bool {
        loop {
            let frame = match self.clients[i].parser.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return true,
                Err(_) => return false,
            };
            match frame {
                (proto::HELLO, p) => self.clients[i].flags = p.first().copied().unwrap_or(0),
                (proto::STDIN, data) => {
                    if let Some(fd) = io.master.as_ref().or(io.stdin_w.as_ref()) {
                        write_blocking(fd, &data);
                    }
                }
                (proto::STDIN_EOF, _) if io.master.is_none() => io.stdin_w = None,
                (proto::RESIZE, p) if p.len() >= 4 => {
                    if let Some(m) = io.master.as_ref() {
                        let rows = u16::from_le_bytes([p[0], p[1]]);
                        let cols = u16::from_le_bytes([p[2], p[3]]);
                        start::set_window_size(m, rows, cols);
                    }
                }
                (proto::SIGNAL, p) => {
                    let sig = proto::payload_i32(&p).and_then(Signal::from_named_raw);
                    if let (Some(sig), Some(pid)) = (sig, Pid::from_raw(pid)) {
                        let _ = rustix::process::kill_process(pid, sig);
                    }
                }
                _ => {}
            }
        }
    }

    /// Lets a client that asked for it (WANT_HOOK) record the exit; its hook status, or None
    /// when there is none or it went away (the monitor then runs the hook itself).
    pub fn client_hook(&mut self, code: i32) -> Option<i32> {
        let i = self
            .clients
            .iter()
            .position(|c| c.flags & proto::WANT_HOOK != 0)?;
        let c = &mut self.clients[i];
        if c.send(proto::HOOK, &proto::i32_payload(code)) {
            while let Some((kind, p)) = c.recv() {
                if kind == proto::HOOK_DONE {
                    return proto::payload_i32(&p);
                }
            }
        }
        self.clients.remove(i);
        None
    }

    /// The end: every client (and any still waiting in the backlog) learns the exit code.
    pub fn finish(mut self, code: i32) {
        let _ = fdio::set_nonblocking(&self.listener, true);
        while self.accept() {}
        self.broadcast(proto::EXIT, 0, &proto::i32_payload(code));
    }
}

/// Writes all of `data` to the container's stdin or pty master, waiting when it is full (the
/// master is non-blocking for reads).
fn write_blocking(fd: &OwnedFd, mut data: &[u8]) {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut p = [PollFd::new(fd, PollFlags::OUT)];
                let _ = rustix::event::poll(&mut p, None);
            }
            Err(_) => return,
        }
    }
}

/// Empties the signalfd (SIGCHLD only; the reaping is what matters).
fn drain_signals(fd: &OwnedFd) {
    let mut buf = [0u8; 128 * 8];
    while let Ok(n) = rustix::io::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// 255 (exit status unknown) when the container's init is not our child to wait for: the
/// runtime waited for it itself, as a shell that started it in the background may do when it
/// exits at once. Without this the monitor would wait forever for an exit already gone.
fn lost(pid: i32) -> Option<i32> {
    sys::not_our_child(pid).then_some(255)
}

/// Reaps every exited child; the exit code of `pid` if it was among them. The healthcheck
/// timer learns of its hook's end.
fn reap(pid: i32, mut health: Option<&mut Timer<'_>>) -> Option<i32> {
    let mut found = None;
    while let Some((p, st)) = sys::reap_any() {
        if let Some(h) = health.as_deref_mut() {
            h.reaped(p);
        }
        if p == pid {
            found = Some(match st {
                Status::Exited(c) => c,
                Status::Signaled(s) => 128 + s,
            });
        }
    }
    found
}
