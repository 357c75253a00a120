use std::path::Path;

/// Suspend every process of a container (the cgroup freezer); `resume` lets them go on.
#[derive(clap::Args)]
pub struct Args {
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    hull_runtime::resources::pause(root, &a.id)?;
    Ok(0)
}
