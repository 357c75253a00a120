use std::path::Path;

/// Resume every process of a paused container.
#[derive(clap::Args)]
pub struct Args {
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    hull_runtime::resources::resume(root, &a.id)?;
    Ok(0)
}
