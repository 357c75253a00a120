//! The client side of attach (`hull run` in the foreground, `start -a`, `attach`): the
//! container's output to our stdout/stderr, our stdin to it (-i), and with a terminal, raw
//! mode, window size changes, signals forwarded (sig-proxy) and docker's detach keys. Returns
//! the exit code from the monitor's EXIT frame (0 after a detach).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hull_monitor::proto;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::termios;

/// docker's default detach sequence.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Parses docker's `--detach-keys`: keys separated by commas, each one character or `ctrl-X`
/// (X one of a-z, @, [, \, ], ^, _). An empty string turns detaching off.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let bad =
        |k: &str| format!("--detach-keys {s:?}: {k:?} is not a character or ctrl-<a-z@[\\]^_>");
    s.split(',')
        .map(|k| match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => match c.as_bytes()[0].to_ascii_lowercase() {
                b @ b'a'..=b'z' => Ok(b - b'a' + 1),
                b @ (b'@' | b'[' | b'\\' | b']' | b'^' | b'_') => Ok(b - b'@'),
                _ => Err(bad(k)),
            },
            None if k.len() == 1 && k.is_ascii() => Ok(k.as_bytes()[0]),
            _ => Err(bad(k)),
        })
        .collect()
}

/// Finds the detach sequence in what is typed: a partial match is held back until it
/// completes (detach) or breaks (then it goes to the container after all).
#[derive(Debug)]
pub struct DetachScanner {
    keys: Vec<u8>,
    held: usize,
}

impl DetachScanner {
    pub fn new(keys: &[u8]) -> DetachScanner {
        DetachScanner {
            keys: keys.to_vec(),
            held: 0,
        }
    }

    /// Appends to `out` what goes to the container; true when the sequence is complete.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return false;
        }
        for &b in input {
            if b != self.keys[self.held] {
                out.extend_from_slice(&self.keys[..self.held]);
                self.held = 0;
                if b != self.keys[0] {
                    out.push(b);
                    continue;
                }
            }
            self.held += 1;
            if self.held == self.keys.len() {
                return true;
            }
        }
        false
    }
}

/// Restores the terminal mode when dropped.
pub struct RawMode {
    saved: Option<termios::Termios>,
}

impl RawMode {
    pub fn enter(on: bool) -> RawMode {
        let stdin = std::io::stdin();
        let saved = if on {
            termios::tcgetattr(stdin.as_fd()).ok()
        } else {
            None
        };
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), termios::SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), termios::SetArg::TCSANOW, t);
        }
    }
}

/// Our terminal's size, if stdin or stdout is one.
pub fn terminal_size() -> Option<(u16, u16)> {
    hull_sys::tty::window_size(std::io::stdin().as_fd())
        .or_else(|_| hull_sys::tty::window_size(std::io::stdout().as_fd()))
        .ok()
        .filter(|(r, c)| *r > 0 && *c > 0)
}

/// The interrupt that ends an attached client, whatever the container does with the first two.
const FORCE_EXIT_INTERRUPTS: u32 = 3;

/// Blocks the signals the proxy forwards, before any thread exists (threads inherit the mask).
pub fn block_proxy_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        set.add(s);
    }
    let _ = set.thread_block();
    set
}

/// Streams until the container exits; its exit code (None if the monitor went away).
pub fn attach(
    sock: UnixStream,
    stdin: bool,
    tty: bool,
    sig_proxy: bool,
    detach_keys: &[u8],
) -> Option<i32> {
    attach_with_hook(sock, stdin, tty, sig_proxy, detach_keys, None)
}

