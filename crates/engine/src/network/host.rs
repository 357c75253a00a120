//! A network on the host: its bridge, its rules in hull's nftables table, and (user-created
//! networks) the DNS responder on its gateway with the records file it answers from.
//!
//! Names that must be unique on the host (the nft table, the default bridge) carry a tag
//! of the runroot when it is not the default /run/hull, so hull instances with their own
//! roots (tests) never rewrite each other's rules.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hull_net::bridge::HostNet;
use hull_net::driver::NetworkDriver;
use hull_net::firewall::{FirewallDriver, Nftables, StateFile};
use hull_net::ipam::Subnet;
use hull_net::netlink::Netlink;
use hull_net::proc::HostLock;
use rusqlite::Connection;

use super::{lease, Network, NetworkError, Result};
use crate::Paths;

const DEFAULT_RUNROOT: &str = "/run/hull";

fn tag(paths: &Paths) -> Option<String> {
    if paths.runroot == Path::new(DEFAULT_RUNROOT) {
        return None;
    }
    let mut h: u32 = 0x811c9dc5;
    for b in paths.runroot.as_os_str().as_encoded_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x01000193);
    }
    Some(format!("{:06x}", h & 0xff_ffff))
}

/// `hull0`, or `hull0-TAG` for another runroot.
pub fn default_bridge(paths: &Paths) -> String {
    match tag(paths) {
        None => "hull0".into(),
        Some(t) => format!("hull0-{t}"),
    }
}

/// `inet hull`, or `inet hull-TAG` for another runroot.
pub fn table(paths: &Paths) -> String {
    match tag(paths) {
        None => "hull".into(),
        Some(t) => format!("hull-{t}"),
    }
}

pub fn firewall(paths: &Paths) -> Nftables {
    Nftables::new(
        &table(paths),
        StateFile::new(super::run_dir(paths).join("firewall.json")),
        None,
    )
}

fn host_err(n: &str, e: impl std::fmt::Display) -> NetworkError {
    NetworkError::Host {
        name: n.into(),
        msg: e.to_string(),
    }
}

/// Host-wide: choosing a subnet and making its bridge happen under it.
pub fn lock() -> Result<HostLock> {
    HostLock::acquire(Path::new("/run/lock/hull-network.lock")).map_err(|e| host_err("lock", e))
}

/// The host's routed subnets (the default route left out).
pub fn routed_subnets() -> Result<Vec<Subnet>> {
    let mut nl = Netlink::new().map_err(|e| host_err("routes", e))?;
    let routes = nl.routes().map_err(|e| host_err("routes", e))?;
    Ok(hull_net::ipam::routed_subnets(&routes))
}

/// What a subnet hull chooses must not overlap, read again at each network creation: the
/// host's routes (its own networks, docker's bridges, a VPN...), the default networks
/// docker and podman take when they start, and podman's defined networks (whose bridges
/// exist only while in use).
pub fn foreign_subnets() -> Result<Vec<Subnet>> {
    let mut v = routed_subnets()?;
    v.extend(hull_net::ipam::other_engine_defaults());
    v.extend(hull_net::ipam::podman_subnets(Path::new(
        "/etc/containers/networks",
    )));
    Ok(v)
}

/// The driver of network `n` (chosen by its driver's name), over the host's namespace and
/// hull's firewall `fw`.
pub fn driver<'a>(n: &Network, fw: &'a Nftables) -> Result<Box<dyn NetworkDriver + 'a>> {
    let host = HostNet::current().map_err(|e| host_err(&n.name, e))?;
    hull_net::driver::for_name(n.driver(), host, fw).map_err(|e| host_err(&n.name, e))
}

/// The network made usable on the host (a bridge: with its gateway address, firewall rules,
/// forwarding on). Idempotent.
pub fn up(paths: &Paths, n: &Network) -> Result<()> {
    let fw = firewall(paths);
    let mut d = driver(n, &fw)?;
    d.create_network(&n.spec())
        .map_err(|e| host_err(&n.name, e))
}

/// Stops the responder, removes the network from the host (rules and bridge); every failure
/// is returned.
pub fn down(paths: &Paths, n: &Network) -> Vec<String> {
    let mut errs = Vec::new();
    let dir = net_dir(paths, &n.name);
    if let Err(e) = hull_net::proc::stop(&dir.join("dns.pid"), &dns_marker(&n.name)) {
        errs.push(format!("stop dns responder: {e}"));
    }
    let fw = firewall(paths);
    match driver(n, &fw) {
        Ok(mut d) => errs.extend(d.remove_network(&n.spec()).iter().map(|e| e.to_string())),
        Err(e) => errs.push(e.to_string()),
    }
    let _ = std::fs::remove_dir_all(&dir);
    errs
}

/// Re-applies hull's rules (after `nft flush ruleset`): every network with endpoints is
/// brought up again, then the persisted ports.
pub fn reload(conn: &Connection, paths: &Paths) -> Result<()> {
    for n in super::list(conn)? {
        if !lease::of_network(conn, &n.name)?.is_empty() {
            up(paths, &n)?;
        }
    }
    firewall(paths).reload().map_err(|e| host_err("reload", e))
}

/// `<runroot>/network/bridges/<bridge>`: the claim on a bridge, written before the bridge,
/// its route and its rules are made and removed after they are gone. A `kill -9` of
/// `network create` (whose row then rolls back) or `network rm` (whose row is gone first)
/// leaves the claim: `system check` finds there, and only there, what is ours to remove;
/// another engine's (or another root's) bridges never have a claim of ours.
fn claim_path(paths: &Paths, bridge: &str) -> PathBuf {
    super::run_dir(paths).join("bridges").join(bridge)
}

