//! `hull restart [-t N] CONTAINER...`: stop, then start again (detached).

use hull_engine::container::start::{self, Attach};
use hull_engine::{container, container::stop, Paths};

use super::{CmdError, CmdResult};

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
        let c = eng.lookup(name)?;
        stop::stop(&eng, &c, a.time)?;
        let c = eng.lookup(name)?;
        container::set_stop_requested(&eng.conn, &c.id, false)?;
        start::start(&eng, &c, Attach::default()).map_err(|e| CmdError {
            msg: e.to_string(),
            code: e.exit_code(),
        })?;
        println!("{name}");
    }
    Ok(())
}
