//! The container's terminal (`process.terminal`). As runc does it, the pty is made inside the
//! container: after pivot_root (init) or after joining the mount namespace (exec), the master
//! is opened from the container's own devpts, sent to whoever listens on `--console-socket`
//! (containerd's shim, conmon) with SCM_RIGHTS, and closed here; the slave becomes the
//! process's stdin, stdout, stderr and controlling terminal, and for init it is also
//! bind-mounted over /dev/console.
//!
//! The socket is connected by the runtime before it enters the container (the socket's path is
//! on the host) and the process inherits the connection.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use nix::sys::stat::Mode;
use oci_spec::runtime::Process;

use crate::error::{Context, Error, Result};
use crate::rootfs::paths;

/// Connects to the `--console-socket` listener, on the host, before entering the container.
pub fn connect(path: &Path) -> Result<UnixStream> {
    hull_sys::fdpass::connect(path).map_err(|e| Error::sys("connect to console socket", path, e))
}

/// Whether this process asks for a terminal.
pub fn wants_terminal(p: &Process) -> bool {
    p.terminal() == Some(true)
}

/// Inside the container: makes the pty, hands its master over `socket`, and makes the slave
/// this process's stdio and controlling terminal. With `mount_console` (container init) the
/// slave is also bind-mounted over /dev/console.
pub fn setup(socket: &UnixStream, process: &Process, mount_console: bool) -> Result<()> {
    // The container's own devpts instance: /dev/ptmx may be a symlink the image controls.
    let master = open(
        "/dev/pts/ptmx",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .at("open pty master", "/dev/pts/ptmx")?;
    hull_sys::tty::unlock_pty(master.as_fd()).at("unlock pty", "/dev/pts/ptmx")?;
    let n = hull_sys::tty::pty_number(master.as_fd()).at("get pty number", "/dev/pts/ptmx")?;
    let slave_path = PathBuf::from(format!("/dev/pts/{n}"));
    let slave = hull_sys::tty::open_pty_peer(master.as_fd(), libc::O_RDWR | libc::O_NOCTTY)
        .at("open pty slave", &slave_path)?;
    if let Some(size) = process.console_size() {
        let (rows, cols) = (clamp(size.height()), clamp(size.width()));
        hull_sys::tty::set_window_size(slave.as_fd(), rows, cols)
            .map_err(|e| Error::config("process.consoleSize", format!("TIOCSWINSZ: {e}")))?;
    }
    send_master(socket, &master, &slave_path)?;
    drop(master);
    if mount_console {
        mount_dev_console(&slave)?;
    }
    make_stdio(&slave)
}

fn clamp(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// One message whose payload is the pty's name (as runc sends it) and whose SCM_RIGHTS carries
/// the master. The receiver owns the master from then on.
fn send_master(socket: &UnixStream, master: &OwnedFd, name: &Path) -> Result<()> {
    let payload = name.as_os_str().as_encoded_bytes();
    let iov = [IoSlice::new(payload)];
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    loop {
        match sendmsg::<UnixAddr>(
            socket.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::call("send pty master over the console socket", e)),
        }
    }
}

/// Bind-mounts the pty slave over /dev/console (created as an empty file if missing), resolved
/// inside the container's root so a planted symlink cannot redirect the mount.
fn mount_dev_console(slave: &OwnedFd) -> Result<()> {
    let root = open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .at("open", "/")?;
    let console = Path::new("/dev/console");
    let target = paths::ensure_in_root(root.as_fd(), console, true)?;
    mount(
        Some(&paths::fd_path(slave)),
        &paths::fd_path(&target),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("bind-mount the pty over", console)
}

/// A new session with the slave as its controlling terminal, and the slave on fds 0, 1, 2.
fn make_stdio(slave: &OwnedFd) -> Result<()> {
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    hull_sys::tty::set_controlling_tty(slave.as_fd())
        .ctx(|| "make the pty the controlling terminal (TIOCSCTTY)".into())?;
    nix::unistd::dup2_stdin(slave).ctx(|| "dup pty to stdin".into())?;
    nix::unistd::dup2_stdout(slave).ctx(|| "dup pty to stdout".into())?;
    nix::unistd::dup2_stderr(slave).ctx(|| "dup pty to stderr".into())?;
    Ok(())
}

/// What init does with its stdio: with `console`, a pty made in the container replaces them
/// (and the master goes over the socket); without, the process keeps the runtime's stdio,
/// which for `run` in the foreground with `process.terminal` is the caller's terminal.
/// `keep_fds` fds from 3 up stay open across exec.
#[derive(Default, Clone, Copy)]
pub struct InitIo<'a> {
    pub console: Option<&'a UnixStream>,
    pub keep_fds: u32,
}

/// The console socket connection for a new container, if its process has a terminal. A
/// terminal with no socket is an error unless the caller's own stdio is meant (`run` in the
/// foreground), as with runc.
pub fn for_create(
    p: &Process,
    socket: Option<&Path>,
    tty_from_caller: bool,
) -> Result<Option<UnixStream>> {
    match (wants_terminal(p), socket) {
        (true, Some(path)) => connect(path).map(Some),
        (true, None) if !tty_from_caller => Err(Error::config(
            "process.terminal",
            "a terminal needs --console-socket unless `run` stays in the foreground",
        )),
        _ => Ok(None),
    }
}
