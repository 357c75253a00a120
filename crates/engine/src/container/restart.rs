//! `restart`: stop (as `stop`, with its timeout), then start again, detached.

use crate::container::start::{self, Attach};
use crate::container::{self, stop};
use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// Stops the container `key` (waiting `timeout` seconds before killing it, docker's
    /// default when None) and starts it again, detached. A stopped container just starts.
    pub fn restart(&self, key: &str, timeout: Option<u32>) -> Result<()> {
        let c = self.lookup(key)?;
        stop::stop(self, &c, timeout)?;
        let c = self.lookup(key)?;
        // The stop asked the restart policy to leave it stopped; this start is wanted.
        container::set_stop_requested(&self.conn, &c.id, false)?;
        start::start(self, &c, Attach::default())?;
        crate::events::container(&self.paths, &c, "restart", &[]);
        Ok(())
    }
}