/// Claims `n`'s bridge (see `claim_path`).
pub fn claim(paths: &Paths, n: &Network) -> Result<()> {
    let p = claim_path(paths, &n.bridge);
    let body = serde_json::json!({
        "name": n.name,
        "bridge": n.bridge,
        "subnet": n.subnet.to_string(),
        "gateway": n.gateway.to_string(),
        "internal": n.internal,
    });
    let dir = p.parent().expect("claim has a parent");
    std::fs::create_dir_all(dir)
        .map_err(|e| host_err(&n.name, format!("{}: {e}", dir.display())))?;
    std::fs::write(&p, body.to_string())
        .map_err(|e| host_err(&n.name, format!("{}: {e}", p.display())))
}

/// Drops the claim once the bridge and its rules are gone.
pub fn release_claim(paths: &Paths, bridge: &str) {
    let _ = std::fs::remove_file(claim_path(paths, bridge));
}

/// Every claimed bridge, as the network that claimed it.
pub fn claims(paths: &Paths) -> Vec<Network> {
    let dir = super::run_dir(paths).join("bridges");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            Some(Network {
                id: String::new(),
                name: v["name"].as_str()?.to_string(),
                bridge: v["bridge"].as_str()?.to_string(),
                subnet: v["subnet"].as_str()?.parse().ok()?,
                gateway: v["gateway"].as_str()?.parse().ok()?,
                internal: v["internal"].as_bool().unwrap_or(false),
                mtu: None,
                created: String::new(),
                labels: Default::default(),
                ipv6: false,
                subnet6: None,
                gateway6: None,
            })
        })
        .collect()
}

/// `<runroot>/network/<name>`.
pub fn net_dir(paths: &Paths, name: &str) -> PathBuf {
    super::run_dir(paths).join(name)
}

fn dns_marker(name: &str) -> String {
    format!("dns-serve {name}")
}

/// The records file the responder answers from: every lease of the network, by container
/// name, short id and aliases. Written whole and renamed into place.
pub fn write_records(conn: &Connection, paths: &Paths, n: &Network) -> Result<()> {
    let dir = net_dir(paths, &n.name);
    std::fs::create_dir_all(&dir).map_err(|e| host_err(&n.name, e))?;
    // Concurrent runs each rewrite the file: one at a time, so the last one written is
    // read from the leases after every other's change.
    let _lock = HostLock::acquire(&dir.join("records.lock")).map_err(|e| host_err(&n.name, e))?;
    let mut s = String::new();
    for l in lease::of_network(conn, &n.name)? {
        let short = &l.container[..l.container.len().min(12)];
        // The full id as the line's comment: not a name (64 characters are no DNS label),
        // but what the responder's trace names a client by. An IPv6 address is a line of
        // its own (the responder's AAAA answers).
        let ip6 = l.ip6.filter(|_| n.v6().is_some());
        for ip in std::iter::once(std::net::IpAddr::V4(l.ip)).chain(ip6.map(Into::into)) {
            s.push_str(&format!(
                "{}\t{} {} {} # {}\n",
                ip,
                l.name,
                short,
                l.aliases.join(" "),
                l.container
            ));
        }
    }
    let tmp = dir.join(format!("hosts.{}", std::process::id()));
    std::fs::write(&tmp, s).map_err(|e| host_err(&n.name, e))?;
    std::fs::rename(&tmp, dir.join("hosts")).map_err(|e| host_err(&n.name, e))
}

/// Starts the network's DNS responder (`hull network dns-serve NAME`) unless it runs.
pub fn ensure_dns(paths: &Paths, n: &Network) -> Result<()> {
    let dir = net_dir(paths, &n.name);
    let pidfile = dir.join("dns.pid");
    let marker = dns_marker(&n.name);
    let _lock = HostLock::acquire(&dir.join("dns.lock")).map_err(|e| host_err(&n.name, e))?;
    if hull_net::proc::live_pid(&pidfile, &marker).is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| host_err(&n.name, e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(&paths.root)
        .arg("--runroot")
        .arg(&paths.runroot)
        // Traced, the responder writes to where we write (it outlives us: not our stderr).
        .args(hull_trace::child_args())
        .args(["network", "dns-serve", &n.name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .map_err(|e| host_err(&n.name, format!("start dns responder: {e}")))?;
    crate::children::leave(child);
    // The responder writes its pid once bound: then containers can ask it.
    let end = Instant::now() + Duration::from_secs(10);
    while hull_net::proc::live_pid(&pidfile, &marker).is_none() {
        if Instant::now() > end {
            return Err(host_err(&n.name, "dns responder did not start"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// The responder itself (run by `hull network dns-serve NAME`): binds gateway:53, writes
/// its pid file, serves until killed.
pub fn serve_dns(paths: &Paths, n: &Network) -> Result<()> {
    let dir = net_dir(paths, &n.name);
    std::fs::create_dir_all(&dir).map_err(|e| host_err(&n.name, e))?;
    let sock = std::net::UdpSocket::bind((n.gateway, 53))
        .map_err(|e| host_err(&n.name, format!("bind {}:53: {e}", n.gateway)))?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let upstreams = if n.internal {
        vec![]
    } else {
        hull_net::dns::upstreams_from_resolv(&host_resolv)
    };
    let mut r = hull_net::dns::Responder::new(sock, &dir.join("hosts"), upstreams)
        .map_err(|e| host_err(&n.name, e))?;
    std::fs::write(dir.join("dns.pid"), std::process::id().to_string())
        .map_err(|e| host_err(&n.name, e))?;
    let stop = std::sync::atomic::AtomicBool::new(false);
    r.serve(&stop).map_err(|e| host_err(&n.name, e))
}

/// The address containers of `n` use as their name server.
pub fn dns_address(n: &Network) -> Option<Ipv4Addr> {
    (!n.is_default()).then_some(n.gateway)
}
