//! An exec with a terminal: the runtime sends the pty's master to our console socket; we
//! hand it to the caller (for resizes and signals) and relay it to and from the caller's
//! streams until the process ends, or until the caller detaches.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};

use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{relay, Tty};

/// The caller's ends (see [`super::Streams`]) and the terminal's first size.
pub struct Ends {
    pub stdin: Option<Box<dyn Read + Send>>,
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
    pub on_tty: Option<Box<dyn FnOnce(Tty) + Send>>,
    pub detach: Option<UnixStream>,
    pub size: Option<(u16, u16)>,
}

/// Runs the runtime, receives the pty master and relays it until the process ends, or
/// until a detach: then the process runs on, its output discarded (as docker's is), and
/// the exec answers 0.
pub fn with_pty(mut cmd: Command, l: UnixListener, mut e: Ends) -> std::io::Result<i32> {
    // Its own process group: signals for the caller's terminal's foreground group (a hangup
    // after a detach, ^C when not in raw mode) reach it only as the caller forwards them;
    // the runtime would pass them on to the process.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    // The runtime's own messages go through a file of ours, not a stream of the caller's
    // while the terminal is relayed.
    let errors = tempfile_in_memory()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errors.try_clone()?);
    let mut child = cmd.spawn()?;
    let pidfd = hull_sys::pidfd_open(child.id() as i32)?;
    l.set_nonblocking(true)?;
    let master = loop {
        let mut fds = [
            PollFd::new(l.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        let _ = nix::poll::poll(&mut fds, PollTimeout::NONE);
        if let Ok((s, _)) = l.accept() {
            s.set_nonblocking(false)?;
            match hull_sys::fdpass::recv_fd(s.as_fd())? {
                Some(m) => break m,
                None => continue,
            }
        }
        if let Some(st) = child.try_wait()? {
            let mut said = Vec::new();
            relay::copy_file(errors, &mut said);
            let _ = e.stderr.write_all(&said);
            return Ok(relay::exit_code(st.code().unwrap_or(1), &said));
        }
    };
    if let Some((r, c)) = e.size {
        let _ = hull_sys::tty::set_window_size(master.as_fd(), r, c);
    }
    let master = std::fs::File::from(master);
    if let Some(f) = e.on_tty.take() {
        f(Tty {
            master: master.try_clone()?,
            runtime_pid: child.id() as i32,
        });
    }
    if let Some(mut input) = e.stdin.take() {
        let mut w = master.try_clone()?;
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = input.read(&mut buf) {
                if w.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    let mut r = master;
    let mut buf = [0u8; 16384];
    let mut detach = e.detach.take();
    loop {
        let mut fds = vec![PollFd::new(r.as_fd(), PollFlags::POLLIN)];
        if let Some(d) = &detach {
            fds.push(PollFd::new(d.as_fd(), PollFlags::POLLIN));
        }
        if let Err(err) = nix::poll::poll(&mut fds, PollTimeout::NONE) {
            if err == nix::errno::Errno::EINTR {
                continue;
            }
            break;
        }
        let (tty_ready, detach_ready) = (
            fds[0].any().unwrap_or(true),
            fds.get(1).and_then(|f| f.any()).unwrap_or(false),
        );
        drop(fds);
        if detach_ready {
            let mut b = [0u8; 1];
            if let Some(d) = &mut detach {
                if matches!(d.read(&mut b), Ok(1)) {
                    super::hold(r)?;
                    return Ok(0);
                }
            }
            detach = None;
        }
        if tty_ready {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = e.stdout.write_all(&buf[..n]);
                    let _ = e.stdout.flush();
                }
            }
        }
    }
    let code = child.wait()?.code().unwrap_or(1);
    let mut said = Vec::new();
    relay::copy_file(errors, &mut said);
    let _ = e.stderr.write_all(&said);
    Ok(relay::exit_code(code, &said))
}

/// An anonymous file for the runtime's messages.
fn tempfile_in_memory() -> std::io::Result<std::fs::File> {
    let fd = rustix::fs::memfd_create(c"hull-exec-err", rustix::fs::MemfdFlags::CLOEXEC)?;
    Ok(std::fs::File::from(fd))
}
