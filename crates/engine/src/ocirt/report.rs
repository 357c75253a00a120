//! What hull-monitor and the runtime report back to the engine, as `Engine` calls: the
//! `hull internal-hook started|exited|network` callback, and `run`'s own record of an exit
//! it saw first. The work is in callback.rs.

use super::callback;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// An event of the `internal-hook` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorEvent {
    /// The container's init started again (restart policy); the value is its pid.
    Started,
    /// The container's init exited; the value is its exit code.
    Exited,
    /// The runtime's createRuntime hook for a remapped container's network.
    Network,
    /// The monitor's healthcheck timer: one check (crate::container::health).
    Health,
}

impl std::str::FromStr for MonitorEvent {
    type Err = Error;

    fn from_str(s: &str) -> Result<MonitorEvent> {
        match s {
            "started" => Ok(MonitorEvent::Started),
            "exited" => Ok(MonitorEvent::Exited),
            "network" => Ok(MonitorEvent::Network),
            "health" => Ok(MonitorEvent::Health),
            e => Err(Error::InvalidArgument(format!(
                "internal-hook: unknown event {e:?}"
            ))),
        }
    }
}

impl Engine {
    /// Records the exit of container `id` with `code`; returns the callback's exit status
    /// (0, or the monitor's RESTART when the restart policy brings it back).
    pub fn record_exited(&self, id: &str, code: i32) -> i32 {
        callback::exited(self, id, code)
    }

    /// Records that the monitor restarted container `id` as `pid`; returns 0.
    pub fn record_started(&self, id: &str, pid: i32) -> i32 {
        callback::started(self, id, pid)
    }

    /// Wires the network of container `id` from the runtime's `state` JSON (its pid).
    pub fn wire_network(&self, id: &str, state: &str) -> Result<()> {
        callback::network(self, id, state).map_err(Error::Internal)
    }
}
