//! Creating and starting the container through the OCI runtime's CLI (runc's): `run
//! --detach --bundle --pid-file`, or with a terminal `create --console-socket` and `start`
//! once the starter said GO.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

use hull_monitor::args::Args;
use hull_monitor::proto;
use rustix::fd::{AsFd, OwnedFd};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketAddrUnix,
    SocketFlags, SocketType,
};
use rustix::pipe::PipeFlags;

use crate::fdio::{self, Conn};
use crate::sys::{self, Io, Start, Status};

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
}

fn pipe() -> rustix::io::Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(PipeFlags::CLOEXEC)
}

impl Stdio {
    pub fn new(stdin: bool, tty: bool) -> rustix::io::Result<Stdio> {
        let mut io = Stdio {
            out: None,
            err: None,
            out_w: None,
            err_w: None,
            stdin_r: None,
            stdin_w: None,
            master: None,
            tty,
        };
        // Even with a tty, stderr is a pipe: the runtime's own errors arrive there.
        let (r, w) = pipe()?;
        fdio::set_nonblocking(&r, true)?;
        io.err = Some(r);
        io.err_w = Some(w);
        if !tty {
            let (r, w) = pipe()?;
            fdio::set_nonblocking(&r, true)?;
            io.out = Some(r);
            io.out_w = Some(w);
            if stdin {
                let (r, w) = pipe()?;
                io.stdin_r = Some(r);
                io.stdin_w = Some(w);
            }
        }
        Ok(io)
    }

    /// Whatever is waiting in the stderr pipe (the runtime's error message).
    fn drain_err(&self) -> String {
        let s = self
            .err
            .as_ref()
            .map(fdio::read_available)
            .unwrap_or_default();
        String::from_utf8_lossy(&s).trim().to_string()
    }
}

fn fd(f: &Option<OwnedFd>) -> Io<'_> {
    f.as_ref().map_or(Io::Null, |f| Io::Fd(f.as_fd()))
}

/// Sets the pty's window size.
pub fn set_window_size(master: &OwnedFd, rows: u16, cols: u16) {
    let ws = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let _ = rustix::termios::tcsetwinsize(master, ws);
}

/// Runs the runtime with `args` after `--root DIR`, waiting for it to end.
fn runtime(a: &Args, start: &Start, args: &[&str], stdio: [Io<'_>; 3]) -> Result<Status, String> {
    let mut v = vec!["--root".to_string(), a.runtime_root.clone()];
    let me = rustix::process::getpid().as_raw_nonzero().get();
    v.extend(hull_monitor::trace::runtime_args(&a.log_level, me));
    v.extend(args.iter().map(|s| s.to_string()));
    crate::trace(a, &format!("runtime {} {}", a.runtime, args.join(" ")));
    let cmd = sys::Command {
        prog: &a.runtime,
        args: v,
        stdio,
    };
    let pid = sys::spawn(&cmd, start)
        .map_err(|e| format!("runtime {}: {}", a.runtime, fdio::errmsg(e)))?;
    let st = sys::wait(pid);
    if let Some(verb) = args.first() {
        crate::trace(a, &format!("runtime {verb}: {}", describe(st)));
    }
    Ok(st)
}

fn describe(st: Status) -> String {
    match st {
        Status::Exited(c) => format!("exit status {c}"),
        Status::Signaled(s) => format!("signal {s}"),
    }
}

fn run_checked(
    a: &Args,
    start: &Start,
    io: &Stdio,
    what: &str,
    args: &[&str],
    stdio: [Io<'_>; 3],
) -> Result<(), String> {
    match runtime(a, start, args, stdio)? {
        Status::Exited(0) => Ok(()),
        st => {
            let msg = io.drain_err();
            let msg = if !msg.is_empty() {
                msg
            } else {
                match st {
                    Status::Exited(c) => format!("exit status: {c}"),
                    Status::Signaled(s) => format!("signal: {s}"),
                }
            };
            Err(format!("runtime {} {what}: {msg}", a.runtime))
        }
    }
}

/// A listening unix socket at `path` (relative to the bundle, our working directory).
pub fn listen(path: &str) -> rustix::io::Result<OwnedFd> {
    fdio::remove(path);
    let s = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    rustix::net::bind(&s, &SocketAddrUnix::new(path)?)?;
    rustix::net::listen(&s, 128)?;
    Ok(s)
}

/// The first fd passed with SCM_RIGHTS in one message on `sock`.
fn recv_fd(sock: &OwnedFd) -> rustix::io::Result<Option<OwnedFd>> {
    let mut data = [0u8; 512];
    let mut iov = [rustix::io::IoSliceMut::new(&mut data)];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    rustix::net::recvmsg(sock, &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC)?;
    let mut first = None;
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            for fd in fds {
                if first.is_none() {
                    first = Some(fd);
                }
            }
        }
    }
    Ok(first)
}

