//! `hull diff CONTAINER`: the container's changes to its image, docker's `A`/`C`/`D` lines.

use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    container: String,
}

/// docker's client exits 1 for what its daemon refuses.
pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    verb(paths, a).map_err(CmdError::daemon)
}

fn verb(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    for ch in eng.changes(&a.container)? {
        println!("{} {}", ch.kind.letter(), ch.path);
    }
    Ok(())
}
