use std::path::Path;

/// Delete a stopped (or, with --force, any) container and everything it holds.
#[derive(clap::Args)]
pub struct Args {
    /// Kill the container first if it is still running.
    #[arg(short, long)]
    force: bool,
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    hull_runtime::lifecycle::delete(root, &a.id, a.force)?;
    Ok(0)
}
