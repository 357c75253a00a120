//! `pause` and `unpause`: the runtime's pause and resume (the cgroup freezer) on every process
//! of a running container, and the status and event that record it.

use crate::container::{self, Status};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ocirt::driver;

impl Engine {
    /// Freezes the running container `key`.
    pub fn pause(&self, key: &str) -> Result<()> {
        self.freeze(key, true)
    }

    /// Thaws the paused container `key`.
    pub fn unpause(&self, key: &str) -> Result<()> {
        self.freeze(key, false)
    }

    fn freeze(&self, key: &str, pause: bool) -> Result<()> {
        let c = self.lookup(key)?;
        let (want, verb, to, action) = if pause {
            (Status::Running, "pause", Status::Paused, "pause")
        } else {
            (Status::Paused, "resume", Status::Running, "unpause")
        };
        if c.status != want {
            let what = if pause { "running" } else { "paused" };
            return Err(Error::NotRunning(format!(
                "container {} is not {what}",
                c.name
            )));
        }
        driver::run(self, verb, &[&c.id])?;
        container::set_status(&self.conn, &c.id, to)?;
        crate::events::container(&self.paths, &c, action, &[]);
        Ok(())
    }
}
