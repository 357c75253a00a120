//! Creating and starting the container through the OCI runtime's CLI (runc's): `run
//! --detach --bundle --pid-file`, or with a terminal `create --console-socket` and `start`
//! once the starter said GO.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio as Std};

use hull_monitor::proto;

use crate::Args;

/// The container's stdio as the monitor holds it.
pub struct Stdio {
    /// Read ends of the container's stdout and stderr pipes (non-blocking), or None for a tty.
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
    /// Write ends, kept for restarts (so no read end ever sees end-of-file).
    out_w: Option<OwnedFd>,
    err_w: Option<OwnedFd>,
    /// The container's stdin: read end handed to the runtime, write end for clients.
    stdin_r: Option<OwnedFd>,
    pub stdin_w: Option<OwnedFd>,
    /// The pty master with a terminal.
    pub master: Option<OwnedFd>,
    pub tty: bool,
    /// The HELLO flags the starter sent before GO.
    pub sync_hello: Option<u8>,
}

fn nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let fl = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(fl | OFlag::O_NONBLOCK))?;
    Ok(())
}

impl Stdio {
    pub fn new(stdin: bool, tty: bool) -> std::io::Result<Stdio> {
        let mut io = Stdio {
            out: None,
            err: None,
            out_w: None,
            err_w: None,
            stdin_r: None,
            stdin_w: None,
            master: None,
            tty,
            sync_hello: None,
        };
        // Even with a tty, stderr is a pipe: the runtime's own errors arrive there.
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        nonblocking(&r)?;
        io.err = Some(r);
        io.err_w = Some(w);
        if !tty {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
            nonblocking(&r)?;
            io.out = Some(r);
            io.out_w = Some(w);
            if stdin {
                let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
                io.stdin_r = Some(r);
                io.stdin_w = Some(w);
            }
        }
        Ok(io)
    }

    fn dup(fd: &Option<OwnedFd>) -> Std {
        match fd.as_ref().and_then(|f| f.try_clone().ok()) {
            Some(f) => Std::from(f),
            None => Std::null(),
        }
    }

    /// Whatever is waiting in the stderr pipe (the runtime's error message).
    fn drain_err(&self) -> String {
        let mut s = Vec::new();
        if let Some(fd) = self.err.as_ref().and_then(|f| f.try_clone().ok()) {
            let _ = File::from(fd).read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).trim().to_string()
    }
}

fn runtime(args: &Args) -> Command {
    let mut c = Command::new(&args.runtime);
    c.arg("--root").arg(&args.runtime_root);
    c
}

fn run_checked(args: &Args, io: &Stdio, what: &str, mut cmd: Command) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => {
            let msg = io.drain_err();
            let msg = if msg.is_empty() {
                format!("exit status {s}")
            } else {
                msg
            };
            Err(format!("runtime {} {what}: {msg}", args.runtime))
        }
        Err(e) => Err(format!("runtime {}: {e}", args.runtime)),
    }
}

/// Creates and starts the container; returns its init pid. With `sync` (the first start), the
/// starter learns the pid (CREATED), records it, and answers GO before `start`.
pub fn start(
    args: &Args,
    io: &mut Stdio,
    mut sync: Option<&mut UnixStream>,
) -> Result<i32, String> {
    let _ = std::fs::remove_file("pid");
    let console = if io.tty {
        let _ = std::fs::remove_file("console.sock");
        Some(UnixListener::bind("console.sock").map_err(|e| format!("console socket: {e}"))?)
    } else {
        None
    };
    // Without a terminal, one `run --detach` creates and starts; with one, create and start
    // are apart so the window size is set on the pty before the program can ask for it.
    let mut c = runtime(args);
    let verb = if io.tty { "create" } else { "run" };
    c.arg(verb);
    if !io.tty {
        c.arg("--detach");
    }
    c.args(["--bundle", &args.bundle, "--pid-file", "pid"]);
    if console.is_some() {
        c.args(["--console-socket", "console.sock"]);
    }
    c.arg(&args.id);
    c.stdin(Stdio::dup(&io.stdin_r))
        .stdout(Stdio::dup(&io.out_w))
        .stderr(Stdio::dup(&io.err_w));
    run_checked(args, io, verb, c)?;
    let pid: i32 = std::fs::read_to_string("pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| "runtime wrote no pid file".to_string())?;
    if let Some(l) = console {
        let _ = l.set_nonblocking(true);
        let master = l
            .accept()
            .map_err(|e| format!("console socket: no connection from the runtime: {e}"))
            .and_then(|(s, _)| {
                let _ = s.set_nonblocking(false);
                hull_sys::fdpass::recv_fd(s.as_fd())
                    .map_err(|e| format!("console socket: {e}"))?
                    .ok_or_else(|| "console socket: no pty master received".to_string())
            });
        let _ = std::fs::remove_file("console.sock");
        let master = match master {
            Ok(m) => m,
            Err(e) => {
                delete(args);
                return Err(e);
            }
        };
        if args.rows > 0 && args.cols > 0 {
            let _ = hull_sys::tty::set_window_size(master.as_fd(), args.rows, args.cols);
        }
        let _ = nonblocking(&master);
        io.master = Some(master);
    }
    if io.tty {
        if let Some(s) = sync.as_deref_mut() {
            // The starter records "running" and answers GO before the program starts.
            if proto::write_frame(s, proto::CREATED, &proto::i32_payload(pid)).is_err()
                || !wait_go(s, io)
            {
                delete(args);
                return Err("the starting hull went away".into());
            }
        }
        let mut c = runtime(args);
        c.args(["start", &args.id])
            .stdin(Std::null())
            .stdout(Std::null())
            .stderr(Stdio::dup(&io.err_w));
        if let Err(e) = run_checked(args, io, "start", c) {
            delete(args);
            return Err(e);
        }
    }
    if let Some(s) = sync {
        let _ = proto::write_frame(s, proto::STARTED, &proto::i32_payload(pid));
        // The starter records "running" (if it has not yet) and answers GO; only then may an
        // exit be recorded, so the two writes cannot cross.
        if !io.tty && !wait_go(s, io) {
            // The starter is gone: the container runs on, unrecorded until its exit.
        }
    }
    Ok(pid)
}

/// Reads the starter's frames until GO (HELLO and RESIZE may come first). False if it went
/// away.
fn wait_go(s: &mut UnixStream, io: &mut Stdio) -> bool {
    loop {
        match proto::read_frame(s) {
            Ok(Some((proto::GO, _))) => return true,
            Ok(Some((proto::RESIZE, p))) if p.len() >= 4 => {
                if let Some(m) = io.master.as_ref() {
                    let rows = u16::from_le_bytes([p[0], p[1]]);
                    let cols = u16::from_le_bytes([p[2], p[3]]);
                    let _ = hull_sys::tty::set_window_size(m.as_fd(), rows, cols);
                }
            }
            Ok(Some((proto::HELLO, p))) => io.sync_hello = p.first().copied(),
            Ok(Some(_)) => {}
            _ => return false,
        }
    }
}

fn delete(args: &Args) {
    let _ = runtime(args)
        .args(["delete", "--force", &args.id])
        .stdin(Std::null())
        .stdout(Std::null())
        .stderr(Std::null())
        .status();
}
