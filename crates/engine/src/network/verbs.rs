//! The network verbs (`network create|ls|inspect|rm|prune|connect|disconnect|reload`) as the
//! engine's API. Each first ensures the networks' tables and the default network's upgrade.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{json, Value};

use super::{endpoint, host, lease, CreateRequest, Network, NetworkError};
use crate::container;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::Paths;

/// A `-p` value's check (the CLI's flag): `[IP:]HOST:CONTAINER[/PROTO]`, ranges allowed.
pub fn check_publish(p: &str) -> std::result::Result<(), String> {
    hull_net::firewall::parse_publish(p)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Whether `m` is a unicast MAC address (`--mac-address`).
pub fn valid_mac(m: &str) -> bool {
    hull_net::ipam::parse_mac(m).is_some()
}

impl Engine {
    fn networks(&self) -> Result<()> {
        super::upgrade_default(&self.conn, &self.paths)?;
        Ok(())
    }

    /// Creates a bridge network.
    pub fn network_create(&self, req: &CreateRequest) -> Result<Network> {
        self.networks()?;
        let net = super::create(&self.conn, &self.paths, req)?;
        network_event(self, &net, "create");
        Ok(net)
    }

    /// docker's `network ls` rows: the networks by name, `host` and `none` among them.
    pub fn network_list(&self) -> Result<Vec<Value>> {
        self.networks()?;
        let mut nets = super::list(&self.conn)?;
        if !nets.iter().any(Network::is_default) {
            nets.push(super::pending_default(&self.conn, &self.paths)?);
        }
        let mut rows: Vec<_> = nets.iter().map(|n| n.list_json()).collect();
        rows.extend(
            ["host", "none"]
                .into_iter()
                .filter_map(|b| Some(super::builtin(b)?.0)),
        );
        rows.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
        Ok(rows)
    }

    /// docker's `network inspect` of `name` with its containers; None when there is none.
    pub fn network_inspect(&self, name: &str) -> Result<Option<Value>> {
        self.networks()?;
        if let Some((_, b)) = super::builtin(name) {
            return Ok(Some(b));
        }
        let n = match super::get(&self.conn, name)? {
            Some(n) => n,
            None => {
                // The default network before its first container: by name or id.
                let pending = super::pending_default(&self.conn, &self.paths)?;
                let by_id = name.len() >= 3 && pending.id.starts_with(name);
                if name != super::DEFAULT && name != super::OLD_DEFAULT && !by_id {
                    return Ok(None);
                }
                if super::get(&self.conn, super::DEFAULT)?.is_some() {
                    return Ok(None); // an id prefix of the pending one, but the network is made
                }
                pending
            }
        };
        let mut cs = serde_json::Map::new();
        for l in lease::of_network(&self.conn, &n.name)? {
            let v6 = match (l.ip6, n.v6()) {
                (Some(ip6), Some((s6, _))) => format!("{ip6}/{}", s6.prefix),
                _ => String::new(),
            };
            cs.insert(
                l.container.clone(),
                json!({"Name": l.name, "MacAddress": hull_net::ipam::format_mac(&l.mac),
                       "IPv4Address": format!("{}/{}", l.ip, n.subnet.prefix), "IPv6Address": v6}),
            );
        }
        Ok(Some(n.inspect_json(cs.into())))
    }

    /// Removes the network `name` (a pre-defined one is refused).
    pub fn network_remove(&self, name: &str) -> Result<()> {
        if super::RESERVED.contains(&name) {
            return Err(NetworkError::Predefined(name.to_string()).into());
        }
        self.networks()?;
        let net = super::lookup(&self.conn, name).ok();
        super::remove(&self.conn, &self.paths, name)?;
        if let Some(net) = net {
            network_event(self, &net, "destroy");
        }
        Ok(())
    }

    /// Removes the networks no container uses; returns their names.
    pub fn network_prune(&self) -> Result<Vec<String>> {
        self.networks()?;
        Ok(super::prune(&self.conn, &self.paths)?)
    }

    /// Connects the container `key` to `network`, at `ip` if given.
    pub fn network_connect(&self, key: &str, network: &str, ip: Option<Ipv4Addr>) -> Result<()> {
        self.network_connect_ips(key, network, ip, None)
    }

    /// [`network_connect`](Self::network_connect) with an IPv6 address too (`--ip6`).
    pub fn network_connect_ips(
        &self,
        key: &str,
        network: &str,
        ip: Option<Ipv4Addr>,
        ip6: Option<Ipv6Addr>,
    ) -> Result<()> {
        self.networks()?;
        let c = container::lookup(&self.conn, key)?;
        endpoint::connect_one(&self.conn, &self.paths, &c.id, &c.name, network, ip, ip6)?;
        super::hooks::network_event(self, network, &c.id, "connect");
        Ok(())
    }

    /// Disconnects the container `key` from `network`.
    pub fn network_disconnect(&self, key: &str, network: &str) -> Result<()> {
        self.networks()?;
        let c = container::lookup(&self.conn, key)?;
        endpoint::disconnect(&self.conn, &self.paths, &c.id, network)?;
        super::hooks::network_event(self, network, &c.id, "disconnect");
        Ok(())
    }

    /// Sets every network's bridge, firewall rules and DNS up again (after a host reboot or
    /// a firewall flush).
    pub fn network_reload(&self) -> Result<()> {
        self.networks()?;
        Ok(host::reload(&self.conn, &self.paths)?)
    }
}

/// `internal dns-serve NAME`: the network's DNS server, run until killed. The state is
/// closed before serving.
pub fn dns_serve(eng: Engine, name: &str) -> Result<()> {
    eng.networks()?;
    let n = super::lookup(&eng.conn, name)?;
    let paths: Paths = eng.paths.clone();
    drop(eng);
    let _span = tracing::debug_span!("dns_serve", network = %n.name).entered();
    tracing::debug!(address = %n.gateway, "starting the responder");
    host::serve_dns(&paths, &n).map_err(Error::from)
}

/// docker's network `create`/`destroy` event: the network's id, its `name` and `type`.
fn network_event(eng: &Engine, net: &Network, action: &str) {
    let attrs = std::collections::BTreeMap::from([
        ("name".to_string(), net.name.clone()),
        ("type".to_string(), "bridge".to_string()),
    ]);
    crate::events::emit(&eng.paths, "network", action, &net.id, attrs);
}
