//! `hull pause CONTAINER...`: freezes every process of the container (the runtime's pause:
//! the cgroup freezer).

use hull_engine::{container, ocirt::driver, Paths, Status};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Pauses (`pause`) or resumes (`resume`) each container, as docker prints: its name per line,
/// errors after.
pub fn toggle(paths: &Paths, names: &[String], pause: bool) -> CmdResult {
    let eng = super::engine(paths)?;
    let mut errors = Vec::new();
    for name in names {
        let res = (|| -> Result<(), CmdError> {
            let c = eng.lookup(name)?;
            let (want, verb, to) = if pause {
                (Status::Running, "pause", Status::Paused)
            } else {
                (Status::Paused, "resume", Status::Running)
            };
            if c.status != want {
                let what = if pause { "running" } else { "paused" };
                return Err(CmdError {
                    msg: format!("container {} is not {what}", c.name),
                    code: 1,
                });
            }
            driver::run(&eng, verb, &[&c.id])?;
            container::set_status(&eng.conn, &c.id, to)?;
            let action = if pause { "pause" } else { "unpause" };
            hull_engine::events::container(&eng.paths, &c, action, &[]);
            Ok(())
        })();
        match res {
            Ok(()) => println!("{name}"),
            Err(e) => errors.push(e.msg),
        }
    }
    super::all_done(errors)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    toggle(paths, &args.containers, true)
}
