//! `hull system check`: finds what networking left behind by a crash (a killed hull, a dead
//! monitor, a reboot of nft but not of /run) and, with `repair`, removes or re-applies it:
//! leases, published ports and pinned namespaces of containers that are not running (a pod's
//! are the pod's), veths on hull's bridges that no lease names, bridges claimed and firewall
//! state kept for networks that no longer exist (a killed `network create`/`rm`), and hull's
//! nft table when it is missing. Called by crate::check after the containers' part.

use std::collections::BTreeSet;

use hull_net::bridge::HostNet;
use hull_net::firewall::FirewallDriver;
use hull_net::netns;
use rusqlite::Connection;

use super::{endpoint, host, lease, Result};
use crate::Paths;

#[derive(Debug, Default)]
pub struct Report {
    /// One line per leftover found.
    pub found: Vec<String>,
    /// Failures while repairing.
    pub errors: Vec<String>,
}

/// Pod ids (their namespaces are pinned under the same directory).
fn pods(conn: &Connection) -> BTreeSet<String> {
    crate::state::pods::ids(conn)
        .map(|v| v.into_iter().collect())
        .unwrap_or_default()
}

/// `live`: the ids of the containers that run (crate::check reconciled them with the kernel).
pub fn check(
    conn: &Connection,
    paths: &Paths,
    live: &BTreeSet<String>,
    repair: bool,
) -> Result<Report> {
    let mut r = Report::default();
    let pods = pods(conn);

    // Leases, ports and namespaces of containers that are not running. A pod's are held in
    // the pod's name (its infra's), not a container's: the pod owns them while it exists.
    let mut owners: BTreeSet<String> = lease::all(conn)?
        .into_iter()
        .filter(|l| !live.contains(&l.container) && !pods.contains(&l.container))
        .map(|l| {
            r.found.push(format!(
                "lease {} on {} of container {} that is not running",
                l.ip,
                l.network,
                &l.container[..l.container.len().min(12)]
            ));
            l.container
        })
        .collect();
    let fw = host::firewall(paths);
    if let Ok(state) = fw.state() {
        for owner in state
            .ports
            .keys()
            .filter(|o| !live.contains(*o) && !pods.contains(*o))
        {
            r.found
                .push(format!("published ports of {owner}, which is not running"));
            owners.insert(owner.clone());
        }
    }
    for name in netns::list(&paths.runroot) {
        if !live.contains(&name) && !pods.contains(&name) && !owners.contains(&name) {
            r.found.push(format!(
                "pinned network namespace {name} without a running container"
            ));
            owners.insert(name);
        }
    }
    if repair {
        for o in &owners {
            r.errors.extend(endpoint::teardown(conn, paths, o));
        }
    }

    // Veths on hull's bridges that no lease names.
    let nets = super::list(conn)?;
    let leased: BTreeSet<String> = lease::all(conn)?.into_iter().map(|l| l.host_veth).collect();
    if let Ok(mut h) = HostNet::current() {
        let links = h.nl.links().unwrap_or_default();
        let bridges: BTreeSet<u32> = links
            .iter()
            .filter(|l| nets.iter().any(|n| n.bridge == l.name))
            .map(|l| l.index)
            .collect();
        let stray = |links: Vec<hull_net::netlink::Link>| -> Vec<hull_net::netlink::Link> {
            links
                .into_iter()
                .filter(|l| {
                    l.master.is_some_and(|m| bridges.contains(&m))
                        && l.name.starts_with("veth")
                        && !leased.contains(&l.name)
                })
                .collect()
        };
        let mut found = stray(links);
        // A container's exit leaves its veth to the kernel, which deletes it with the
        // namespace in the background: one that goes within a second was not left over.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while !found.is_empty() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let now: BTreeSet<u32> =
                h.nl.links()
                    .unwrap_or_default()
                    .iter()
                    .map(|l| l.index)
                    .collect();
            found.retain(|l| now.contains(&l.index));
        }
        for l in found {
            r.found
                .push(format!("veth {} on a hull bridge without a lease", l.name));
            if repair {
                if let Err(e) = h.nl.delete_link(l.index) {
                    r.errors.push(e.to_string());
                }
            }
        }
    }

    // Networks a killed `network create` or `network rm` left half made or half removed:
    // claimed bridges (with their route and rules) and firewall state that no network row
    // owns. Under the lock create and rm hold, so one in progress is not taken for a leftover.
    let _lock = super::host::lock()?;
    let nets = super::list(conn)?;
    let owned = |name: &str, bridge: Option<&str>| {
        nets.iter()
            .any(|n| n.name == name && bridge.is_none_or(|b| b == n.bridge))
    };
    let mut gone = BTreeSet::new();
    for n in host::claims(paths) {
        if owned(&n.name, Some(&n.bridge)) {
            continue;
        }
        r.found.push(format!(
            "bridge {} of network {} that does not exist (with its route and rules)",
            n.bridge, n.name
        ));
        gone.insert(n.name.clone());
        if repair {
            let errs = host::down(paths, &n);
            if errs.is_empty() {
                host::release_claim(paths, &n.bridge);
            }
            r.errors.extend(errs);
        }
    }
    if let Ok(state) = fw.state() {
        for name in state.networks.keys() {
            if owned(name, None) || gone.contains(name) {
                continue;
            }
            r.found.push(format!(
                "firewall rules of network {name} that does not exist"
            ));
            if repair {
                if let Err(f) = fw.remove_network(name) {
                    r.errors.extend(f.0.into_iter().map(|e| e.to_string()));
                }
            }
        }
    }

    // The rules: hull's table must be there while a network has endpoints.
    let in_use = nets
        .iter()
        .any(|n| lease::of_network(conn, &n.name).is_ok_and(|v| !v.is_empty()));
    if in_use && fw.list_table().ok().flatten().is_none() {
        r.found
            .push(format!("nft table inet {} is missing", fw.table()));
        if repair {
            if let Err(e) = host::reload(conn, paths) {
                r.errors.push(e.to_string());
            }
        }
    }
    Ok(r)
}
