//! `hull exec`: a process in a running container through the runtime's `exec --process`,
//! with the container's environment, user rules and privileges; -t gets a pty of its own
//! (the runtime sends its master to our console socket) that we proxy to our terminal.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Stdio;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use serde_json::{json, Value};

use crate::container::Container;
use crate::engine::Engine;
use crate::{bundle::spec, ocirt::driver};
use hull_term::attach;

mod relay;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error("exec: {0}")]
    Io(#[from] std::io::Error),
    #[error("exec: {0}")]
    Clock(#[from] crate::container::clock::ClockError),
}

#[derive(Default)]
pub struct Opts {
    pub detach: bool,
    pub interactive: bool,
    pub tty: bool,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub privileged: bool,
    /// With -it, the keys that leave the process running and end the session (docker's
    /// detach keys; empty: never).
    pub detach_keys: Vec<u8>,
}

fn process(eng: &Engine, c: &Container, args: Vec<String>, o: &Opts) -> Result<Value, ExecError> {
    let cfg = &c.config;
    let mut env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!(
            "HOSTNAME={}",
            if cfg.hostname.is_empty() {
                c.short_id()
            } else {
                &cfg.hostname
            }
        ),
    ];
    if o.tty {
        env.push("TERM=xterm".into());
    }
    env = crate::container::config::merge_env(&env, &cfg.env);
    env = crate::container::config::merge_env(&env, &o.env);
    let user = o.user.clone().unwrap_or_else(|| cfg.user.clone());
    // No user: root, with root's groups from the image's /etc/group (docker's).
    let user = if user.is_empty() { "0" } else { &user };
    let (uid, gid, extra) = spec::resolve_user(&eng.paths.rootfs(&c.id), user)?;
    let caps = spec::capabilities(o.privileged || cfg.privileged, &cfg.cap_add, &cfg.cap_drop)?;
    let cwd = o.workdir.clone().unwrap_or_else(|| {
        if cfg.working_dir.is_empty() {
            "/".into()
        } else {
            cfg.working_dir.clone()
        }
    });
    let mut p = json!({
        "terminal": o.tty,
        "user": { "uid": uid, "gid": gid },
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": { "bounding": caps, "effective": caps, "permitted": caps },
        "noNewPrivileges": cfg.no_new_privileges,
    });
    if !extra.is_empty() {
        p["user"]["additionalGids"] = json!(extra);
    }
    Ok(p)
}

/// Runs `args` in `c`; the process's exit code (0 at once with -d).
pub fn exec(eng: &Engine, c: &Container, args: Vec<String>, o: Opts) -> Result<i32, ExecError> {
    if !c.status.is_live() {
        return Err(ExecError::NotRunning(c.name.clone()));
    }
    let run_dir = eng.paths.run_dir(&c.id);
    let tag = &crate::container::names::new_id()[..12];
    let pfile = run_dir.join(format!("exec-{tag}.json"));
    hull_image::perms::write_private(
        &pfile,
        &serde_json::to_vec(&process(eng, c, args, &o)?).expect("json"),
    )?;
    let mut cmd = driver::command(eng);
    cmd.current_dir(&run_dir)
        .arg("exec")
        .arg("--process")
        .arg(&pfile);
    if o.detach {
        cmd.arg("--detach");
    }
    let sock_name = format!("exec-{tag}.sock");
    let listener = if o.tty && !o.detach {
        let l = hull_sys::fdpass::bind(&run_dir.join(&sock_name))?;
        cmd.arg("--console-socket").arg(&sock_name);
        Some(l)
    } else {
        None
    };
    cmd.arg(&c.id);
    if let Err(e) = crate::container::clock::before_exec(eng, c) {
        let _ = std::fs::remove_file(&pfile);
        let _ = std::fs::remove_file(run_dir.join(&sock_name));
        return Err(e.into());
    }
    // None of our own fds ever reaches the process: a file the caller redirected from, or
    // the caller's terminal, would be the container's to write or read (docker and podman
    // relay every stream too). The runtime's stdio becomes the process's stdio without a
    // terminal, so it gets pipes of ours (or /dev/null); with one, the process gets the pty.
    let res = match listener {
        None if o.detach => detached(cmd),
        None => relay::with_pipes(cmd, o.interactive),
        Some(l) => with_pty(cmd, l, o.interactive, &o.detach_keys),
    };
    let _ = std::fs::remove_file(&pfile);
    let _ = std::fs::remove_file(run_dir.join(&sock_name));
    Ok(res?)
}

