//! `hull diff CONTAINER`: the container's changes to its image, docker's `A`/`C`/`D` lines.

use hull_engine::{container::commit, Paths};

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
    let c = eng.lookup(&a.container)?;
    for ch in commit::diff(&eng, &c)? {
        println!("{} {}", ch.kind.letter(), ch.path);
    }
    Ok(())
}
