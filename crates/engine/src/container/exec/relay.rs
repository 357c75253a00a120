//! The streams of a process run without a terminal, relayed through pipes of ours: the
//! caller's stdin into its stdin (closed at the caller's end of file, so
//! `echo x | hull exec -i C cat` ends), its stdout and stderr out to the caller's, until the
//! runtime returns with the process's code.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};

use nix::poll::{PollFd, PollFlags, PollTimeout};

/// Runs `cmd` (the runtime's `exec`) with pipes for its stdio, relayed to and from the
/// caller's streams; the process's exit code.
pub fn with_pipes(
    mut cmd: Command,
    stdin: Option<Box<dyn Read + Send>>,
    mut stdout: Box<dyn Write + Send>,
    mut stderr: Box<dyn Write + Send>,
) -> std::io::Result<i32> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    if let (Some(mut w), Some(mut input)) = (child.stdin.take(), stdin) {
        // A thread, as the caller's stdin may be a terminal, a file or a socket, which poll
        // cannot wait on alike. Left blocked in its read when the process ends first.
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n @ 1..) = input.read(&mut buf) {
                if w.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    let pidfd = hull_sys::pidfd_open(child.id() as i32)?;
    let mut out: Option<std::fs::File> = child.stdout.take().map(|o| OwnedFd::from(o).into());
    let mut err: Option<std::fs::File> = child.stderr.take().map(|e| OwnedFd::from(e).into());
    let mut buf = [0u8; 16384];
    // The end of what came on stderr: where the runtime says why the process could not run.
    let mut err_tail = Vec::new();
    loop {
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        for s in [&out, &err].into_iter().flatten() {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.any().unwrap_or(true)).collect();
        drop(fds);
        let mut i = 1;
        for (s, to, is_err) in [
            (&mut out, &mut stdout as &mut dyn Write, false),
            (&mut err, &mut stderr as &mut dyn Write, true),
        ] {
            let Some(f) = s else { continue };
            if ready[i] {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => *s = None,
                    Ok(n) => {
                        let _ = to.write_all(&buf[..n]);
                        let _ = to.flush();
                        if is_err {
                            keep_tail(&mut err_tail, &buf[..n]);
                        }
                    }
                }
            }
            i += 1;
        }
        if ready[0] || (out.is_none() && err.is_none()) {
            break;
        }
    }
    let code = child.wait()?.code().unwrap_or(128 + 9);
    // Everything the process wrote before it ended is in the pipes now; a background child
    // that still holds them does not keep us waiting (as docker's exec).
    if let Some(o) = out {
        drain_available(o, &mut stdout)?;
    }
    if let Some(e) = err {
        drain_available(e, &mut TailOf(&mut stderr, &mut err_tail))?;
    }
    Ok(exit_code(code, &err_tail))
}

/// A writer that also keeps the tail of what it writes.
struct TailOf<'a>(&'a mut dyn Write, &'a mut Vec<u8>);

impl Write for TailOf<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        keep_tail(self.1, b);
        self.0.write_all(b).map(|_| b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The runtime exits 255 with `exec failed: ...` when the process could not run: docker's
/// 126 or 127 then, chosen from the runtime's words as for `run`.
pub fn exit_code(code: i32, stderr_tail: &[u8]) -> i32 {
    let text = String::from_utf8_lossy(stderr_tail);
    match text.rfind("exec failed:") {
        Some(at) if code == 255 => crate::container::start::cannot_run_code(&text[at..], code),
        _ => code,
    }
}

/// Keeps the last 1 KiB of `data` in `tail`.
fn keep_tail(tail: &mut Vec<u8>, data: &[u8]) {
    tail.extend_from_slice(data);
    let over = tail.len().saturating_sub(1024);
    tail.drain(..over);
}

/// Copies what `pipe` holds now to `to` without waiting for more; the pipe back if a writer
/// may still hold it (it has not reached end of file).
pub fn drain_available(
    mut pipe: std::fs::File,
    to: &mut dyn Write,
) -> std::io::Result<Option<std::fs::File>> {
    use nix::fcntl::{fcntl, OFlag, F_GETFL, F_SETFL};
    let flags = OFlag::from_bits_retain(fcntl(pipe.as_fd(), F_GETFL)?);
    fcntl(pipe.as_fd(), F_SETFL(flags | OFlag::O_NONBLOCK))?;
    let mut buf = [0u8; 16384];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                let _ = to.write_all(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let _ = to.flush();
                // Blocking again for whoever reads it next (`hull internal-drain`).
                fcntl(pipe.as_fd(), F_SETFL(flags))?;
                return Ok(Some(pipe));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Copies a file of ours (the runtime's messages) from its start to `to`.
pub fn copy_file(mut f: std::fs::File, to: &mut dyn Write) {
    use std::io::Seek;
    if f.rewind().is_ok() {
        let _ = std::io::copy(&mut f, to);
    }
}
