//! `hull exec [-d] [-i] [-t] [-e] [-u] [-w] [--detach-keys] CONTAINER COMMAND...`: the
//! engine's exec with our own stdio as its streams; with -t, our terminal in raw mode, its
//! size and the signals we get passed on, and docker's detach keys.

use std::io::{Read, Write};
use std::os::fd::AsFd as _;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use hull_engine::container::exec::{self, Streams, Tty};
use hull_engine::Paths;
use hull_format::parse;
use hull_term::attach::{self, DetachScanner, RawMode};

use super::{CmdError, CmdResult};

/// Execute a command in a running container.
#[derive(clap::Args)]
pub struct Args {
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    detach: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    tty: bool,
    /// Set environment variables.
    #[arg(short, long)]
    env: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// Give extended privileges to the command.
    #[arg(long)]
    privileged: bool,
    #[command(flatten)]
    detach_keys: super::flags::DetachKeys,
    container: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let detach_keys = a.detach_keys.parse()?;
    let eng = super::engine(paths)?;
    let tty = a.tty && !a.detach;
    let opts = exec::Opts {
        detach: a.detach,
        interactive: a.interactive,
        tty: a.tty,
        env: a.env.iter().filter_map(|e| parse::env_entry(e)).collect(),
        user: a.user,
        workdir: a.workdir,
        privileged: a.privileged,
        console_size: if tty { attach::terminal_size() } else { None },
        // The keys are scanned here, in terminal(): not kept with the instance.
        detach_keys: None,
    };
    let streams = if tty {
        terminal(detach_keys)?
    } else {
        Streams {
            stdin: Some(Box::new(std::io::stdin())),
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
            on_tty: None,
            detach: None,
        }
    };
    match eng.exec(&a.container, a.command, opts, streams)? {
        0 => Ok(()),
        code => Err(CmdError::exit(code)),
    }
}

/// Our terminal as an exec's streams: raw mode once the process has its pty (restored when
/// the last holder, the engine's relay, lets go), resizes and signals passed on, input
/// scanned for the detach keys.
fn terminal(detach_keys: Vec<u8>) -> Result<Streams, CmdError> {
    // Blocked before any thread exists (threads inherit the mask); the runtime is spawned
    // with an empty mask.
    let signals = attach::block_proxy_signals();
    let (detach_r, detach_w) = UnixStream::pair()?;
    let raw: Arc<Mutex<Option<RawMode>>> = Arc::default();
    let keep = Arc::clone(&raw);
    let on_tty = move |t: Tty| {
        let on = nix::unistd::isatty(std::io::stdin().as_fd()).unwrap_or(false);
        *keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(RawMode::enter(on));
        if let Some((r, c)) = attach::terminal_size() {
            let _ = t.resize(r, c);
        }
        std::thread::spawn(move || loop {
            let Ok(sig) = signals.wait() else { return };
            if sig == nix::sys::signal::Signal::SIGWINCH {
                if let Some((r, c)) = attach::terminal_size() {
                    let _ = t.resize(r, c);
                }
            } else {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(t.runtime_pid), sig);
            }
        });
    };
    Ok(Streams {
        stdin: Some(Box::new(Scanned {
            scan: DetachScanner::new(&detach_keys),
            detach: detach_w,
            pending: Vec::new(),
        })),
        stdout: Box::new(Restoring {
            out: std::io::stdout(),
            _raw: raw,
        }),
        stderr: Box::new(std::io::stderr()),
        on_tty: Some(Box::new(on_tty)),
        detach: Some(detach_r),
    })
}

/// Our stdin with the detach keys taken out; when they are typed, a byte on `detach` and
/// end of file.
struct Scanned {
    scan: DetachScanner,
    detach: UnixStream,
    pending: Vec<u8>,
}

impl Read for Scanned {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            let mut input = [0u8; 8192];
            let n = std::io::stdin().read(&mut input)?;
            if n == 0 {
                return Ok(0);
            }
            if self.scan.feed(&input[..n], &mut self.pending) {
                let _ = self.detach.write_all(b"d");
                return Ok(0);
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Our stdout, holding the raw mode: the terminal's mode comes back when the relay drops it.
struct Restoring {
    out: std::io::Stdout,
    _raw: Arc<Mutex<Option<RawMode>>>,
}

impl Write for Restoring {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.out.write(b)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
