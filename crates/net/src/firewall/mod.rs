//! Packet filtering and NAT for bridge networks, behind one trait.
//!
//! The driver keeps the applied state (networks and published ports) itself, persisted as
//! JSON (state.rs). A change of networks rewrites the kernel's rules from that whole state
//! in one atomic batch, as `reload` does after someone flushed the host's ruleset; a change
//! of one container's ports changes map elements in one transaction, and reads and writes
//! that container's state alone.

mod nfnl;
mod nft;
mod state;
mod xtables;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use nft::Nftables;
pub use state::{FirewallState, StateFile};

use crate::ipam::{Subnet, Subnet6};

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("port {0}: expected [IP:]HOST_PORT[-END]:CONTAINER_PORT[-END][/tcp|/udp] (an IPv6 address in brackets)")]
    BadPort(String),
    #[error("host port {host_ip}:{port}/{proto} is already published by {owner}")]
    PortInUse {
        host_ip: String,
        port: u16,
        proto: Proto,
        owner: String,
    },
    #[error("network {0} is not set up in the firewall")]
    NoNetwork(String),
    #[error("firewall state {path}: {msg}")]
    State { path: String, msg: String },
    #[error("nft: {0}")]
    Nft(String),
    #[error("sysctl {key}: {err}")]
    Sysctl { key: String, err: std::io::Error },
}

/// Every failure of a teardown that went on past each of them.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct Failures(pub Vec<FirewallError>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// A bridge network as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRules {
    pub name: String,
    pub bridge: String,
    pub subnet: Subnet,
    /// No traffic in or out of the network, only between its members.
    pub internal: bool,
    /// The IPv6 subnet of a dual-stack network (masqueraded as the IPv4 one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<Subnet6>,
}

/// One published port: `host_ip:host_port/proto` -> `container_ip:container_port`.
///
/// An IPv4 host address (or None) is forwarded by nftables DNAT; so is an IPv6 one (`::` for
/// every address) to a container with an IPv6 address (`container_ip6`, a dual-stack
/// network). An IPv6 one to a container without is forwarded by a userland relay to its
/// IPv4 address (crate::relay), as docker's docker-proxy does: NAT cannot cross families.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// None: every IPv4 address of the host.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
    pub container_ip: Ipv4Addr,
    /// The network (its name) the container is reached on.
    pub network: String,
    /// The container's IPv6 address, for an IPv6 binding DNATed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_ip6: Option<Ipv6Addr>,
}

impl PortMapping {
    /// Bound on an IPv6 host address.
    pub fn is_v6(&self) -> bool {
        self.host_ip.is_some_and(|ip| ip.is_ipv6())
    }

    /// Forwarded by DNAT: an IPv4 binding, or an IPv6 one to a container with an IPv6
    /// address except on `::1` (the kernel does not route a packet from `::1` to a
    /// container after DNAT; IPv4 has `route_localnet` for that, IPv6 nothing).
    pub fn is_dnat(&self) -> bool {
        match self.host_ip {
            Some(ip @ IpAddr::V6(_)) => self.container_ip6.is_some() && !ip.is_loopback(),
            _ => true,
        }
    }

    /// Reached through the userland relay: an IPv6 binding to a container without an IPv6
    /// address, and one on `::1` or `::` (its `::1` connections) to a container with one,
    /// as docker's docker-proxy serves the host's own connections beside ip6tables' DNAT.
    pub fn is_relayed(&self) -> bool {
        match self.host_ip {
            Some(ip @ IpAddr::V6(_)) => {
                self.container_ip6.is_none() || ip.is_loopback() || ip.is_unspecified()
            }
            _ => false,
        }
    }

    /// The host address as docker shows it: `0.0.0.0` or `::` for every address.
    pub fn host_ip_text(&self) -> String {
        self.host_ip
            .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string())
    }

    fn clashes(&self, other: &PortMapping) -> bool {
        self.proto == other.proto
            && self.host_port == other.host_port
            && ips_clash(self.host_ip, other.host_ip)
    }
}

