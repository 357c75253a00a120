//! `hull rename CONTAINER NEW_NAME`.

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    container: String,
    new_name: String,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    eng.rename(&args.container, &args.new_name)?;
    Ok(())
}
