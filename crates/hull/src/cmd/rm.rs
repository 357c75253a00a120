//! `hull rm [-f] [-v] CONTAINER...`.

use hull_engine::Paths;

use super::{CmdError, CmdResult};

/// Remove one or more containers.
#[derive(clap::Args)]
pub struct Args {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short, long)]
    force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let mut failed = None;
    let rm = |eng: &hull_engine::Engine, name: &str| -> CmdResult {
        Ok(eng.remove(name, a.force, a.volumes)?)
    };
    super::many::each(paths, &eng, &a.containers, rm, |name, res| match res {
        Ok(()) => println!("{name}"),
        Err(e) => {
            eprintln!("hull: {e}");
            failed = Some(CmdError::exit(1));
        }
    });
    failed.map_or(Ok(()), Err)
}
