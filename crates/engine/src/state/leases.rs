//! The `leases` table (which container holds which address on which network; the model is
//! `network::lease::Lease`) and `ipam_cursors` (the last address each network handed out, so
//! a released one is not handed out again at once).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use hull_net::ipam;
use rusqlite::{params, Connection, OptionalExtension};

use crate::network::lease::Lease;
use crate::network::Result;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lease> {
    let ip: String = r.get("ip")?;
    let mac: String = r.get("mac")?;
    let aliases: String = r.get("aliases")?;
    Ok(Lease {
        network: r.get("network")?,
        ip: ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        container: r.get("container")?,
        name: r.get("name")?,
        ifname: r.get("ifname")?,
        mac: ipam::parse_mac(&mac).unwrap_or([0; 6]),
        host_veth: r.get("host_veth")?,
        aliases: aliases.split_whitespace().map(String::from).collect(),
        ip6: r
            .get::<_, Option<String>>("ip6")?
            .and_then(|s| s.parse().ok()),
    })
}

/// The container's lease on `network`, if it has one.
pub fn find(conn: &Connection, network: &str, container: &str) -> Result<Option<Lease>> {
    let mut st = conn.prepare("SELECT * FROM leases WHERE network = ?1 AND container = ?2")?;
    let v: Vec<Lease> = st
        .query_map(params![network, container], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v.into_iter().next())
}

/// The addresses leased on `network`.
pub fn used_ips(conn: &Connection, network: &str) -> Result<BTreeSet<Ipv4Addr>> {
    let mut st = conn.prepare("SELECT ip FROM leases WHERE network = ?1")?;
    let v = st
        .query_map([network], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok()?.parse().ok())
        .collect();
    Ok(v)
}

/// The IPv6 addresses leased on `network`.
pub fn used_ips6(conn: &Connection, network: &str) -> Result<BTreeSet<Ipv6Addr>> {
    let mut st = conn.prepare("SELECT ip6 FROM leases WHERE network = ?1 AND ip6 IS NOT NULL")?;
    let v = st
        .query_map([network], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok()?.parse().ok())
        .collect();
    Ok(v)
}

/// The last IPv6 address `network` handed out by itself.
pub fn cursor6(conn: &Connection, network: &str) -> Result<Option<Ipv6Addr>> {
    Ok(conn
        .query_row(
            "SELECT last6 FROM ipam_cursors WHERE network = ?1",
            [network],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten()
        .and_then(|s| s.parse().ok()))
}

pub fn set_cursor6(conn: &Connection, network: &str, ip: Ipv6Addr) -> Result<()> {
    conn.execute(
        "INSERT INTO ipam_cursors (network, last, last6) VALUES (?1, '', ?2)
         ON CONFLICT (network) DO UPDATE SET last6 = excluded.last6",
        params![network, ip.to_string()],
    )?;
    Ok(())
}

/// The last address `network` handed out by itself.
pub fn cursor(conn: &Connection, network: &str) -> Result<Option<Ipv4Addr>> {
    Ok(conn
        .query_row(
            "SELECT last FROM ipam_cursors WHERE network = ?1",
            [network],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|s| s.parse().ok()))
}

pub fn set_cursor(conn: &Connection, network: &str, ip: Ipv4Addr) -> Result<()> {
    conn.execute(
        "INSERT INTO ipam_cursors (network, last) VALUES (?1, ?2)
         ON CONFLICT (network) DO UPDATE SET last = excluded.last",
        params![network, ip.to_string()],
    )?;
    Ok(())
}

/// Stores a new lease (an address taken twice on one network is a constraint error).
pub fn insert(conn: &Connection, lease: &Lease) -> Result<()> {
    conn.execute(
        "INSERT INTO leases (network, ip, container, name, ifname, mac, host_veth, aliases, ip6)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            lease.network,
            lease.ip.to_string(),
            lease.container,
            lease.name,
            lease.ifname,
            ipam::format_mac(&lease.mac),
            lease.host_veth,
            lease.aliases.join(" "),
            lease.ip6.map(|ip| ip.to_string()),
        ],
    )?;
    Ok(())
}

pub fn release(conn: &Connection, network: &str, container: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM leases WHERE network = ?1 AND container = ?2",
        params![network, container],
    )?;
    Ok(())
}

/// A container's leases, through `leases_container` (schema v4).
pub(crate) const OF_CONTAINER: &str = "SELECT * FROM leases WHERE container = ?1 ORDER BY ifname";

pub fn of_container(conn: &Connection, container: &str) -> Result<Vec<Lease>> {
    let mut st = conn.prepare(OF_CONTAINER)?;
    let v = st
        .query_map([container], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn of_network(conn: &Connection, network: &str) -> Result<Vec<Lease>> {
    let mut st = conn.prepare("SELECT * FROM leases WHERE network = ?1 ORDER BY ip")?;
    let v = st
        .query_map([network], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn all(conn: &Connection) -> Result<Vec<Lease>> {
    let mut st = conn.prepare("SELECT * FROM leases ORDER BY network, ip")?;
    let v = st.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(v)
}
