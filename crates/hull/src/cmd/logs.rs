//! `hull logs [-f] [--tail N] [-t] [--since T] [--until T] [--details] CONTAINER`.

use hull_engine::{container::logs, Paths};

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
    /// Only entries since this time (2013-01-02T13:23:37Z, a Unix time, or 42m before now).
    #[arg(long)]
    since: Option<String>,
    /// Only entries before this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// Show the extra details given to the log driver.
    #[arg(long)]
    details: bool,
    container: String,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse().map_err(|_| {
            CmdError::new(format!("invalid --tail {n:?}: expected a number or all"))
        })?),
    };
    let now = hull_engine::time::since::now();
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| hull_engine::time::since::parse(s, now))
            .transpose()
            .map_err(|e| CmdError::new(format!("{flag}: {e}")).daemon())
    };
    let (since, until) = (time("--since", &a.since)?, time("--until", &a.until)?);
    let eng = super::engine(paths)?;
    eng.logs(
        &a.container,
        logs::Opts {
            follow: a.follow,
            tail,
            timestamps: a.timestamps,
            since,
            until,
            details: a.details,
        },
    )?;
    Ok(())
}
