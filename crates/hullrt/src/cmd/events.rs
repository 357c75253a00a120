use std::path::Path;

use hull_runtime::events;

/// Print a container's events as JSON lines: resource stats every interval and OOM kills,
/// until it stops; with --stats one stats event and exit.
#[derive(clap::Args)]
pub struct Args {
    /// Set the stats collection interval (a duration: 5s, 500ms, 1m).
    #[arg(long, default_value = "5s")]
    interval: String,
    /// Display the container's stats then exit.
    #[arg(long)]
    stats: bool,
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let interval = events::parse_duration(&a.interval)?;
    let mut out = std::io::stdout().lock();
    if a.stats {
        events::print_stats(root, &a.id, &mut out)?;
    } else {
        events::stream(root, &a.id, interval, &mut out)?;
    }
    Ok(0)
}
