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
    let pruned = super::state_engine(paths)?.image_prune_build_cache(&ids)?;
    super::volume::print_pruned("Deleted build cache objects:", &pruned.lines, pruned.bytes);
    Ok(())
}
