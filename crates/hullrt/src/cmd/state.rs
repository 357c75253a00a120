use std::path::Path;

/// Print the OCI state of a container as JSON.
#[derive(clap::Args)]
pub struct Args {
    id: String,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    println!("{}", hull_runtime::lifecycle::state_json(root, &a.id)?);
    Ok(0)
}
