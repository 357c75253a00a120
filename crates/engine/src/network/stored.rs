//! Connecting and disconnecting a container that is not running, as docker allows: the
//! container's stored network request changes, and its next start wires it that way. A
//! running container goes through `network_connect`/`network_disconnect` (verbs.rs), which
//! wire its namespace at once.
//!
//! compose 1.x connects every container it creates, before starting it, to its service's
//! networks with the service's name as an alias (the alias other services reach it by).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::container::{self, Container};
use crate::engine::Engine;
use crate::error::{Error, Result};

use super::hooks;

/// What a connect asks for besides the network.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub ip: Option<Ipv4Addr>,
    /// `--ip6`.
    pub ip6: Option<Ipv6Addr>,
    /// More DNS names for the container on its networks.
    pub aliases: Vec<String>,
}

impl Engine {
    /// Connects the container `key` to `network`: at once when it runs (aliases are then
    /// refused: they are set when the container starts), else in its stored request.
    pub fn network_connect_endpoint(&self, key: &str, network: &str, ep: &Endpoint) -> Result<()> {
        let c = container::lookup(&self.conn, key)?;
        if c.status.is_live() {
            if !ep.aliases.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "container {}: aliases can be given to a container that is not running only",
                    c.name
                )));
            }
            return self.network_connect_ips(key, network, ep.ip, ep.ip6);
        }
        let net = super::lookup(&self.conn, network)?;
        let mut cfg = c.config.clone();
        if !hooks::uses_bridge(&cfg) {
            return Err(refused(&c, "its network mode is not a bridge network"));
        }
        let mut req = hooks::request(&cfg);
        if req.networks.is_empty() {
            req.networks.push(super::DEFAULT.to_string());
        }
        let first = req.networks.first().is_some_and(|n| *n == net.name);
        if !req.networks.contains(&net.name) {
            req.networks.push(net.name.clone());
        }
        if ep.ip.is_some() || ep.ip6.is_some() {
            if !first && req.networks.len() > 1 {
                return Err(refused(&c, "an address is kept for its first network only"));
            }
            super::lease::check_ip6(&net, ep.ip6)?;
            if ep.ip.is_some() {
                req.ip = ep.ip;
            }
            if ep.ip6.is_some() {
                req.ip6 = ep.ip6;
            }
        }
        for a in &ep.aliases {
            if !req.aliases.contains(a) {
                req.aliases.push(a.clone());
            }
        }
        // What `request` adds from the config itself is not stored twice.
        req.hostname.clear();
        req.exposed.clear();
        cfg.net = Some(req);
        Ok(container::set_config(&self.conn, &c.id, &cfg)?)
    }

    /// Disconnects the container `key` from `network`: at once when it runs, else from its
    /// stored request (its only network cannot be taken away before it starts).
    pub fn network_disconnect_endpoint(&self, key: &str, network: &str) -> Result<()> {
        let c = container::lookup(&self.conn, key)?;
        if c.status.is_live() {
            return self.network_disconnect(key, network);
        }
        let net = super::lookup(&self.conn, network)?;
        let mut cfg = c.config.clone();
        let mut req = hooks::request(&cfg);
        if req.networks.is_empty() && hooks::uses_bridge(&cfg) {
            req.networks.push(super::DEFAULT.to_string());
        }
        let Some(i) = req.networks.iter().position(|n| *n == net.name) else {
            return Err(Error::NotFound(format!(
                "container {} is not connected to network {}",
                c.name, net.name
            )));
        };
        if req.networks.len() == 1 {
            return Err(refused(&c, "it is its only network"));
        }
        req.networks.remove(i);
        if i == 0 {
            req.ip = None;
            req.ip6 = None;
        }
        req.hostname.clear();
        req.exposed.clear();
        cfg.net = Some(req);
        Ok(container::set_config(&self.conn, &c.id, &cfg)?)
    }
}

fn refused(c: &Container, why: &str) -> Error {
    Error::InvalidArgument(format!("container {}: {why}", c.name))
}
