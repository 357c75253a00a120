//! `port`: a container's published ports.

use hull_net::firewall::PortMapping;

use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// The published ports of container `key` (container port and protocol, host address and
    /// port), as `port` and inspect's NetworkSettings.Ports show them.
    pub fn port(&self, key: &str) -> Result<Vec<PortMapping>> {
        let c = self.lookup(key)?;
        Ok(crate::network::endpoint::ports(&self.paths, &c.id))
    }
}
