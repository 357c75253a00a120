//! A container's networking: its namespace pinned at `<runroot>/netns/<id>` (given to the
//! OCI spec by path), an interface on each of its networks, published ports, the DNS names
//! it answers to, its /etc/hosts and /etc/resolv.conf; and the teardown of all of it.
//!
//! The engine calls [`pin`] before writing the spec, [`connect`] before starting the
//! container's process, and [`teardown`] on every way out (rm, stop, a dead monitor, prune):
//! teardown goes on past each failure and is a no-op the second time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use hull_net::bridge::{Attachment, HostNet};
use hull_net::driver::EndpointRequest;
use hull_net::firewall::{FirewallDriver, PortMapping};
use hull_net::{dns, ipam, netns};
use rusqlite::Connection;

use super::lease::{self, Lease, LeaseRequest};
use super::{host, Network, NetworkError, Result};
use crate::Paths;

/// What `run`/`create` asked of the network.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NetRequest {
    /// `--network` values in order; empty: the default network.
    pub networks: Vec<String>,
    pub ip: Option<Ipv4Addr>,
    /// `--ip6`: the IPv6 address on the first network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip6: Option<Ipv6Addr>,
    pub mac: Option<String>,
    pub publish: Vec<String>,
    pub publish_all: bool,
    /// The image's ExposedPorts ("80/tcp"), for -P.
    pub exposed: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    /// `--dns-option`: the options line of /etc/resolv.conf, instead of the host's.
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP`, IP may be `host-gateway` (the gateway of the container's first
    /// network, the host's address there, as docker writes docker0's).
    pub add_hosts: Vec<String>,
    pub hostname: String,
    pub aliases: Vec<String>,
}

/// How the container's network namespace is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Its own, loopback only.
    None,
    /// The host's.
    Host,
    /// Another container's (`container:NAME`).
    Container(String),
    /// Its own, on these bridge networks (names as given; "bridge" is the default).
    Bridge(Vec<String>),
}

/// Checks the `--network` flags: none, host and container:X stand alone.
pub fn mode(req: &NetRequest) -> Result<Mode> {
    let bad = |m: String| NetworkError::Endpoint("--network".into(), m);
    let mut nets = Vec::new();
    for n in &req.networks {
        let single = match n.as_str() {
            "none" => Some(Mode::None),
            "host" => Some(Mode::Host),
            c if c.starts_with("container:") => {
                Some(Mode::Container(c["container:".len()..].into()))
            }
            _ => None,
        };
        if let Some(m) = single {
            if req.networks.len() > 1 {
                return Err(bad(format!("{n} cannot be combined with other networks")));
            }
            if !req.publish.is_empty() || req.publish_all {
                return Err(bad(format!("{n}: ports cannot be published (-p, -P)")));
            }
            return Ok(m);
        }
        if !nets.contains(n) {
            nets.push(n.clone());
        }
    }
    if nets.is_empty() {
        nets.push(super::DEFAULT.into());
    }
    Ok(Mode::Bridge(nets))
}

pub fn netns_path(paths: &Paths, id: &str) -> PathBuf {
    netns::path(&paths.runroot, id)
}

/// Pins a new network namespace for the container (kept when already pinned).
pub fn pin(paths: &Paths, id: &str) -> Result<PathBuf> {
    let p = netns_path(paths, id);
    if netns::is_pinned(&p) {
        return Ok(p);
    }
    let _ = netns::remove(&p);
    netns::create(&paths.runroot, id).map_err(|e| NetworkError::Endpoint(id.into(), e.to_string()))
}

pub(super) fn ep_err(id: &str, e: impl std::fmt::Display) -> NetworkError {
    NetworkError::Endpoint(id[..id.len().min(12)].into(), e.to_string())
}

/// Connects the container's pinned namespace to its networks and publishes its ports;
/// undoes all of it on failure. Returns the leases, first network first.
pub fn connect(
    conn: &Connection,
    paths: &Paths,
    id: &str,
    name: &str,
    req: &NetRequest,
) -> Result<Vec<Lease>> {
    let Mode::Bridge(names) = mode(req)? else {
        return Ok(Vec::new());
    };
    let res = connect_inner(conn, paths, id, name, req, &names);
    if res.is_err() {
        let _ = teardown_keep_netns(conn, paths, id);
    }
    res
}

fn connect_inner(
    conn: &Connection,
    paths: &Paths,
    id: &str,
    name: &str,
    req: &NetRequest,
    names: &[String],
) -> Result<Vec<Lease>> {
    let ns = netns_path(paths, id);
    let mac = match &req.mac {
        Some(m) => Some(
            ipam::parse_mac(m)
                .ok_or_else(|| ep_err(id, format!("--mac-address {m}: not a unicast MAC")))?,
        ),
        None => None,
    };
    let mut leases = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let is_default = n == super::DEFAULT || n == super::OLD_DEFAULT;
        let mut aliases = req.aliases.clone();
        if !req.hostname.is_empty() && req.hostname != name {
            aliases.push(req.hostname.clone());
        }
        let ifname = format!("eth{i}");
        let lreq = LeaseRequest {
            container: id,
            name,
            ifname: &ifname,
            ip: if i == 0 { req.ip } else { None },
            ip6: if i == 0 { req.ip6 } else { None },
            mac: if i == 0 { mac } else { None },
            aliases: &aliases,
        };
        // The lease first, the bridge after: a default network that its last container's
        // teardown removes meanwhile (see `release_default`) is then either kept by this
        // lease or gone before it, and made again.
        let mut tries = 0;
        let (net, l) = loop {
            let net = if is_default {
                super::default_network(conn, paths)?
            } else {
                super::lookup(conn, n)?
            };
            match lease::allocate(conn, &net, &lreq) {
                Ok(l) => break (net, l),
                Err(NetworkError::Db(e))
                    if is_default && tries < 3 && e.to_string().contains("FOREIGN KEY") =>
                {
                    tries += 1
                }
                Err(e) => return Err(e),
            }
        };
        attach(paths, &net, &ns, &l, i == 0)?;
        if !net.is_default() {
            host::write_records(conn, paths, &net)?;
            host::ensure_dns(paths, &net)?;
        }
        leases.push((net, l));
    }
    let (first, first_lease) = &leases[0];
    super::ports::publish(paths, id, req, first, first_lease.ip, first_lease.ip6)?;
    Ok(leases.into_iter().map(|(_, l)| l).collect())
}

/// Wires the container's leases again, into its newly pinned namespace: the same addresses,
/// MACs and published ports, for a remapped container restarted by its policy (the runtime
/// made it a new namespace). A veth of the last run still there is replaced
/// (`bridge::attach`).
pub fn reattach(conn: &Connection, paths: &Paths, id: &str) -> Result<()> {
    let ns = netns_path(paths, id);
    for (i, l) in lease::of_container(conn, id)?.iter().enumerate() {
        let net = super::lookup(conn, &l.network)?;
        attach(paths, &net, &ns, l, i == 0)?;
    }
    Ok(())
}

/// Brings the network up on the host and gives the namespace `ns` the lease's interface (the
/// default route through the first one), through the network's driver.
fn attach(paths: &Paths, net: &Network, ns: &Path, l: &Lease, first: bool) -> Result<()> {
    let fw = host::firewall(paths);
    let mut d = host::driver(net, &fw)?;
    let spec = net.spec();
    d.create_network(&spec).map_err(|e| NetworkError::Host {
        name: net.name.clone(),
        msg: e.to_string(),
    })?;
    d.setup(&spec, &endpoint_request(ns, l, first))
        .map(|_| ())
        .map_err(|e| ep_err(&l.container, e))
}

fn endpoint_request<'a>(ns: &'a Path, l: &'a Lease, first: bool) -> EndpointRequest<'a> {
    EndpointRequest {
        netns: ns,
        ifname: &l.ifname,
        ip: l.ip,
        ip6: l.ip6,
        mac: Some(l.mac),
        default_route: first,
    }
}

/// The container's published ports ("80/tcp" -> host ip and port), for inspect, `port` and
/// `ps`: its own file of the firewall's state alone, read without the state's lock.
pub(crate) fn ports(paths: &Paths, id: &str) -> Vec<PortMapping> {
    host::firewall(paths).ports_of(id).unwrap_or_default()
}

/// /etc/hosts and /etc/resolv.conf for the container, written into `dir` (the engine's
/// container directory, bind-mounted from there).
pub fn write_files(
    dir: &Path,
    conn: &Connection,
    id: &str,
    name: &str,
    req: &NetRequest,
) -> Result<()> {
    let leases = lease::of_container(conn, id)?;
    let hostname = if req.hostname.is_empty() {
        &id[..id.len().min(12)]
    } else {
        &req.hostname
    };
    let mut own = Vec::new();
    if let Some(l) = leases.first() {
        let mut names = vec![hostname.to_string()];
        if name != hostname {
            names.push(name.to_string());
        }
        // docker writes the IPv6 address too, after the IPv4 one.
        if let Some(ip6) = l.ip6 {
            own.push((IpAddr::V4(l.ip), names.clone()));
            own.push((IpAddr::V6(ip6), names));
        } else {
            own.push((IpAddr::V4(l.ip), names));
        }
    }
    let mut extra = Vec::new();
    for h in &req.add_hosts {
        let (n, ip) = h
            .split_once(':')
            .filter(|(n, ip)| {
                !n.is_empty() && (*ip == HOST_GATEWAY || ip.parse::<std::net::IpAddr>().is_ok())
            })
            .ok_or_else(|| ep_err(id, format!("--add-host {h}: expected NAME:IP")))?;
        let ip = if ip == HOST_GATEWAY {
            host_gateway(conn, &leases)?
                .ok_or_else(|| ep_err(id, format!("--add-host {h}: no network gateway")))?
                .to_string()
        } else {
            ip.to_string()
        };
        extra.push((n.to_string(), ip));
    }
    let hosts = dns::hosts_file(&own, &extra);
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut servers = req.dns.clone();
    if servers.is_empty() {
        for l in &leases {
            let net = super::lookup(conn, &l.network)?;
            if let Some(ip) = host::dns_address(&net) {
                servers = vec![ip.to_string()];
                break;
            }
        }
    }
    let resolv = dns::resolv_conf(&host_resolv, &servers, &req.dns_search, &req.dns_options);
    let w = |f: &str, s: &str| {
        std::fs::write(dir.join(f), s)
            .map_err(|e| ep_err(id, format!("{}: {e}", dir.join(f).display())))
    };
    std::fs::create_dir_all(dir).map_err(|e| ep_err(id, e))?;
    w("hosts", &hosts)?;
    w("resolv.conf", &resolv)
}

/// `--add-host NAME:host-gateway`'s special value.
pub const HOST_GATEWAY: &str = "host-gateway";

/// The host's address for `host-gateway`: the gateway of the container's first network,
/// else the default network's (docker writes docker0's address).
fn host_gateway(conn: &Connection, leases: &[Lease]) -> Result<Option<Ipv4Addr>> {
    let net = match leases.first() {
        Some(l) => super::get(conn, &l.network)?,
        None => super::get(conn, super::DEFAULT)?,
    };
    Ok(net.map(|n| n.gateway))
}

/// Whether a running container joined this container's namespace (`--network
/// container:NAME`, stored as given), so it outlives the unpinning. True when the database
/// cannot tell.
fn joined(conn: &Connection, id: &str) -> bool {
    let keys = crate::state::containers::network_joiners(conn);
    let Ok(keys) = keys else {
        return true;
    };
    keys.iter().any(|k| {
        let key = &k["container:".len()..];
        crate::container::lookup(conn, key).map_or(true, |c| c.id == id)
    })
}

