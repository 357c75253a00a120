//! `hull builder prune [-f]`: removes the build cache's entries, the untagged intermediate
//! images they named that no container uses, the `RUN --mount=type=cache` directories and
//! the context digest index.

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
    let intermediates = store.build_intermediates();
    let mut lines = Vec::new();
    let mut bytes = 0;
    for id in ids {
        let Ok(img) = store.resolve(&id) else {
            continue;
        };
        // A build's result is an image (`image prune` removes it when untagged).
        if !intermediates.contains(&img.id)
            || !img.names.is_empty()
            || !hull_engine::container::prune::image_users(&used, &img.id).is_empty()
        {
            continue;
        }
        if let Ok(l) = store.remove(&img.id, false) {
            bytes += img.size;
            lines.extend(l);
        }
    }
    // The marks of intermediates that are gone (removed now, or by `rmi`).
    for id in store.build_intermediates() {
        if store.resolve(&id).is_err() {
            store.mark_build_intermediate(&id, false)?;
        }
    }
    super::volume::print_pruned("Deleted build cache objects:", &lines, bytes);
    Ok(())
}
