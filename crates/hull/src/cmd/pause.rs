//! `hull pause CONTAINER...`: freezes every process of the container (the runtime's pause:
//! the cgroup freezer).

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Pauses (or unpauses) each container, as docker prints: its name per line, errors after.
pub fn toggle(paths: &Paths, names: &[String], pause: bool) -> CmdResult {
    let eng = super::engine(paths)?;
    let mut errors = Vec::new();
    for name in names {
        let res = if pause {
            eng.pause(name)
        } else {
            eng.unpause(name)
        };
        match res {
            Ok(()) => println!("{name}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::all_done(errors)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    toggle(paths, &args.containers, true)
}
