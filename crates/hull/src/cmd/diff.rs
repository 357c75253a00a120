//! `hull diff CONTAINER`: the container's changes to its image, docker's `A`/`C`/`D` lines.

use hull_engine::{commit, Paths};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    container: String,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let c = eng.lookup(&a.container)?;
    for ch in commit::diff(&eng, &c)? {
        println!("{} {}", ch.kind.letter(), ch.path);
    }
    Ok(())
}
