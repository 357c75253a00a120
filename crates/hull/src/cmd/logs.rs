//! `hull logs [-f] [--tail N] [-t] CONTAINER`.

use hull_engine::{logs, Paths};

use super::{CmdError, CmdResult};

/// Fetch the logs of a container.
#[derive(clap::Args)]
pub struct Args {
    /// Follow log output.
    #[arg(short, long)]
    follow: bool,
    /// Number of lines to show from the end of the logs ("all").
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps.
    #[arg(short, long)]
    timestamps: bool,
    container: String,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse().map_err(|_| {
            CmdError::new(format!("invalid --tail {n:?}: expected a number or all"))
        })?),
    };
    let eng = super::engine(paths)?;
    let c = eng.lookup(&a.container)?;
    logs::logs(
        &eng,
        &c,
        logs::Opts {
            follow: a.follow,
            tail,
            timestamps: a.timestamps,
        },
    )?;
    Ok(())
}
