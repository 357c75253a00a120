//! Leases: which container holds which address on which network. Allocation reads the used
//! set and inserts the new lease in one IMMEDIATE transaction, so concurrent `hull run`s
//! serialise on the database's write lock and never share an address.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use hull_net::ipam;
use rusqlite::{params, Connection, OptionalExtension};

use super::{Network, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub network: String,
    pub ip: Ipv4Addr,
    pub container: String,
    /// The container's name when the lease was made (for DNS and inspect).
    pub name: String,
    pub ifname: String,
    pub mac: [u8; 6],
    pub host_veth: String,
    /// Extra DNS names (--network-alias, the hostname).
    pub aliases: Vec<String>,
}

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
    })
}

/// What a container asks of a network.
pub struct LeaseRequest<'a> {
    pub container: &'a str,
    pub name: &'a str,
    pub ifname: &'a str,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<[u8; 6]>,
    pub aliases: &'a [String],
}

/// Takes an address on `net` for the container (its existing lease when it has one).
pub fn allocate(conn: &Connection, net: &Network, req: &LeaseRequest<'_>) -> Result<Lease> {
    super::immediate(conn, |tx| allocate_locked(tx, net, req))
}

fn allocate_locked(tx: &Connection, net: &Network, req: &LeaseRequest<'_>) -> Result<Lease> {
    let existing = {
        let mut st = tx.prepare("SELECT * FROM leases WHERE network = ?1 AND container = ?2")?;
        let v: Vec<Lease> = st
            .query_map(params![net.name, req.container], row)?
            .collect::<rusqlite::Result<_>>()?;
        v
    };
    if let Some(l) = existing.into_iter().next() {
        return Ok(l);
    }
    let used: BTreeSet<Ipv4Addr> = {
        let mut st = tx.prepare("SELECT ip FROM leases WHERE network = ?1")?;
        let v = st
            .query_map([&net.name], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok()?.parse().ok())
            .collect();
        v
    };
    let last: Option<Ipv4Addr> = tx
        .query_row(
            "SELECT last FROM ipam_cursors WHERE network = ?1",
            [&net.name],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|s| s.parse().ok());
    let ip = ipam::allocate(&net.subnet, net.gateway, &used, req.ip, last)?;
    if req.ip.is_none() {
        tx.execute(
            "INSERT OR REPLACE INTO ipam_cursors (network, last) VALUES (?1, ?2)",
            params![net.name, ip.to_string()],
        )?;
    }
    let mac = req.mac.unwrap_or_else(|| ipam::mac_from_ip(ip));
    let lease = Lease {
        network: net.name.clone(),
        ip,
        container: req.container.into(),
        name: req.name.into(),
        ifname: req.ifname.into(),
        mac,
        host_veth: hull_net::bridge::host_veth_name(&net.bridge, ip),
        aliases: req.aliases.to_vec(),
    };
    tx.execute(
        "INSERT INTO leases (network, ip, container, name, ifname, mac, host_veth, aliases)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            lease.network,
            lease.ip.to_string(),
            lease.container,
            lease.name,
            lease.ifname,
            ipam::format_mac(&lease.mac),
            lease.host_veth,
            lease.aliases.join(" "),
        ],
    )?;
    Ok(lease)
}

pub fn release(conn: &Connection, network: &str, container: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM leases WHERE network = ?1 AND container = ?2",
        params![network, container],
    )?;
    Ok(())
}

pub fn of_container(conn: &Connection, container: &str) -> Result<Vec<Lease>> {
    super::ensure_schema(conn)?;
    let mut st = conn.prepare("SELECT * FROM leases WHERE container = ?1 ORDER BY ifname")?;
    let v = st
        .query_map([container], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn of_network(conn: &Connection, network: &str) -> Result<Vec<Lease>> {
    super::ensure_schema(conn)?;
    let mut st = conn.prepare("SELECT * FROM leases WHERE network = ?1 ORDER BY ip")?;
    let v = st
        .query_map([network], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn all(conn: &Connection) -> Result<Vec<Lease>> {
    super::ensure_schema(conn)?;
    let mut st = conn.prepare("SELECT * FROM leases ORDER BY network, ip")?;
    let v = st.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The names of the containers holding leases on `network`.
pub fn container_names(conn: &Connection, network: &str) -> Result<Vec<String>> {
    Ok(of_network(conn, network)?
        .into_iter()
        .map(|l| l.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> Network {
        Network {
            id: "f".repeat(64),
            name: "n".into(),
            bridge: "br-test".into(),
            subnet: "10.230.0.0/24".parse().unwrap(),
            gateway: Ipv4Addr::new(10, 230, 0, 1),
            internal: false,
            mtu: None,
            created: String::new(),
            labels: Default::default(),
        }
    }

    #[test]
    fn fifty_concurrent_allocations_get_distinct_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hull.db");
        let conn = crate::state::open(&db).unwrap();
        super::super::ensure_schema(&conn).unwrap();
        conn.execute(
            "INSERT INTO networks (name, id, bridge, subnet, gateway, internal, mtu, created, labels)
             VALUES ('n', ?1, 'br-test', '10.230.0.0/24', '10.230.0.1', 0, NULL, '', '{}')",
            [&"f".repeat(64)],
        )
        .unwrap();
        let threads: Vec<_> = (0..50)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let c = crate::state::open(&db).unwrap();
                    let id = format!("{i:064x}");
                    let req = LeaseRequest {
                        container: &id,
                        name: &id,
                        ifname: "eth0",
                        ip: None,
                        mac: None,
                        aliases: &[],
                    };
                    let l = allocate(&c, &net(), &req).unwrap();
                    // Asking again returns the same lease.
                    assert_eq!(allocate(&c, &net(), &req).unwrap(), l);
                    l.ip
                })
            })
            .collect();
        let ips: BTreeSet<Ipv4Addr> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(ips.len(), 50);
        assert!(!ips.contains(&Ipv4Addr::new(10, 230, 0, 1)));
        assert_eq!(of_network(&conn, "n").unwrap().len(), 50);
        // A requested address that is taken is refused; a released one is handed out again
        // once the addresses after the last one handed out are taken.
        let id = "a".repeat(64);
        let req = |ip| LeaseRequest {
            container: &id,
            name: "x",
            ifname: "eth0",
            ip,
            mac: None,
            aliases: &[],
        };
        let c = crate::state::open(&db).unwrap();
        let e = allocate(&c, &net(), &req(Some(Ipv4Addr::new(10, 230, 0, 2)))).unwrap_err();
        assert_eq!(e.to_string(), "address 10.230.0.2 is already in use");
        release(&c, "n", &format!("{:064x}", 0)).unwrap();
        let last = *ips.iter().max().unwrap();
        let next = Ipv4Addr::from(u32::from(last) + 1);
        assert_eq!(allocate(&c, &net(), &req(None)).unwrap().ip, next);
    }
}