/// Runs the runtime, receives the pty master and proxies it to our terminal until the
/// process ends, or until the detach keys are typed: then the process runs on, its output
/// discarded (as docker's is), and the session ends with 0.
fn with_pty(
    mut cmd: std::process::Command,
    l: UnixListener,
    interactive: bool,
    detach_keys: &[u8],
) -> std::io::Result<i32> {
    // Its own process group: signals for our terminal's foreground group (a hangup after a
    // detach, ^C when not in raw mode) reach it only as we forward them, below; the runtime
    // would pass them on to the process.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    // The runtime's own messages go through a file of ours, not our stderr: it may be an
    // fd the caller gave us.
    let errors = tempfile_in_memory()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errors.try_clone()?);
    let mut child = cmd.spawn()?;
    // Blocked after the spawn, so the runtime (and a runtime that does not reset its
    // process's signal mask) does not start with them blocked; before any thread exists.
    let signals = attach::block_proxy_signals();
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
            let _ = std::io::stderr().write_all(&said);
            return Ok(relay::exit_code(st.code().unwrap_or(1), &said));
        }
    };
    if let Some((r, c)) = attach::terminal_size() {
        let _ = hull_sys::tty::set_window_size(master.as_fd(), r, c);
    }
    let _raw =
        attach::RawMode::enter(nix::unistd::isatty(std::io::stdin().as_fd()).unwrap_or(false));
    let master = std::fs::File::from(master);
    // One byte from the input thread when the detach keys are typed; end of file when it
    // ends otherwise.
    let (mut detach_r, detach_w) = UnixStream::pair()?;
    if interactive {
        let mut w = master.try_clone()?;
        let mut scan = attach::DetachScanner::new(detach_keys);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut data = Vec::with_capacity(buf.len());
            let mut input = std::io::stdin();
            while let Ok(n @ 1..) = input.read(&mut buf) {
                data.clear();
                let detach = scan.feed(&buf[..n], &mut data);
                if w.write_all(&data).is_err() {
                    break;
                }
                if detach {
                    let _ = (&detach_w).write_all(b"d");
                    break;
                }
            }
        });
    } else {
        drop(detach_w);
    }
    {
        let m = master.try_clone()?;
        let pid = child.id() as i32;
        std::thread::spawn(move || loop {
            let Ok(sig) = signals.wait() else { return };
            if sig == nix::sys::signal::Signal::SIGWINCH {
                if let Some((r, c)) = attach::terminal_size() {
                    let _ = hull_sys::tty::set_window_size(m.as_fd(), r, c);
                }
            } else {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
            }
        });
    }
    let mut r = master;
    let mut out = std::io::stdout();
    let mut buf = [0u8; 16384];
    let mut watch_detach = true;
    loop {
        let mut fds = vec![PollFd::new(r.as_fd(), PollFlags::POLLIN)];
        if watch_detach {
            fds.push(PollFd::new(detach_r.as_fd(), PollFlags::POLLIN));
        }
        if let Err(e) = nix::poll::poll(&mut fds, PollTimeout::NONE) {
            if e == nix::errno::Errno::EINTR {
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
            if matches!(detach_r.read(&mut b), Ok(1)) {
                hold(r)?;
                return Ok(0);
            }
            watch_detach = false;
        }
        if tty_ready {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
    }
    let code = child.wait()?.code().unwrap_or(1);
    let mut said = Vec::new();
    relay::copy_file(errors, &mut said);
    let _ = std::io::stderr().write_all(&said);
    Ok(relay::exit_code(code, &said))
}

/// `exec -d`: the process gets /dev/null for stdin and stdout; its stderr, which is also
/// where the runtime reports a failure, is a pipe whose read end, once the runtime has
/// returned, a `hull internal-drain` holds, so a later write neither fails nor blocks.
fn detached(mut cmd: std::process::Command) -> std::io::Result<i32> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let err = child.stderr.take().expect("piped stderr");
    let code = child.wait()?.code().unwrap_or(128 + 9);
    let err = relay::drain_available(OwnedFd::from(err).into(), &mut std::io::stderr())?;
    if let Some(rest) = err {
        hold(rest)?;
    }
    Ok(code)
}

/// An anonymous file for the runtime's messages.
fn tempfile_in_memory() -> std::io::Result<std::fs::File> {
    let fd = rustix::fs::memfd_create(c"hull-exec-err", rustix::fs::MemfdFlags::CLOEXEC)?;
    Ok(std::fs::File::from(fd))
}

/// After a detach: a process of its own (`hull internal-drain`) keeps the pty master open
/// and reads what the process writes until it ends, so it neither gets a hangup nor blocks
/// on a full terminal.
fn hold(master: std::fs::File) -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("internal-drain")
        .stdin(Stdio::from(master))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.spawn().map(drop)
}

/// `hull internal-drain`: reads our stdin to its end (or error) and discards it.
pub fn drain_stdin() {
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
}

impl Engine {
    /// `exec`: runs `args` in the running container `key` as `o` asks; the command's exit
    /// code (0 when detached).
    pub fn exec(&self, key: &str, args: Vec<String>, o: Opts) -> crate::Result<i32> {
        let c = self.lookup(key)?;
        Ok(exec(self, &c, args, o)?)
    }
}
