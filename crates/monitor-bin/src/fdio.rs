//! Small safe helpers over rustix: whole writes and reads on fds, files, the clock, error
//! messages, and a connection that speaks hull's frames (crates/monitor's proto).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

use hull_monitor::proto;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::{self, Errno};

/// Writes all of `buf`.
pub fn write_all(fd: impl AsFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match rustix::io::write(&fd, buf) {
            Ok(0) => return Err(Errno::PIPE),
            Ok(n) => buf = &buf[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads once into `buf` (uninitialised: only the pages the kernel writes are touched); the
/// bytes read, empty at end of file.
pub fn read_some(fd: impl AsFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<&[u8]> {
    rustix::io::read(&fd, buf).map(|(got, _)| &*got)
}

/// Reads until `buf` is full, end of file or an error; the count read.
pub fn read_full(fd: impl AsFd, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(&fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    got
}

/// Everything readable now (up to end of file, or until a non-blocking fd has no more).
pub fn read_available(fd: impl AsFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    while let Ok(got) = read_some(&fd, &mut buf) {
        if got.is_empty() {
            break;
        }
        out.extend_from_slice(got);
    }
    out
}

pub fn open(path: &str, flags: OFlags) -> io::Result<OwnedFd> {
    rustix::fs::open(path, flags | OFlags::CLOEXEC, Mode::from_raw_mode(0o666))
}

pub fn read_file(path: &str) -> io::Result<Vec<u8>> {
    Ok(read_available(open(path, OFlags::RDONLY)?))
}

/// Writes `path` whole: into `path.tmp`, then renamed over it.
pub fn write_file_atomic(path: &str, data: &[u8]) -> io::Result<()> {
    let tmp = format!("{path}.tmp");
    let f = open(&tmp, OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC)?;
    write_all(&f, data)?;
    drop(f);
    rustix::fs::rename(&*tmp, path)
}

pub fn remove(path: &str) {
    let _ = rustix::fs::unlink(path);
}

pub fn set_nonblocking(fd: impl AsFd, on: bool) -> io::Result<()> {
    let fl = rustix::fs::fcntl_getfl(&fd)?;
    let fl = if on {
        fl | OFlags::NONBLOCK
    } else {
        fl - OFlags::NONBLOCK
    };
    rustix::fs::fcntl_setfl(&fd, fl)
}

/// Now as RFC 3339 with nanoseconds, UTC.
pub fn now() -> String {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    hull_monitor::logfmt::rfc3339_nanos(t.tv_sec, t.tv_nsec as u32)
}

/// An error as std prints it (`No such file or directory (os error 2)`), for the errors a
/// runtime or hook that cannot run gives; others as `os error N`.
pub fn errmsg(e: Errno) -> String {
    let text = match e {
        Errno::NOENT => "No such file or directory",
        Errno::ACCESS => "Permission denied",
        Errno::NOEXEC => "Exec format error",
        Errno::NOTDIR => "Not a directory",
        Errno::NOMEM => "Cannot allocate memory",
        Errno::AGAIN => "Resource temporarily unavailable",
        Errno::ADDRINUSE => "Address in use",
        Errno::NAMETOOLONG => "File name too long",
        Errno::ROFS => "Read-only file system",
        Errno::PERM => "Operation not permitted",
        Errno::TXTBSY => "Text file busy",
        _ => return format!("os error {}", e.raw_os_error()),
    };
    format!("{text} (os error {})", e.raw_os_error())
}

/// A stream socket speaking frames: blocking writes, reads through a parser that keeps what
/// it read beyond a frame.
pub struct Conn {
    pub fd: OwnedFd,
    pub parser: proto::Parser,
    /// The client's WANT_* flags (from HELLO).
    pub flags: u8,
}

impl Conn {
    pub fn new(fd: OwnedFd) -> Conn {
        Conn {
            fd,
            parser: proto::Parser::default(),
            flags: 0,
        }
    }

    /// Sends one frame in one write; false if the peer is gone.
    pub fn send(&self, kind: u8, payload: &[u8]) -> bool {
        write_all(&self.fd, &proto::encode(kind, payload)).is_ok()
    }

    /// Reads once into the parser; false at end of stream or on an error.
    pub fn fill(&mut self) -> bool {
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        match read_some(&self.fd, &mut buf) {
            Ok(got) if !got.is_empty() => {
                self.parser.push(got);
                true
            }
            _ => false,
        }
    }

    /// The next frame, reading (blocking) as needed; None when the peer went away or broke
    /// the protocol.
    pub fn recv(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            match self.parser.next_frame() {
                Ok(Some(f)) => return Some(f),
                Ok(None) => {}
                Err(_) => return None,
            }
            if !self.fill() {
                return None;
            }
        }
    }
}
