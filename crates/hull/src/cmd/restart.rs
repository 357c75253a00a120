//! `hull restart [-t N] CONTAINER...`: stop, then start again (detached).

use hull_engine::Paths;

use super::CmdResult;

/// Restart one or more containers.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait before killing the container.
    #[arg(short = 't', long = "time", alias = "timeout")]
    time: Option<u32>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    for name in &a.containers {
        eng.restart(name, a.time)?;
        println!("{name}");
    }
    Ok(())
}
