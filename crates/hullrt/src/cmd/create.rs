use std::path::{Path, PathBuf};

use hull_runtime::create::{create, CreateOpts};
use hull_runtime::extra_fds::ExtraFds;

/// Create a container: its init waits for `start`.
#[derive(clap::Args)]
// No argument group: `run` flattens these flags into its own, whose group has the same name.
#[group(skip)]
pub struct Args {
    /// Path to the bundle directory (config.json and rootfs).
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
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
    /// Unix socket to send a pidfd of the container's init to (runc 1.2).
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    id: String,
}

impl Args {
    /// The runtime's options; `run` shares these flags and adds its own.
    pub fn opts(
        self,
        root: &Path,
        tty_from_caller: bool,
        rootless: bool,
        systemd_cgroup: bool,
    ) -> CreateOpts {
        CreateOpts {
            root: root.to_path_buf(),
            id: self.id,
            bundle: self.bundle,
            pid_file: self.pid_file,
            no_pivot: self.no_pivot,
            new_keyring: !self.no_new_keyring,
            console_socket: self.console_socket,
            tty_from_caller,
            extra_fds: ExtraFds::from_env(self.preserve_fds),
            pidfd_socket: self.pidfd_socket,
            rootless,
            systemd_cgroup,
        }
    }
}

pub fn exec(root: &Path, a: Args, rootless: bool, systemd_cgroup: bool) -> super::Result {
    create(&a.opts(root, false, rootless, systemd_cgroup))?;
    Ok(0)
}
