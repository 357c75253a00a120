use std::path::{Path, PathBuf};

use hull_runtime::exec::{self, Container, ExecOpts, Overrides};

/// Run a new process inside a running container.
#[derive(clap::Args)]
pub struct Args {
    /// Take the whole process from this JSON file (config.json's `process`).
    #[arg(short, long)]
    process: Option<PathBuf>,
    /// Return once the process runs.
    #[arg(short, long)]
    detach: bool,
    /// Write the process's pid to this file.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Unix socket to send the pty master to (with a terminal).
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Give the process a terminal.
    #[arg(short, long)]
    tty: bool,
    /// Working directory in the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Add an environment variable (KEY=VALUE).
    #[arg(short, long)]
    env: Vec<String>,
    /// UID[:GID] to run as.
    #[arg(short, long)]
    user: Option<String>,
    /// Additional group ids.
    #[arg(short = 'g', long = "additional-gids", value_delimiter = ',')]
    additional_gids: Vec<u32>,
    /// Add a capability (CAP_*) to the process's sets.
    #[arg(short, long)]
    cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// AppArmor profile.
    #[arg(long)]
    apparmor: Option<String>,
    /// SELinux label.
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// Pass N more fds (3 .. 3+N) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Unix socket to send a pidfd of the process to (runc 1.2).
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    /// Exec even if the container is paused (the process starts frozen).
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// Run the process in this existing sub-cgroup of the container's (runc's plain
    /// `--cgroup SUB`; the `CONTROLLER:SUB` form is not supported).
    #[arg(long = "cgroup")]
    cgroup: Option<String>,
    id: String,
    /// The program and its arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    // The container's record and spec are read once, for the process and for exec itself.
    let (process, container) = match &a.process {
        Some(f) => {
            let process = exec::process_from_file(f)?;
            (process, Container::load(root, &a.id)?)
        }
        None => {
            if a.args.is_empty() {
                return Err(hull_runtime::Error::Other(
                    "exec: give the program to run, or --process FILE".into(),
                ));
            }
            let container = Container::load(root, &a.id)?;
            let o = Overrides {
                args: a.args,
                env: a.env,
                cwd: a.cwd,
                user: a.user,
                additional_gids: a.additional_gids,
                caps: a.cap,
                no_new_privs: a.no_new_privs,
                apparmor: a.apparmor,
                process_label: a.process_label,
                tty: a.tty,
            };
            (exec::process_from_config(&container.spec, &o)?, container)
        }
    };
    let o = ExecOpts {
        root: root.to_path_buf(),
        id: a.id,
        process,
        detach: a.detach,
        pid_file: a.pid_file,
        console_socket: a.console_socket,
        preserve_fds: a.preserve_fds,
        pidfd_socket: a.pidfd_socket,
        ignore_paused: a.ignore_paused,
        sub_cgroup: match a.cgroup {
            Some(c) if c.contains(':') => {
                return Err(hull_runtime::Error::Other(format!(
                    "--cgroup {c:?}: the CONTROLLER:PATH form is not supported, only PATH"
                )))
            }
            c => c,
        },
    };
    exec::exec(&o, &container)
}
