//! `hull container VERB`: docker's management-command form of the container verbs
//! (`hull container ls` is `hull ps`, `hull container rm` is `hull rm`...), plus
//! `container prune`.

use clap::Subcommand;
use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: ContainerCmd,
}

#[derive(Subcommand)]
enum ContainerCmd {
    /// List containers.
    #[command(visible_aliases = ["ps", "list"])]
    Ls(super::ps::Args),
    Create(super::create::Args),
    Run(super::run::Args),
    Start(super::start::Args),
    Stop(super::stop::Args),
    Restart(super::restart::Args),
    Kill(super::kill::Args),
    /// Remove containers.
    #[command(visible_alias = "remove")]
    Rm(super::rm::Args),
    Wait(super::wait::Args),
    Logs(super::logs::Args),
    Exec(super::exec::Args),
    Attach(super::attach::Args),
    Inspect(super::inspect::Args),
    Update(super::update::Args),
    Top(super::top::Args),
    Stats(super::stats::Args),
    Cp(super::cp::Args),
    Rename(super::rename::Args),
    Port(super::port::Args),
    Pause(super::pause::Args),
    Unpause(super::unpause::Args),
    /// Make an image of a container's changes.
    Commit(super::commit::Args),
    /// Show a container's changes to its image.
    Diff(super::diff::Args),
    /// Write a container's filesystem as a tar.
    Export(super::export::Args),
    /// Remove all stopped containers.
    Prune(PruneArgs),
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// No prompt.
    #[arg(short, long)]
    force: bool,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    use ContainerCmd as C;
    match args.cmd {
        C::Ls(a) => super::ps::exec(paths, a),
        C::Create(a) => super::create::exec(paths, a),
        C::Run(a) => super::run::exec(paths, a),
        C::Start(a) => super::start::exec(paths, a),
        C::Stop(a) => super::stop::exec(paths, a),
        C::Restart(a) => super::restart::exec(paths, a),
        C::Kill(a) => super::kill::exec(paths, a),
        C::Rm(a) => super::rm::exec(paths, a),
        C::Wait(a) => super::wait::exec(paths, a),
        C::Logs(a) => super::logs::exec(paths, a),
        C::Exec(a) => super::exec::exec(paths, a),
        C::Attach(a) => super::attach::exec(paths, a),
        C::Inspect(a) => super::inspect::exec(paths, a),
        C::Update(a) => super::update::exec(paths, a),
        C::Top(a) => super::top::exec(paths, a),
        C::Stats(a) => super::stats::exec(paths, a),
        C::Cp(a) => super::cp::exec(paths, a),
        C::Rename(a) => super::rename::exec(paths, a),
        C::Port(a) => super::port::exec(paths, a),
        C::Pause(a) => super::pause::exec(paths, a),
        C::Unpause(a) => super::unpause::exec(paths, a),
        C::Commit(a) => super::commit::exec(paths, a),
        C::Diff(a) => super::diff::exec(paths, a),
        C::Export(a) => super::export::exec(paths, a),
        C::Prune(a) => prune(paths, a),
    }
}

fn prune(paths: &Paths, a: PruneArgs) -> CmdResult {
    if !a.force && !super::volume::confirm("WARNING! This will remove all stopped containers.") {
        return Ok(());
    }
    let eng = super::engine(paths)?;
    let (ids, bytes) = super::system::prune_containers(&eng)?;
    super::volume::print_pruned("Deleted Containers:", &ids, bytes);
    Ok(())
}
