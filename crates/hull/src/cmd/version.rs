//! `hull version`: the client's version (there is no daemon).

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {}

pub fn exec(_paths: &Paths, _args: Args) -> CmdResult {
    println!("hull version {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
