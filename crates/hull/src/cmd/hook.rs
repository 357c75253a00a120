//! `hull internal-hook started|exited|health ID VALUE`: run by hull-monitor, not by people; and
//! `network ID 0`, the runtime's createRuntime hook for a remapped container's network.

use hull_engine::MonitorEvent;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

/// (internal) Record a container's start or exit for its monitor.
#[derive(clap::Args)]
pub struct Args {
    event: String,
    id: String,
    value: i32,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let event: MonitorEvent = a.event.parse()?;
    let eng = super::engine(paths)?;
    let status = match event {
        MonitorEvent::Exited => eng.record_exited(&a.id, a.value),
        MonitorEvent::Started => eng.record_started(&a.id, a.value),
        MonitorEvent::Network => {
            let mut state = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut state)
                .map_err(|e| CmdError::new(format!("internal-hook: runtime state: {e}")))?;
            eng.wire_network(&a.id, &state)?;
            0
        }
        MonitorEvent::Health => {
            eng.run_healthcheck(&a.id)?;
            0
        }
    };
    if status != 0 {
        return Err(CmdError::exit(status));
    }
    Ok(())
}
