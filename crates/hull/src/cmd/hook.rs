//! `hull internal-hook started|exited ID VALUE`: run by hull-monitor, not by people; and
//! `network ID 0`, the runtime's createRuntime hook for a remapped container's network.

use hull_engine::{ocirt::callback, Paths};

use super::{CmdError, CmdResult};

/// (internal) Record a container's start or exit for its monitor.
#[derive(clap::Args)]
pub struct Args {
    event: String,
    id: String,
    value: i32,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let status = match a.event.as_str() {
        "exited" => callback::exited(&eng, &a.id, a.value),
        "started" => callback::started(&eng, &a.id, a.value),
        "network" => {
            let mut state = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut state)
                .map_err(|e| CmdError::new(format!("internal-hook: runtime state: {e}")))?;
            callback::network(&eng, &a.id, &state).map_err(CmdError::new)?;
            0
        }
        e => return Err(CmdError::new(format!("internal-hook: unknown event {e:?}"))),
    };
    if status != 0 {
        return Err(CmdError::exit(status));
    }
    Ok(())
}
