//! Bridge networks: the bridge with its gateway address, and veth attachments of container
//! namespaces to it.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::firewall::{FirewallDriver, FirewallError, NetworkRules};
use crate::ipam::{self, Subnet, Subnet6};
use crate::netlink::{Netlink, NetlinkError, VethPeer};
use crate::netns::{self, NetnsError};

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error("bridge name {0:?}: must be 1-15 characters, no '/' or whitespace")]
    BadBridgeName(String),
    #[error("{what} {path}: {err}")]
    Io {
        what: &'static str,
        path: String,
        err: std::io::Error,
    },
}

/// A bridge network: what the engine stores for each network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub name: String,
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub mtu: Option<u32>,
    pub internal: bool,
    /// The IPv6 subnet and gateway of a dual-stack network (`--ipv6`); None for IPv4 only.
    #[serde(default)]
    pub v6: Option<(Subnet6, Ipv6Addr)>,
}

impl NetworkSpec {
    pub fn rules(&self) -> NetworkRules {
        NetworkRules {
            name: self.name.clone(),
            bridge: self.bridge.clone(),
            subnet: self.subnet,
            internal: self.internal,
            subnet6: self.v6.map(|(s, _)| s),
        }
    }
}

/// One container interface on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub network: String,
    pub bridge: String,
    /// The host end of the veth pair, on the bridge.
    pub host_veth: String,
    /// The name inside the container (eth0, eth1...).
    pub ifname: String,
    pub netns: PathBuf,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub mac: [u8; 6],
    /// The IPv6 address on a dual-stack network.
    #[serde(default)]
    pub ip6: Option<Ipv6Addr>,
}

/// The namespace bridges live in: the host's, or one a test made to stand for a host.
pub struct HostNet {
    pub nl: Netlink,
    pub netns: Option<PathBuf>,
}

impl HostNet {
    /// The caller's own network namespace.
    pub fn current() -> Result<Self, BridgeError> {
        Ok(HostNet {
            nl: Netlink::new()?,
            netns: None,
        })
    }

    /// The namespace pinned at `path`.
    pub fn in_netns(path: &Path) -> Result<Self, BridgeError> {
        Ok(HostNet {
            nl: Netlink::in_netns(path)?,
            netns: Some(path.into()),
        })
    }

    /// Writes a file under /proc/sys or /sys as seen from this namespace.
    pub fn write_sys(&self, path: &str, val: &str) -> Result<(), BridgeError> {
        let (p, v) = (path.to_string(), val.to_string());
        let write = move || std::fs::write(&p, v);
        let res = match &self.netns {
            // /proc/sys/net and /sys/class/net resolve against the opener's namespace:
            // a thread that joined the namespace opens them.
            Some(ns) => netns::run_in(ns, write)?,
            None => write(),
        };
        res.map_err(|err| BridgeError::Io {
            what: "write",
            path: path.into(),
            err,
        })
    }
}

