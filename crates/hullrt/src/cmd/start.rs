use std::path::Path;

/// Start a created container: its process runs.
#[derive(clap::Args)]
pub struct Args {
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    hull_runtime::lifecycle::start(root, &a.id)?;
    Ok(0)
}
