//! `hull tag SOURCE TARGET`: another name for an image.

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// The image: name[:tag] or id.
    source: String,
    /// The new name: [registry/]repository[:tag].
    target: String,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    Ok(super::state_engine(paths)?.image_tag(&args.source, &args.target)?)
}
