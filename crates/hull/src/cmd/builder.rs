//! `hull builder prune [-a] [-f]`: the build cache as BuildKit prunes it (hull_build::prune):
//! without `-a` only what no image's layer chain shares, with `-a` all of it; the
//! intermediate images of the removed entries that are untagged and that no container uses,
//! the `RUN --mount=type=cache` directories and the context digest index go with it.

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: BuilderCmd,
}

#[derive(clap::Subcommand)]
enum BuilderCmd {
    /// Remove build cache.
    Prune(PruneArgs),
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Remove all unused build cache, not just dangling ones.
    #[arg(short, long)]
    all: bool,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let BuilderCmd::Prune(p) = a.cmd;
    let warning = if p.all {
        "WARNING! This will remove all build cache."
    } else {
        "WARNING! This will remove all dangling build cache."
    };
    if !p.force && !super::volume::confirm(warning) {
        return Ok(());
    }
    // The builder's policy (crates/build) on the engine's image store and its containers.
    let report = super::state_engine(paths)?
        .build_cache_prune(|store, in_use| {
            hull_build::prune::prune(&paths.root, store, p.all, in_use)
        })?
        .map_err(|e| super::CmdError::new(e.msg))?;
    super::volume::print_pruned("Deleted build cache objects:", &report.ids, report.bytes);
    Ok(())
}