/// Two host addresses of one port and protocol take the same sockets: of one family, and
/// equal or either one every address (None, `0.0.0.0`, `::`).
pub fn ips_clash(a: Option<IpAddr>, b: Option<IpAddr>) -> bool {
    let norm = |ip: Option<IpAddr>| ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let (a, b) = (norm(a), norm(b));
    a.is_ipv6() == b.is_ipv6() && (a.is_unspecified() || b.is_unspecified() || a == b)
}

/// What `-p` asked for, before a container address is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// None: every address, IPv4 and IPv6 (two sockets and two mappings, as docker 20.10).
    pub host_ip: Option<IpAddr>,
    /// None (`-p 80`): any free port, chosen by the engine.
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: Proto,
}

/// Parses one `-p` value; ranges expand to one spec per port (`8000-8002:80-82`).
pub fn parse_publish(s: &str) -> Result<Vec<PortSpec>, FirewallError> {
    let bad = || FirewallError::BadPort(s.into());
    let (body, proto) = match s.rsplit_once('/') {
        Some((b, "tcp")) => (b, Proto::Tcp),
        Some((b, "udp")) => (b, Proto::Udp),
        Some(_) => return Err(bad()),
        None => (s, Proto::Tcp),
    };
    // `[::1]:8080:80`: an IPv6 address in brackets, as docker writes it.
    let (v6, body) = match body.strip_prefix('[') {
        Some(rest) => {
            let (ip, rest) = rest.split_once(']').ok_or_else(bad)?;
            let ip = Ipv6Addr::from_str(ip).map_err(|_| bad())?;
            (Some(ip), rest.strip_prefix(':').ok_or_else(bad)?)
        }
        None => (None, body),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let (ip, host, cont) = match (v6, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [ip, h, c]) => (Some(*ip), (!h.is_empty()).then_some(*h), *c),
        (Some(_), [h, c]) => (None, (!h.is_empty()).then_some(*h), *c),
        _ => return Err(bad()),
    };
    let host_ip = match (v6, ip) {
        (Some(ip), _) => Some(IpAddr::V6(ip)),
        (None, None | Some("")) => None,
        (None, Some(ip)) => Some(IpAddr::V4(Ipv4Addr::from_str(ip).map_err(|_| bad())?)),
    };
    let range = |r: &str| -> Result<(u16, u16), FirewallError> {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let a: u16 = a.parse().map_err(|_| bad())?;
        let b: u16 = b.parse().map_err(|_| bad())?;
        if a == 0 || b < a {
            return Err(bad());
        }
        Ok((a, b))
    };
    let (c0, c1) = range(cont)?;
    let hosts = host.map(range).transpose()?;
    if let Some((h0, h1)) = hosts {
        if h1 - h0 != c1 - c0 {
            return Err(bad());
        }
    } else if c1 != c0 {
        return Err(bad());
    }
    Ok((0..=c1 - c0)
        .map(|i| PortSpec {
            host_ip,
            host_port: hosts.map(|(h0, _)| h0 + i),
            container_port: c0 + i,
            proto,
        })
        .collect())
}

/// What hull asks of a firewall. `owner` names the holder of port mappings (a container id).
pub trait FirewallDriver {
    /// Adds (or replaces) a network's forwarding, isolation and masquerade rules, and turns
    /// on forwarding.
    fn add_network(&self, net: &NetworkRules) -> Result<(), FirewallError>;
    /// Removes a network and every port published on it.
    fn remove_network(&self, name: &str) -> Result<(), Failures>;
    /// Publishes `ports` for `owner`; fails whole, changing nothing, on a clash.
    fn add_ports(&self, owner: &str, ports: &[PortMapping]) -> Result<(), FirewallError>;
    /// Unpublishes every port of `owner` (nothing to do is not an error).
    fn remove_ports(&self, owner: &str) -> Result<(), Failures>;
    /// Re-applies the whole persisted state (after `nft flush ruleset`, a reboot...).
    fn reload(&self) -> Result<(), FirewallError>;
    /// The persisted state.
    fn state(&self) -> Result<FirewallState, FirewallError>;
    /// One owner's published ports (none: empty), without reading the others'.
    fn ports_of(&self, owner: &str) -> Result<Vec<PortMapping>, FirewallError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> PortSpec {
        let v = parse_publish(s).unwrap();
        assert_eq!(v.len(), 1);
        v[0].clone()
    }