fn teardown_keep_netns(conn: &Connection, paths: &Paths, id: &str) -> Vec<String> {
    Teardown::start(conn, paths, id, true).finish(conn, paths)
}

/// A teardown under way: the ports are unpublished and the namespace is being unpinned on a
/// thread, while the caller does other work.
///
/// The veths are not deleted one by one when the namespace goes with the container: once
/// it is unpinned and its last process is gone, the kernel deletes its interfaces, and the
/// host ends of their veth pairs with them, in the background. A link deletion here would
/// wait for RCU grace periods (about 16 ms, the longest step of a container's exit). An
/// address released meanwhile is handed out again last (ipam allocates serially), and a
/// new veth that finds one of the same name still there deletes it first
/// (`bridge::attach`). The veths are deleted here, on a thread, when the namespace stays:
/// a restart keeping it, a failed connect, or containers that joined it
/// (`--network container:ID`) still running. A hull killed in between leaves the leases,
/// which `hull rm` and `hull system check` take down.
pub struct Teardown {
    id: String,
    leases: Vec<Lease>,
    errs: Vec<String>,
    links: Option<std::thread::JoinHandle<Vec<String>>>,
    /// The namespace's unpinning, also on a thread: an unmount waits for a grace period too.
    unpin: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Teardown {
    /// Unpublishes the ports and starts deleting the container's veths and (unless
    /// `keep_netns`) unpinning its namespace.
    pub fn start(conn: &Connection, paths: &Paths, id: &str, keep_netns: bool) -> Teardown {
        let mut errs = Vec::new();
        super::ports::release(id);
        if let Err(e) = super::ports::stop_relay(paths, id) {
            errs.push(e);
        }
        if let Err(f) = host::firewall(paths).remove_ports(id) {
            errs.extend(f.0.iter().map(|e| e.to_string()));
        }
        let leases = match lease::of_container(conn, id) {
            Ok(l) => l,
            Err(e) => {
                errs.push(e.to_string());
                Vec::new()
            }
        };
        let links = (!leases.is_empty() && (keep_netns || joined(conn, id))).then(|| {
            let atts: Vec<Attachment> = leases
                .iter()
                .map(|l| Attachment {
                    network: l.network.clone(),
                    bridge: String::new(),
                    host_veth: l.host_veth.clone(),
                    ifname: l.ifname.clone(),
                    netns: netns_path(paths, id),
                    ip: l.ip,
                    prefix: 0,
                    gateway: Ipv4Addr::UNSPECIFIED,
                    mac: l.mac,
                    ip6: l.ip6,
                })
                .collect();
            let fw = host::firewall(paths);
            std::thread::spawn(move || {
                let Ok(h) = HostNet::current() else {
                    return Vec::new();
                };
                // Every network hull stores is a bridge (Network::driver).
                match hull_net::driver::for_name(hull_net::driver::BRIDGE, h, &fw) {
                    Ok(mut d) => d.teardown(&atts).iter().map(|e| e.to_string()).collect(),
                    Err(e) => vec![e.to_string()],
                }
            })
        });
        let unpin = (!keep_netns).then(|| {
            let p = netns_path(paths, id);
            std::thread::spawn(move || match netns::remove(&p) {
                Ok(()) => Vec::new(),
                Err(e) => vec![e.to_string()],
            })
        });
        Teardown {
            id: id.into(),
            leases,
            errs,
            links,
            unpin,
        }
    }

    /// Waits for the veths to be gone and the namespace unpinned, releases the leases and
    /// rewrites the networks' DNS records. Returns every failure.
    pub fn finish(self, conn: &Connection, paths: &Paths) -> Vec<String> {
        let Teardown {
            id,
            leases,
            mut errs,
            links,
            unpin,
        } = self;
        for t in [links, unpin].into_iter().flatten() {
            match t.join() {
                Ok(e) => errs.extend(e),
                Err(_) => errs.push("network teardown thread panicked".into()),
            }
        }
        for l in leases {
            if let Err(e) = lease::release(conn, &l.network, &id) {
                errs.push(e.to_string());
            }
            if l.network == super::DEFAULT || l.network == super::OLD_DEFAULT {
                release_default(conn, paths);
            }
            if let Ok(Some(net)) = super::get(conn, &l.network) {
                if !net.is_default() {
                    if let Err(e) = host::write_records(conn, paths, &net) {
                        errs.push(e.to_string());
                    }
                }
            }
        }
        errs
    }
}

/// A hull root of its own (not /run/hull: tests, scripts) removes its default network with
/// its last container, so no bridge or nft table outlives the root. The default root keeps
/// it, as docker keeps docker0.
fn release_default(conn: &Connection, paths: &Paths) {
    if host::table(paths) != "hull" {
        let _ = super::remove(conn, paths, super::DEFAULT);
    }
}

/// Unpublishes the ports, deletes the interfaces, releases the leases, unpins the
/// namespace. Every failure is returned; nothing stops it half-way.
pub fn teardown(conn: &Connection, paths: &Paths, id: &str) -> Vec<String> {
    Teardown::start(conn, paths, id, false).finish(conn, paths)
}

/// Disconnects the container from one network (`hull network disconnect`).
pub fn disconnect(conn: &Connection, paths: &Paths, id: &str, network: &str) -> Result<()> {
    let net = super::lookup(conn, network)?;
    let l = lease::of_container(conn, id)?
        .into_iter()
        .find(|l| l.network == net.name)
        .ok_or_else(|| ep_err(id, format!("is not connected to network {}", net.name)))?;
    if let Ok(mut h) = HostNet::current() {
        let _ = h.nl.delete_link_named(&l.host_veth);
    }
    lease::release(conn, &net.name, id)?;
    if !net.is_default() {
        host::write_records(conn, paths, &net)?;
    }
    Ok(())
}

/// Connects a running container to one more network (`hull network connect`).
pub fn connect_one(
    conn: &Connection,
    paths: &Paths,
    id: &str,
    name: &str,
    network: &str,
    ip: Option<Ipv4Addr>,
    ip6: Option<Ipv6Addr>,
) -> Result<Lease> {
    let ns = netns_path(paths, id);
    if !netns::is_pinned(&ns) {
        return Err(ep_err(
            id,
            "has no network namespace of hull's (not running, or --network none/host/container)",
        ));
    }
    let net = super::lookup(conn, network)?;
    let held = lease::of_container(conn, id)?;
    if held.iter().any(|l| l.network == net.name) {
        return Err(ep_err(
            id,
            format!("is already connected to network {}", net.name),
        ));
    }
    let n = held.len();
    let l = lease::allocate(
        conn,
        &net,
        &LeaseRequest {
            container: id,
            name,
            ifname: &format!("eth{n}"),
            ip,
            ip6,
            mac: None,
            aliases: &[],
        },
    )?;
    if let Err(e) = attach(paths, &net, &ns, &l, n == 0) {
        let _ = lease::release(conn, &net.name, id);
        return Err(ep_err(id, e));
    }
    if !net.is_default() {
        host::write_records(conn, paths, &net)?;
        host::ensure_dns(paths, &net)?;
    }
    Ok(l)
}
