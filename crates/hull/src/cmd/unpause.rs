//! `hull unpause CONTAINER...`: thaws a paused container.

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    super::pause::toggle(paths, &args.containers, false)
}
