use std::path::{Path, PathBuf};

use hull_runtime::create::CreateOpts;
use hull_runtime::extra_fds::ExtraFds;

/// Create and start a container, and wait for it unless detached.
#[derive(clap::Args)]
pub struct Args {
    /// Path to the bundle directory (config.json and rootfs).
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Return once the container has started.
    #[arg(short, long)]
    detach: bool,
    /// Write the container's init pid to this file.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Move the rootfs over / and chroot instead of pivot_root (for ramfs roots).
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Unix socket to send the pty master to, when the process has a terminal.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Pass N more fds (3 .. 3+N, after any socket-activation fds) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Keep the caller's session keyring instead of giving the container its own.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Accepted for runc compatibility: `run` always reaps the container's init itself.
    #[arg(long = "no-subreaper", hide = true)]
    no_subreaper: bool,
    /// Accepted for runc compatibility; the container is deleted after it exits.
    #[arg(long, hide = true)]
    keep: bool,
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let o = CreateOpts {
        root: root.to_path_buf(),
        id: a.id,
        bundle: a.bundle,
        pid_file: a.pid_file,
        no_pivot: a.no_pivot,
        new_keyring: !a.no_new_keyring,
        console_socket: a.console_socket,
        tty_from_caller: !a.detach,
        extra_fds: ExtraFds::from_env(a.preserve_fds),
    };
    hull_runtime::run::run(&o, a.detach)
}
