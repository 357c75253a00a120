//! `hull stop [-t N] CONTAINER...`: the stop signal, KILL after the timeout.

use hull_engine::Paths;

use super::{CmdError, CmdResult};

/// Stop one or more running containers.
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
    let mut failed = None;
    let stop = |eng: &hull_engine::Engine, name: &str| -> CmdResult { Ok(eng.stop(name, a.time)?) };
    super::many::each(paths, &eng, &a.containers, stop, |name, res| match res {
        Ok(()) => println!("{name}"),
        Err(e) => {
            eprintln!("hull: {e}");
            failed = Some(CmdError::exit(125));
        }
    });
    failed.map_or(Ok(()), Err)
}
