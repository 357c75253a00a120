//! The client side of attach (`hull run` in the foreground, `start -a`, `attach`): the
//! container's output to our stdout/stderr, our stdin to it (-i), and with a terminal, raw
//! mode, window size changes and signals forwarded (sig-proxy). Returns the exit code from the
//! monitor's EXIT frame.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use hull_monitor::proto;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::termios;

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
pub fn attach(sock: UnixStream, stdin: bool, tty: bool, sig_proxy: bool) -> Option<i32> {
    attach_with_hook(sock, stdin, tty, sig_proxy, None)
}

/// As `attach`; with `hook` (the starter asked for WANT_HOOK), the exit is recorded here by
/// calling it with the exit code, and its status goes back to the monitor.
pub fn attach_with_hook(
    sock: UnixStream,
    stdin: bool,
    tty: bool,
    sig_proxy: bool,
    hook: Option<&dyn Fn(i32) -> i32>,
) -> Option<i32> {
    let signals = block_proxy_signals();
    let _raw =
        RawMode::enter(tty && nix::unistd::isatty(std::io::stdin().as_fd()).unwrap_or(false));
    let writer = Arc::new(Mutex::new(sock.try_clone().ok()?));
    if stdin {
        let w = Arc::clone(&writer);
        std::thread::spawn(move || {
            let mut buf = [0u8; 32 * 1024];
            let mut input = std::io::stdin();
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = proto::write_frame(&mut *w.lock().unwrap(), proto::STDIN_EOF, &[]);
                        return;
                    }
                    Ok(n) => {
                        if proto::write_frame(&mut *w.lock().unwrap(), proto::STDIN, &buf[..n])
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
    }
    {
        let w = Arc::clone(&writer);
        std::thread::spawn(move || loop {
            let Ok(sig) = signals.wait() else { return };
            let mut s = w.lock().unwrap();
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
            Ok(None) | Err(_) => return None,
        }
    }
}