    #[test]
    fn publish_forms() {
        let p = one("8080:80");
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.proto),
            (None, Some(8080), 80, Proto::Tcp)
        );
        let p = one("127.0.0.1:53:5353/udp");
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (Some(53), 5353, Proto::Udp)
        );
        let p = one("80");
        assert_eq!((p.host_port, p.container_port), (None, 80));
        let p = one("10.0.0.1::80");
        assert_eq!(
            (p.host_ip, p.host_port),
            (Some(Ipv4Addr::new(10, 0, 0, 1).into()), None)
        );
        let p = one("[::1]:8080:80/udp");
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.proto),
            (Some(Ipv6Addr::LOCALHOST.into()), Some(8080), 80, Proto::Udp)
        );
        let p = one("[::]::80");
        assert_eq!(
            (p.host_ip, p.host_port),
            (Some(Ipv6Addr::UNSPECIFIED.into()), None)
        );
        assert_eq!(
            one("0.0.0.0:1:2").host_ip,
            Some(Ipv4Addr::UNSPECIFIED.into())
        );
        let v = parse_publish("9000-9002:80-82/udp").unwrap();
        let got: Vec<_> = v
            .iter()
            .map(|p| (p.host_port.unwrap(), p.container_port))
            .collect();
        assert_eq!(got, vec![(9000, 80), (9001, 81), (9002, 82)]);
        for bad in [
            "",
            "x:80",
            "80:0",
            "1-3:80-81",
            "80/sctp",
            "1.2.3:80:80",
            "70000:80",
            "90-80:1-11",
            "80-81",
            "::1:80:80",
            "[::1]80:80",
            "[::1:80:80",
            "[1.2.3.4]:80:80",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad} should be refused");
        }
        let e = parse_publish("x:80").unwrap_err().to_string();
        assert!(e.contains("x:80"), "{e}");
    }

    #[test]
    fn clashes() {
        let m = |ip: Option<IpAddr>, port, proto| PortMapping {
            host_ip: ip,
            host_port: port,
            container_port: 1,
            proto,
            container_ip: Ipv4Addr::new(10, 0, 0, 2),
            network: "n".into(),
            container_ip6: None,
        };
        let lo = Some(Ipv4Addr::LOCALHOST.into());
        let lo6 = Some(Ipv6Addr::LOCALHOST.into());
        let any6 = Some(Ipv6Addr::UNSPECIFIED.into());
        assert!(m(None, 80, Proto::Tcp).clashes(&m(lo, 80, Proto::Tcp)));
        assert!(!m(None, 80, Proto::Tcp).clashes(&m(None, 80, Proto::Udp)));
        assert!(!m(lo, 80, Proto::Tcp).clashes(&m(
            Some(Ipv4Addr::new(10, 0, 0, 1).into()),
            80,
            Proto::Tcp
        )));
        // The two families of one `-p 80:80` do not clash with each other...
        assert!(!m(None, 80, Proto::Tcp).clashes(&m(any6, 80, Proto::Tcp)));
        assert!(!m(lo, 80, Proto::Tcp).clashes(&m(lo6, 80, Proto::Tcp)));
        // ...but `::` takes every IPv6 address.
        assert!(m(any6, 80, Proto::Tcp).clashes(&m(lo6, 80, Proto::Tcp)));
        assert!(!m(None, 80, Proto::Tcp).clashes(&m(None, 81, Proto::Tcp)));
    }
}
