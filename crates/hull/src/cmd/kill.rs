//! `hull kill [-s SIGNAL] CONTAINER...`.

use hull_engine::Paths;
use hull_format::parse;

use super::CmdResult;

/// Kill one or more running containers.
#[derive(clap::Args)]
pub struct Args {
    /// Signal to send to the container.
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let sig = parse::signal("--signal", &a.signal)?;
    let eng = super::engine(paths)?;
    for name in &a.containers {
        eng.kill(name, sig)?;
        println!("{name}");
    }
    Ok(())
}