/// The pty master that the runtime sent over the console socket (already connected).
fn accept_master(console: &OwnedFd) -> Result<OwnedFd, String> {
    let _ = fdio::set_nonblocking(console, true);
    let s = rustix::net::accept_with(console, SocketFlags::CLOEXEC).map_err(|e| {
        format!(
            "console socket: no connection from the runtime: {}",
            fdio::errmsg(e)
        )
    })?;
    let _ = fdio::set_nonblocking(&s, false);
    recv_fd(&s)
        .map_err(|e| format!("console socket: {}", fdio::errmsg(e)))?
        .ok_or_else(|| "console socket: no pty master received".to_string())
}

/// Creates and starts the container; returns its init pid. With `sync` (the first start), the
/// starter learns the pid (CREATED), records it, and answers GO before `start`.
pub fn start(
    a: &Args,
    start: &Start,
    io: &mut Stdio,
    mut sync: Option<&mut Conn>,
) -> Result<i32, String> {
    fdio::remove("pid");
    let console = if io.tty {
        Some(listen("console.sock").map_err(|e| format!("console socket: {}", fdio::errmsg(e)))?)
    } else {
        None
    };
    // Without a terminal, one `run --detach` creates and starts; with one, create and start
    // are apart so the window size is set on the pty before the program can ask for it.
    let verb = if io.tty { "create" } else { "run" };
    let mut args: Vec<&str> = vec![verb];
    if !io.tty {
        args.push("--detach");
    }
    args.extend(["--bundle", &a.bundle, "--pid-file", "pid"]);
    if console.is_some() {
        args.extend(["--console-socket", "console.sock"]);
    }
    args.push(&a.id);
    let stdio = [fd(&io.stdin_r), fd(&io.out_w), fd(&io.err_w)];
    run_checked(a, start, io, verb, &args, stdio)?;
    let pid: i32 = fdio::read_file("pid")
        .ok()
        .and_then(|s| core::str::from_utf8(&s).ok()?.trim().parse().ok())
        .ok_or_else(|| "runtime wrote no pid file".to_string())?;
    if let Some(l) = console {
        let master = accept_master(&l);
        drop(l);
        fdio::remove("console.sock");
        let master = match master {
            Ok(m) => m,
            Err(e) => {
                delete(a, start);
                return Err(e);
            }
        };
        if a.rows > 0 && a.cols > 0 {
            set_window_size(&master, a.rows, a.cols);
        }
        let _ = fdio::set_nonblocking(&master, true);
        io.master = Some(master);
    }
    if io.tty {
        if let Some(s) = sync.as_deref_mut() {
            // The starter records "running" and answers GO before the program starts.
            if !s.send(proto::CREATED, &proto::i32_payload(pid)) || !wait_go(s, io) {
                delete(a, start);
                return Err("the starting hull went away".into());
            }
        }
        let stdio = [Io::Null, Io::Null, fd(&io.err_w)];
        if let Err(e) = run_checked(a, start, io, "start", &["start", &a.id], stdio) {
            delete(a, start);
            return Err(e);
        }
    }
    if let Some(s) = sync {
        let _ = s.send(proto::STARTED, &proto::i32_payload(pid));
        // The starter records "running" (if it has not yet) and answers GO; only then may an
        // exit be recorded, so the two writes cannot cross. If the starter is gone, the
        // container runs on, unrecorded until its exit.
        if !io.tty {
            let _ = wait_go(s, io);
        }
    }
    Ok(pid)
}

/// Reads the starter's frames until GO (HELLO and RESIZE may come first). False if it went
/// away.
fn wait_go(s: &mut Conn, io: &mut Stdio) -> bool {
    loop {
        match s.recv() {
            Some((proto::GO, _)) => return true,
            Some((proto::RESIZE, p)) if p.len() >= 4 => {
                if let Some(m) = io.master.as_ref() {
                    let rows = u16::from_le_bytes([p[0], p[1]]);
                    let cols = u16::from_le_bytes([p[2], p[3]]);
                    set_window_size(m, rows, cols);
                }
            }
            Some((proto::HELLO, p)) => s.flags = p.first().copied().unwrap_or(0),
            Some(_) => {}
            None => return false,
        }
    }
}

fn delete(a: &Args, start: &Start) {
    let _ = runtime(a, start, &["delete", "--force", &a.id], [Io::Null; 3]);
}