/// As `attach`; with `hook` (the starter asked for WANT_HOOK), the exit is recorded here by
/// calling it with the exit code, and its status goes back to the monitor.
///
/// With a terminal, typing `detach_keys` (empty: never) leaves the container running: the
/// connection closes, its stdin stays open, and the monitor records the exit itself later.
pub fn attach_with_hook(
    sock: UnixStream,
    stdin: bool,
    tty: bool,
    sig_proxy: bool,
    detach_keys: &[u8],
    hook: Option<&dyn Fn(i32) -> i32>,
) -> Option<i32> {
    let signals = block_proxy_signals();
    let _raw =
        RawMode::enter(tty && nix::unistd::isatty(std::io::stdin().as_fd()).unwrap_or(false));
    let writer = Arc::new(Mutex::new(sock.try_clone().ok()?));
    let detached = Arc::new(AtomicBool::new(false));
    if stdin {
        let w = Arc::clone(&writer);
        let detached = Arc::clone(&detached);
        let mut scan = DetachScanner::new(if tty { detach_keys } else { &[] });
        std::thread::spawn(move || {
            let mut buf = [0u8; 32 * 1024];
            let mut input = std::io::stdin();
            let mut data = Vec::with_capacity(buf.len());
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = proto::write_frame(&mut *w.lock().unwrap(), proto::STDIN_EOF, &[]);
                        return;
                    }
                    Ok(n) => {
                        data.clear();
                        let detach = scan.feed(&buf[..n], &mut data);
                        let mut s = w.lock().unwrap();
                        if !data.is_empty()
                            && proto::write_frame(&mut *s, proto::STDIN, &data).is_err()
                        {
                            return;
                        }
                        if detach {
                            detached.store(true, Ordering::SeqCst);
                            let _ = s.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                    }
                }
            }
        });
    }
    // docker's client gives up on the third interrupt: the user wants out even though the
    // container ignores SIGINT. It is left running; the monitor records its exit.
    let forced = Arc::new(AtomicBool::new(false));
    {
        let w = Arc::clone(&writer);
        let forced = Arc::clone(&forced);
        let mut interrupts = 0;
        std::thread::spawn(move || loop {
            let Ok(sig) = signals.wait() else { return };
            let mut s = w.lock().unwrap();
            if sig == Signal::SIGINT {
                interrupts += 1;
                if interrupts == FORCE_EXIT_INTERRUPTS {
                    forced.store(true, Ordering::SeqCst);
                    let _ = s.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
            let ok = if sig == Signal::SIGWINCH {
                match terminal_size() {
                    Some((r, c)) => {
                        let mut p = r.to_le_bytes().to_vec();
                        p.extend_from_slice(&c.to_le_bytes());
                        proto::write_frame(&mut *s, proto::RESIZE, &p).is_ok()
                    }
                    None => true,
                }
            } else if sig_proxy {
                proto::write_frame(&mut *s, proto::SIGNAL, &proto::i32_payload(sig as i32)).is_ok()
            } else {
                true
            };
            if !ok {
                return;
            }
        });
    }
    let mut r = sock;
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        match proto::read_frame(&mut r) {
            Ok(Some((proto::STDOUT, d))) => {
                let _ = out.write_all(&d);
                let _ = out.flush();
            }
            Ok(Some((proto::STDERR, d))) => {
                let _ = err.write_all(&d);
            }
            Ok(Some((proto::EXIT, p))) => return proto::payload_i32(&p),
            Ok(Some((proto::HOOK, p))) => {
                let code = proto::payload_i32(&p)?;
                let status = hook.map(|h| h(code)).unwrap_or(0);
                let _ = proto::write_frame(
                    &mut *writer.lock().unwrap_or_else(|e| e.into_inner()),
                    proto::HOOK_DONE,
                    &proto::i32_payload(status),
                );
                return Some(code);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) if detached.load(Ordering::SeqCst) => return Some(0),
            Ok(None) | Err(_) if forced.load(Ordering::SeqCst) => {
                return Some(128 + Signal::SIGINT as i32)
            }
            Ok(None) | Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_docker_writes_them() {
        assert_eq!(parse_detach_keys(DEFAULT_DETACH_KEYS), Ok(vec![0x10, 0x11]));
        assert_eq!(
            parse_detach_keys("a,ctrl-X,ctrl-@,ctrl-_"),
            Ok(vec![b'a', 24, 0, 31])
        );
        assert_eq!(parse_detach_keys(""), Ok(vec![]));
        for bad in ["ctrl-", "ctrl-1", "ab", "a,,b", "ctrl-é"] {
            let e = parse_detach_keys(bad).unwrap_err();
            assert!(e.starts_with("--detach-keys"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_scanner_holds_a_partial_sequence_back() {
        let mut s = DetachScanner::new(&[0x10, 0x11]);
        let mut out = Vec::new();
        assert!(!s.feed(b"ab\x10", &mut out));
        assert_eq!(out, b"ab");
        // Broken: the held ctrl-p goes through, then what broke it.
        assert!(!s.feed(b"c\x10", &mut out));
        assert_eq!(out, b"ab\x10c");
        // Completed across two reads.
        assert!(s.feed(b"\x11tail", &mut out));
        assert_eq!(out, b"ab\x10c");
        // ctrl-p ctrl-p ctrl-q: the first one goes through.
        let mut s = DetachScanner::new(&[0x10, 0x11]);
        let mut out = Vec::new();
        assert!(s.feed(b"\x10\x10\x11", &mut out));
        assert_eq!(out, b"\x10");
        // No keys: everything goes through.
        let mut s = DetachScanner::new(&[]);
        let mut out = Vec::new();
        assert!(!s.feed(b"\x10\x11", &mut out));
        assert_eq!(out, b"\x10\x11");
    }
}