/// The host end's name for an attachment: derived from the bridge and the address (unique
/// on a network), so it can be found again from the lease alone (`hull system check`).
pub fn host_veth_name(bridge: &str, ip: Ipv4Addr) -> String {
    // FNV-1a: tiny, stable across builds and versions.
    let mut h: u32 = 0x811c9dc5;
    for b in bridge.bytes().chain(ip.octets()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    format!("veth{h:08x}")
}

/// Creates the bridge with the gateway address and MTU (keeping one already there), brings
/// it up and adds the network to the firewall.
pub fn setup_network(
    host: &mut HostNet,
    fw: &dyn FirewallDriver,
    spec: &NetworkSpec,
) -> Result<(), BridgeError> {
    if spec.bridge.is_empty()
        || spec.bridge.len() > 15
        || spec.bridge.contains(['/', ' ', '\t', '\n'])
    {
        return Err(BridgeError::BadBridgeName(spec.bridge.clone()));
    }
    // A bridge whose MAC address nobody set takes the lowest of its ports' and changes as
    // veths come and go: the containers' ARP entries for the gateway then point nowhere for
    // up to a minute (DNS and the way out fail). A set address stays; the gateway's docker-style
    // MAC is never a container's, as the gateway address is never leased.
    let mac = ipam::mac_from_ip(spec.gateway);
    let made = match host.nl.create_bridge(&spec.bridge, spec.mtu, mac) {
        Ok(()) => true,
        Err(e) if e.errno() == Some(libc::EEXIST) => false,
        Err(e) => return Err(e.into()),
    };
    // One request for the index and the address (this runs at every container start).
    let link = host
        .nl
        .link(&spec.bridge)?
        .ok_or_else(|| NetlinkError::NoLink(spec.bridge.clone()))?;
    let index = link.index;
    // Made by an older hull without its address set: set it, but only then (a change of
    // address flushes the bridge's neighbour entries).
    if !made && link.mac != Some(mac) {
        host.nl.set_mac(index, mac)?;
    }
    // The gateway address: one targeted request (EEXIST when the bridge has it already), not
    // a dump of every address on the host at each container start.
    match host.nl.add_address(index, spec.gateway, spec.subnet.prefix) {
        Err(e) if e.errno() == Some(libc::EEXIST) => {}
        r => r?,
    }
    if let Some((subnet6, gw6)) = spec.v6 {
        // A host whose new interfaces start with IPv6 disabled (default.disable_ipv6=1)
        // gives the bridge none: it is enabled on this bridge only, as docker does.
        let knob = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", spec.bridge);
        if read_sys(host, &knob).is_some_and(|v| v.trim() != "0") {
            host.write_sys(&knob, "0")?;
        }
        match host.nl.add_address6(index, gw6, subnet6.prefix) {
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            r => r?,
        }
    }
    host.nl.set_up(index, true)?;
    fw.add_network(&spec.rules())?;
    Ok(())
}

/// A /proc/sys file's value as seen from the host namespace `host` (None when unreadable).
fn read_sys(host: &HostNet, path: &str) -> Option<String> {
    let p = path.to_string();
    match &host.netns {
        Some(ns) => netns::run_in(ns, move || std::fs::read_to_string(&p).ok())
            .ok()
            .flatten(),
        None => std::fs::read_to_string(&p).ok(),
    }
}

/// Removes the network's rules and its bridge; goes on past each failure and returns them all.
pub fn teardown_network(
    host: &mut HostNet,
    fw: &dyn FirewallDriver,
    spec: &NetworkSpec,
) -> Vec<BridgeError> {
    let mut errs = Vec::new();
    if let Err(f) = fw.remove_network(&spec.name) {
        errs.extend(f.0.into_iter().map(BridgeError::from));
    }
    if let Err(e) = host.nl.delete_link_named(&spec.bridge) {
        errs.push(e.into());
    }
    errs
}

/// Connects the namespace pinned at `netns_path` to the network: a veth pair whose host end
/// joins the bridge and whose other end is made inside the namespace as `ifname` with `mac`;
/// then, inside, loopback up, the address (and the IPv6 one on a dual-stack network), and
/// (first interface only) the default routes.
pub fn attach(
    host: &mut HostNet,
    spec: &NetworkSpec,
    netns_path: &Path,
    ifname: &str,
    (ip, ip6): (Ipv4Addr, Option<Ipv6Addr>),
    mac: Option<[u8; 6]>,
    default_route: bool,
) -> Result<Attachment, BridgeError> {
    let mac = mac.unwrap_or_else(|| ipam::mac_from_ip(ip));
    let att = Attachment {
        network: spec.name.clone(),
        bridge: spec.bridge.clone(),
        host_veth: host_veth_name(&spec.bridge, ip),
        ifname: ifname.into(),
        netns: netns_path.into(),
        ip,
        prefix: spec.subnet.prefix,
        gateway: spec.gateway,
        mac,
        ip6,
    };
    let ns = netns::open(netns_path)?;
    let bridge = host.nl.index(&spec.bridge)?;
    let peer = VethPeer {
        name: ifname,
        netns: Some(&ns),
        mac: Some(mac),
        mtu: spec.mtu,
    };
    // A link of this name is named after an address the caller holds the lease of: it is
    // the veth of that address's last holder, in a namespace the kernel is still tearing
    // down (a container's exit leaves its veth to the kernel; a restarted remapped
    // container's old namespace goes while its new one is wired), or left by a crash. Its
    // deletion takes its peer with it. The kernel's own teardown of that namespace can
    // race with ours (the link gone before our delete, or back to EEXIST after it), so
    // this tries again for a while before giving up.
    let mut tries = 0;
    loop {
        match host.nl.create_veth(&att.host_veth, &peer, Some(bridge)) {
            Err(e) if e.errno() == Some(libc::EEXIST) && tries < 50 => {
                tries += 1;
                host.nl.delete_link_named(&att.host_veth)?;
                if tries > 1 {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
            r => break r?,
        }
    }
    let res = (|| -> Result<(), BridgeError> {
        let hv = host.nl.index(&att.host_veth)?;
        // The host end is a bridge port: it forwards frames, IPv6 ones too, and needs no
        // address of its own. Left enabled, it gets a link-local address and four routes in
        // the host's table when it comes up, and the kernel walks that whole table when any
        // of them goes: each container's exit then cost more the more were running. Before
        // it is up, so none is ever made; a host without IPv6 has no such knob.
        let knob = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", att.host_veth);
        match host.write_sys(&knob, "1") {
            Err(BridgeError::Io { err, .. }) if err.kind() == std::io::ErrorKind::NotFound => {}
            r => r?,
        }
        host.nl.set_up(hv, true)?;
        // Hairpin: a container reaching its own published port through the host's address
        // gets the packet back through the port it left by.
        host.nl.set_hairpin(hv, true)?;
        let mut inner = Netlink::in_netns(netns_path)?;
        let lo = inner.index("lo")?;
        inner.set_up(lo, true)?;
        let eth = inner.index(ifname)?;
        if spec.v6.is_none() {
            // An IPv4-only network: no IPv6 on the container's interface either (as docker
            // since 26). Left enabled, each interface that comes up or goes sends IPv6
            // multicast (its link-local address's duplicate check, MLD, a router
            // solicitation) that the bridge floods to every other container, so each start
            // and exit cost more the more containers were on the network. Before it is up.
            let knob = format!("/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6");
            let path = knob.clone();
            match netns::run_in(netns_path, move || std::fs::write(&path, "1"))? {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                r => r.map_err(|err| BridgeError::Io {
                    what: "write",
                    path: knob,
                    err,
                })?,
            }
        }
        inner.add_address(eth, ip, spec.subnet.prefix)?;
        inner.set_up(eth, true)?;
        if default_route {
            inner.add_default_route(spec.gateway)?;
        }
        // IPv6 after the link is up: the default route needs the prefix's on-link route,
        // which the kernel adds for an up link.
        if let (Some(ip6), Some((subnet6, gw6))) = (ip6, spec.v6) {
            inner.add_address6(eth, ip6, subnet6.prefix)?;
            if default_route {
                inner.add_default_route6(gw6)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        let _ = host.nl.delete_link_named(&att.host_veth);
        return Err(e);
    }
    Ok(att)
}

/// Deletes the host end of the veth (the kernel deletes its peer with it); a link already
/// gone is fine. Returns every failure.
pub fn detach(host: &mut HostNet, att: &Attachment) -> Vec<BridgeError> {
    let mut errs = Vec::new();
    if let Err(e) = host.nl.delete_link_named(&att.host_veth) {
        errs.push(e.into());
    }
    errs
}
