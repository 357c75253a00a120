//! The monitor's event loop: the container's output to the log and to attached clients,
//! clients' stdin, resizes and signals to the container, and SIGCHLD (through a signalfd) for
//! the container's exit and any orphan that the subreaper inherits.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use hull_monitor::proto;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::logger::Logger;
use crate::start::Stdio;

struct Client {
    sock: UnixStream,
    parser: proto::Parser,
    flags: u8,
}

pub struct Monitor {
    listener: UnixListener,
    sigfd: SignalFd,
    logger: Logger,
    clients: Vec<Client>,
}

/// What a poll slot is for.
#[derive(Clone, Copy)]
enum Slot {
    Sig,
    Listen,
    Out,
    Err,
    Master,
    Client(usize),
}

impl Monitor {
    pub fn new(listener: UnixListener, sigfd: SignalFd, logger: Logger) -> Monitor {
        Monitor {
            listener,
            sigfd,
            logger,
            clients: Vec::new(),
        }
    }

    pub fn add_client(&mut self, sock: UnixStream, is_sync: bool) {
        let _ = is_sync;
        self.clients.push(Client {
            sock,
            parser: proto::Parser::default(),
            flags: 0,
        });
    }

    /// The starter's HELLO arrived before GO: apply it to its client entry.
    pub fn set_flags_of_last(&mut self, flags: u8) {
        if let Some(c) = self.clients.last_mut() {
            c.flags = flags;
        }
    }

    fn broadcast(&mut self, kind: u8, want: u8, data: &[u8]) {
        self.clients.retain_mut(|c| {
            if want != 0 && c.flags & want == 0 {
                return true;
            }
            proto::write_frame(&mut c.sock, kind, data).is_ok()
        });
    }

    /// Serves everything until the container's init (`pid`) exits; returns its exit code
    /// (128 + signal when killed).
    pub fn wait_exit(&mut self, pid: i32, io: &mut Stdio) -> i32 {
        let mut code = None;
        while code.is_none() {
            let mut slots = vec![Slot::Sig, Slot::Listen];
            let mut fds: Vec<BorrowedFd<'_>> = vec![self.sigfd.as_fd(), self.listener.as_fd()];
            if let Some(f) = io.out.as_ref() {
                slots.push(Slot::Out);
                fds.push(f.as_fd());
            }
            if let Some(f) = io.err.as_ref() {
                slots.push(Slot::Err);
                fds.push(f.as_fd());
            }
            if let Some(f) = io.master.as_ref() {
                slots.push(Slot::Master);
                fds.push(f.as_fd());
            }
            for (i, c) in self.clients.iter().enumerate() {
                slots.push(Slot::Client(i));
                fds.push(c.sock.as_fd());
            }
            let mut pfds: Vec<PollFd<'_>> = fds
                .iter()
                .map(|f| PollFd::new(*f, PollFlags::POLLIN))
                .collect();
            if poll(&mut pfds, PollTimeout::NONE).is_err() {
                continue;
            }
            let ready: Vec<(Slot, bool)> = pfds
                .iter()
                .zip(&slots)
                .map(|(p, s)| (*s, p.revents().is_some_and(|r| !r.is_empty())))
                .filter(|(_, r)| *r)
                .collect();
            drop(pfds);
            drop(fds);
            let mut gone = Vec::new();
            for (slot, _) in ready {
                match slot {
                    Slot::Sig => {
                        let _ = self.sigfd.read_signal();
                        if let Some(c) = reap(pid) {
                            code = Some(c);
                        }
                    }
                    Slot::Listen => {
                        if let Ok((s, _)) = self.listener.accept() {
                            self.add_client(s, false);
                        }
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
        code.unwrap_or(255)
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
        let mut buf = [0u8; 32 * 1024];
        match nix::unistd::read(f, &mut buf) {
            Ok(0) => {
                *fd = None;
                false
            }
            Ok(n) => {
                self.logger.write(stream, &buf[..n]);
                let (kind, want) = if stream == 0 {
                    (proto::STDOUT, proto::WANT_STDOUT)
                } else {
                    (proto::STDERR, proto::WANT_STDERR)
                };
                self.broadcast(kind, want, &buf[..n]);
                true
            }
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => false,
            Err(_) => {
                *fd = None;
                false
            }
        }
    }

    /// Handles frames from client `i`; false when it went away.
    fn client_input(&mut self, i: usize, pid: i32, io: &mut Stdio) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let c = &mut self.clients[i];
        let n = match c.sock.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        c.parser.push(&buf[..n]);
        loop {
            let frame = match self.clients[i].parser.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return true,
                Err(_) => return false,
            };
            match frame {
                (proto::HELLO, p) => self.clients[i].flags = p.first().copied().unwrap_or(0),
                (proto::STDIN, data) => {
                    let target = io.master.as_ref().or(io.stdin_w.as_ref());
                    if let Some(fd) = target.and_then(|f| f.try_clone().ok()) {
                        let _ = std::fs::File::from(fd).write_all(&data);
                    }
                }
                (proto::STDIN_EOF, _) if io.master.is_none() => io.stdin_w = None,
                (proto::RESIZE, p) if p.len() >= 4 => {
                    if let Some(m) = io.master.as_ref() {
                        let rows = u16::from_le_bytes([p[0], p[1]]);
                        let cols = u16::from_le_bytes([p[2], p[3]]);
                        let _ = hull_sys::tty::set_window_size(m.as_fd(), rows, cols);
                    }
                }
                (proto::SIGNAL, p) => {
                    if let Some(sig) = proto::payload_i32(&p) {
                        if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
                            let _ = nix::sys::signal::kill(Pid::from_raw(pid), s);
                        }
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
        if proto::write_frame(&mut c.sock, proto::HOOK, &proto::i32_payload(code)).is_err() {
            self.clients.remove(i);
            return None;
        }
        let mut buf = [0u8; 4096];
        loop {
            match c.parser.next_frame() {
                Ok(Some((proto::HOOK_DONE, p))) => return proto::payload_i32(&p),
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(_) => break,
            }
            match c.sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => c.parser.push(&buf[..n]),
            }
        }
        self.clients.remove(i);
        None
    }

    /// The end: every client (and any still waiting in the backlog) learns the exit code.
    pub fn finish(mut self, code: i32) {
        let _ = self.listener.set_nonblocking(true);
        while let Ok((s, _)) = self.listener.accept() {
            let _ = s.set_nonblocking(false);
            self.add_client(s, false);
        }
        self.broadcast(proto::EXIT, 0, &proto::i32_payload(code));
    }
}

/// Reaps every exited child; the exit code of `pid` if it was among them.
fn reap(pid: i32) -> Option<i32> {
    let mut found = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p.as_raw() == pid => found = Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == pid => found = Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return found,
            Ok(_) => {}
        }
    }
}
