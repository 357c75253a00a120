//! The attach protocol: frames of `[type: u8][len: u32 little endian][payload]` on a unix
//! stream socket (or the socketpair a starting `hull` hands the monitor as fd 3).

use alloc::vec::Vec;
#[cfg(feature = "std")]
use std::io::{self, Read, Write};

/// Monitor -> client: container output.
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
/// Monitor -> client: the container is gone; payload: the exit code (i32 LE). Sent after the
/// exit hook recorded it (and removed the container with --rm).
pub const EXIT: u8 = 3;
/// Monitor -> starter: the runtime created the container; payload: its init pid (i32 LE).
/// The monitor then waits for GO before `start`.
pub const CREATED: u8 = 4;
/// Monitor -> starter: create or start failed; payload: the runtime's message.
pub const ERROR: u8 = 5;
/// Monitor -> starter: the container runs; payload: its init pid (i32 LE). Without a
/// terminal the starter answers GO (after recording it) before any exit is recorded.
pub const STARTED: u8 = 6;

/// Monitor -> the client that set WANT_HOOK: the container exited (payload: code, i32 LE);
/// record it and answer HOOK_DONE with the hook's status, as `hull internal-hook exited`.
pub const HOOK: u8 = 7;
/// Client -> monitor: the exit is recorded; payload: the hook's status (i32 LE).
pub const HOOK_DONE: u8 = 16;

/// Client -> monitor: first frame; payload: one byte of WANT_* flags.
pub const HELLO: u8 = 10;
pub const STDIN: u8 = 11;
/// Client -> monitor: close the container's stdin.
pub const STDIN_EOF: u8 = 12;
/// Client -> monitor: window size; payload: rows u16 LE, cols u16 LE.
pub const RESIZE: u8 = 13;
/// Client -> monitor: send a signal to the container's init; payload: i32 LE.
pub const SIGNAL: u8 = 14;
/// Starter -> monitor: the start is recorded; go on (with a terminal: run the start).
pub const GO: u8 = 15;

pub const WANT_STDOUT: u8 = 1;
pub const WANT_STDERR: u8 = 2;
pub const WANT_STDIN: u8 = 4;
/// The client records the exit itself (a foreground `hull run`: no exec of the hook).
pub const WANT_HOOK: u8 = 8;

/// Largest payload accepted (a bigger length is a broken peer).
pub const MAX_FRAME: usize = 1 << 20;

/// A frame whose announced length is over MAX_FRAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLarge;

impl core::fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("attach frame too large")
    }
}

/// One frame, header and payload together (to be written in a single write).
pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(5 + payload.len());
    buf.push(kind);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(payload);
    buf
}

/// Writes one frame in a single write (header and payload together).
#[cfg(feature = "std")]
pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    w.write_all(&encode(kind, payload))
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
#[cfg(feature = "std")]
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut hdr = [0u8; 5];
    let mut got = 0;
    while got < 5 {
        match r.read(&mut hdr[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes([hdr[1], hdr[2], hdr[3], hdr[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            FrameTooLarge.to_string(),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((hdr[0], payload)))
}

pub fn i32_payload(v: i32) -> [u8; 4] {
    v.to_le_bytes()
}

pub fn payload_i32(p: &[u8]) -> Option<i32> {
    Some(i32::from_le_bytes(p.get(..4)?.try_into().ok()?))
}

/// An incremental frame parser for a non-blocking reader (the monitor's side).
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
}

impl Parser {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one is buffered. Err for an oversized frame.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, FrameTooLarge> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameTooLarge);
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut v = Vec::new();
        write_frame(&mut v, STDOUT, b"hello").unwrap();
        write_frame(&mut v, EXIT, &i32_payload(-3)).unwrap();
        let mut r = &v[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((STDOUT, b"hello".to_vec()))
        );
        let (k, p) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!((k, payload_i32(&p)), (EXIT, Some(-3)));
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let mut p = Parser::default();
        p.push(&v[..3]);
        assert!(p.next_frame().unwrap().is_none());
        p.push(&v[3..]);
        assert_eq!(p.next_frame().unwrap().unwrap().1, b"hello");
        assert_eq!(p.next_frame().unwrap().unwrap().0, EXIT);
        assert_eq!(p.next_frame(), Ok(None));
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut hdr = vec![STDIN];
        hdr.extend_from_slice(&((MAX_FRAME + 1) as u32).to_le_bytes());
        let mut p = Parser::default();
        p.push(&hdr);
        assert_eq!(p.next_frame(), Err(FrameTooLarge));
        assert!(read_frame(&mut &hdr[..]).is_err());
        assert_eq!(encode(GO, &[]), [GO, 0, 0, 0, 0]);
    }
}
