//! `pause` and `unpause`: the runtime's pause and resume (the cgroup freezer) on every process
//! of a running container, and the status and event that record it.

use crate::container::{self, Status};
use crate::engine::Engine;
use crate::error::{Error, Result};

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
        let (want, to, action) = if pause {
            (Status::Running, Status::Paused, "pause")
        } else {
            (Status::Paused, Status::Running, "unpause")
        };
        if c.status != want {
            let what = if pause { "running" } else { "paused" };
            return Err(Error::NotRunning(format!(
                "container {} is not {what}",
                c.name
            )));
        }
        match pause {
            true => self.oci.pause(&c.id)?,
            false => self.oci.resume(&c.id)?,
        }
        container::set_status(&self.conn, &c.id, to)?;
        crate::events::container(&self.paths, &c, action, &[]);
        Ok(())
    }
}
