//! `hull exec [-d] [-i] [-t] [-e] [-u] [-w] [--detach-keys] CONTAINER COMMAND...`.

use hull_engine::{container::exec, Paths};
use hull_format::parse;

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
    let opts = exec::Opts {
        detach: a.detach,
        interactive: a.interactive,
        tty: a.tty,
        env: a.env.iter().filter_map(|e| parse::env_entry(e)).collect(),
        user: a.user,
        workdir: a.workdir,
        privileged: a.privileged,
        detach_keys,
    };
    match eng.exec(&a.container, a.command, opts)? {
        0 => Ok(()),
        code => Err(CmdError::exit(code)),
    }
}
