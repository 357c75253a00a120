//! Leases: which container holds which address on which network. Allocation reads the used
//! set and inserts the new lease in one IMMEDIATE transaction, so concurrent `hull run`s
//! serialise on the database's write lock and never share an address.

use std::net::{Ipv4Addr, Ipv6Addr};

use hull_net::ipam;
use rusqlite::Connection;

use super::{Network, NetworkError, Result};
use crate::state::leases;

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
    /// The IPv6 address, on a network with IPv6.
    pub ip6: Option<Ipv6Addr>,
}

/// What a container asks of a network.
pub struct LeaseRequest<'a> {
    pub container: &'a str,
    pub name: &'a str,
    pub ifname: &'a str,
    pub ip: Option<Ipv4Addr>,
    /// `--ip6`: ignored on a network with an IPv6 subnet but without `--ipv6`, as docker
    /// ignores it; refused on one without an IPv6 subnet ([`check_ip6`]).
    pub ip6: Option<Ipv6Addr>,
    pub mac: Option<[u8; 6]>,
    pub aliases: &'a [String],
}

/// `--ip6 ADDR` on `net`: refused, with docker's words, where docker refuses it (the
/// default network; a network without an IPv6 subnet). Checked before anything is made.
pub fn check_ip6(net: &Network, ip6: Option<Ipv6Addr>) -> Result<()> {
    if ip6.is_none() {
        return Ok(());
    }
    let why = if net.is_default() {
        "user specified IP address is supported on user defined networks only"
    } else if net.subnet6.is_none() {
        "user specified IP address is supported only when connecting to networks with user configured subnets"
    } else {
        return Ok(());
    };
    Err(NetworkError::Endpoint(
        format!("--ip6 on network {}", net.name),
        why.into(),
    ))
}

/// Takes an address on `net` for the container (its existing lease when it has one).
pub fn allocate(conn: &Connection, net: &Network, req: &LeaseRequest<'_>) -> Result<Lease> {
    super::immediate(conn, |tx| allocate_locked(tx, net, req))
}

fn allocate_locked(tx: &Connection, net: &Network, req: &LeaseRequest<'_>) -> Result<Lease> {
    if let Some(l) = leases::find(tx, &net.name, req.container)? {
        return Ok(l);
    }
    let used = leases::used_ips(tx, &net.name)?;
    let last = leases::cursor(tx, &net.name)?;
    let ip = ipam::allocate(&net.subnet, net.gateway, &used, req.ip, last)?;
    if req.ip.is_none() {
        leases::set_cursor(tx, &net.name, ip)?;
    }
    check_ip6(net, req.ip6)?;
    let ip6 = match net.v6() {
        Some((subnet6, gw6)) => {
            let used = leases::used_ips6(tx, &net.name)?;
            let last = leases::cursor6(tx, &net.name)?;
            let ip6 = ipam::allocate6(&subnet6, gw6, &used, req.ip6, last)?;
            if req.ip6.is_none() {
                leases::set_cursor6(tx, &net.name, ip6)?;
            }
            Some(ip6)
        }
        None => None,
    };
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
        ip6,
    };
    leases::insert(tx, &lease)?;
    Ok(lease)
}

pub use leases::{all, of_container, of_network, release};

/// The names of the containers holding leases on `network`.
pub fn container_names(conn: &Connection, network: &str) -> Result<Vec<String>> {
    Ok(of_network(conn, network)?
        .into_iter()
        .map(|l| l.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

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
            ipv6: false,
            subnet6: None,
            gateway6: None,
        }
    }

    #[test]
    fn a_dual_stack_network_leases_ipv6_addresses_and_refuses_ip6_where_docker_does() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::state::open(&dir.path().join("hull.db")).unwrap();
        let mut n = net();
        n.ipv6 = true;
        n.subnet6 = Some("fd00:9::/64".parse().unwrap());
        crate::state::networks::insert(&conn, &n).unwrap();
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let req = |id: &'static str, ip6| LeaseRequest {
            container: id,
            name: id,
            ifname: "eth0",
            ip: None,
            ip6,
            mac: None,
            aliases: &[],
        };
        let l1 = allocate(&conn, &n, &req("c1", None)).unwrap();
        assert_eq!(l1.ip6, Some(a("fd00:9::2")), "the gateway ::1 is skipped");
        let l2 = allocate(&conn, &n, &req("c2", Some(a("fd00:9::99")))).unwrap();
        assert_eq!(l2.ip6, Some(a("fd00:9::99")));
        // A chosen address does not move the cursor; the stored lease reads back whole.
        let l3 = allocate(&conn, &n, &req("c3", None)).unwrap();
        assert_eq!(l3.ip6, Some(a("fd00:9::3")));
        assert_eq!(of_container(&conn, "c2").unwrap(), vec![l2]);
        let e = allocate(&conn, &n, &req("c4", Some(a("fd00:9::99")))).unwrap_err();
        assert_eq!(e.to_string(), "address fd00:9::99 is already in use");
        // The IPv4 cursor and the IPv6 one are kept apart.
        assert_eq!(l3.ip, Ipv4Addr::new(10, 230, 0, 4));
        // --ip6 on a network without an IPv6 subnet, and on the default one: docker's words.
        let v4only = net();
        let e = check_ip6(&v4only, Some(a("fd00:9::5")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("networks with user configured subnets"), "{e}");
        let mut default = net();
        default.name = crate::network::DEFAULT.into();
        let e = check_ip6(&default, Some(a("fd00:9::5")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("user defined networks only"), "{e}");
        // An IPv6 subnet without --ipv6: --ip6 is taken and no address is given.
        let mut off = net();
        off.name = "off".into();
        off.bridge = "br-off".into();
        off.id = "e".repeat(64);
        off.subnet = "10.231.0.0/24".parse().unwrap();
        off.gateway = Ipv4Addr::new(10, 231, 0, 1);
        off.subnet6 = Some("fd00:a::/64".parse().unwrap());
        crate::state::networks::insert(&conn, &off).unwrap();
        let l = allocate(&conn, &off, &req("c5", Some(a("fd00:a::5")))).unwrap();
        assert_eq!(l.ip6, None);
        assert_eq!(
            crate::network::get(&conn, "n").unwrap().unwrap().v6(),
            Some(("fd00:9::/64".parse().unwrap(), a("fd00:9::1")))
        );
    }

    #[test]
    fn fifty_concurrent_allocations_get_distinct_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hull.db");
        let conn = crate::state::open(&db).unwrap();
        crate::state::networks::insert(&conn, &net()).unwrap();
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
                        ip6: None,
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
            ip6: None,
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
