//! `hull tag SOURCE TARGET`: another name for an image.

use hull_engine::Paths;
use hull_image::Store;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// The image: name[:tag] or id.
    source: String,
    /// The new name: [registry/]repository[:tag].
    target: String,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let mut store = Store::open(&paths.root)?;
    store.tag(&args.source, &args.target)?;
    let id = store.resolve(&args.target)?.id;
    let name = hull_image::Reference::parse(&args.target)?
        .with_default_tag()
        .familiar();
    hull_engine::events::image(paths, "tag", &id, &name);
    Ok(())
}
