//! `hull wait CONTAINER...`: blocks until each stops; prints their exit codes.

use hull_engine::Paths;

use super::CmdResult;

/// Block until one or more containers stop, then print their exit codes.
#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    for name in &a.containers {
        let code = eng.wait(name)?;
        println!("{code}");
    }
    Ok(())
}
