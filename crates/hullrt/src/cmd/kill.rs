use std::path::Path;

use hull_runtime::lifecycle;

/// Send a signal (name or number; default SIGTERM) to a container's init.
#[derive(clap::Args)]
pub struct Args {
    /// Signal every process in the container's cgroup.
    #[arg(short, long)]
    all: bool,
    id: String,
    #[arg(default_value = "SIGTERM")]
    signal: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let sig = lifecycle::parse_signal(&a.signal)?;
    lifecycle::kill(root, &a.id, sig, a.all)?;
    Ok(0)
}
