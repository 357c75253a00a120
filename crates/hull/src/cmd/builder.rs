//! `hull builder prune [-f]`: removes the build cache's entries and the untagged images
//! they named that no container uses.

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: BuilderCmd,
}

#[derive(clap::Subcommand)]
enum BuilderCmd {
    /// Remove the build cache.
    Prune(PruneArgs),
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Accepted for docker's command line (the whole cache is removed either way).
    #[arg(short, long)]
    all: bool,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let BuilderCmd::Prune(p) = a.cmd;
    if !p.force && !super::volume::confirm("WARNING! This will remove all dangling build cache.") {
        return Ok(());
    }
    let ids = hull_build::cache::Cache::open(&paths.root).prune()?;
    let mut store = hull_image::Store::open(&paths.root)?;
    let used = super::state_engine(paths)?.images_in_use()?;
    let mut lines = Vec::new();
    let mut bytes = 0;
    for id in ids {
        let Ok(img) = store.resolve(&id) else {
            continue;
        };
        if !img.names.is_empty()
            || !hull_engine::container::prune::image_users(&used, &img.id).is_empty()
        {
            continue;
        }
        if let Ok(l) = store.remove(&img.id, false) {
            bytes += img.size;
            lines.extend(l);
        }
    }
    super::volume::print_pruned("Deleted build cache objects:", &lines, bytes);
    Ok(())
}
