//! Address management: subnets, the gateway, the next free address, MACs from addresses.
//!
//! Pure functions: the leases live in the engine's database, which calls [`allocate`] inside
//! the same IMMEDIATE transaction that reads the used set and writes the new lease, so two
//! concurrent `hull run` never get one address.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IpamError {
    #[error("subnet {0:?}: expected A.B.C.D/N with N from 8 to 30")]
    BadSubnet(String),
    #[error("subnet {0}: host bits are set (did you mean {1}?)")]
    HostBits(String, Subnet),
    #[error("address {ip} is outside subnet {subnet}")]
    Outside { ip: Ipv4Addr, subnet: Subnet },
    #[error("address {ip} is reserved in subnet {subnet} (network, broadcast or gateway)")]
    Reserved { ip: Ipv4Addr, subnet: Subnet },
    #[error("address {0} is already in use")]
    InUse(Ipv4Addr),
    #[error("subnet {0}: no free address left")]
    Exhausted(Subnet),
    #[error("no free private subnet: every candidate overlaps a route on this host")]
    NoFreeSubnet,
}

/// An IPv4 network: address with host bits clear, and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, IpamError> {
        if !(8..=30).contains(&prefix) {
            return Err(IpamError::BadSubnet(format!("{addr}/{prefix}")));
        }
        let s = Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        };
        if s.addr != addr {
            return Err(IpamError::HostBits(format!("{addr}/{prefix}"), s));
        }
        Ok(s)
    }

    pub fn network(&self) -> u32 {
        u32::from(self.addr)
    }

    pub fn broadcast(&self) -> u32 {
        self.network() | !mask(self.prefix)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.network()
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        let p = self.prefix.min(other.prefix);
        self.network() & mask(p) == other.network() & mask(p)
    }

    /// The first host address, the default gateway.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network() + 1)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = IpamError;
    fn from_str(s: &str) -> Result<Self, IpamError> {
        let bad = || IpamError::BadSubnet(s.into());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        Subnet::new(addr, prefix)
    }
}

impl TryFrom<String> for Subnet {
    type Error = IpamError;
    fn try_from(s: String) -> Result<Self, IpamError> {
        s.parse()
    }
}

impl From<Subnet> for String {
    fn from(s: Subnet) -> String {
        s.to_string()
    }
}

/// Checks a gateway given by the user (`--gateway`): inside, and not network or broadcast.
pub fn check_gateway(subnet: &Subnet, gw: Ipv4Addr) -> Result<(), IpamError> {
    if !subnet.contains(gw) {
        return Err(IpamError::Outside {
            ip: gw,
            subnet: *subnet,
        });
    }
    let g = u32::from(gw);
    if g == subnet.network() || g == subnet.broadcast() {
        return Err(IpamError::Reserved {
            ip: gw,
            subnet: *subnet,
        });
    }
    Ok(())
}

/// Picks an address for a new endpoint: `requested` when it is free and usable, otherwise
/// the first free host address after `after` (the last address handed out on this network;
/// None or outside the subnet: from the start), wrapping around. `used` holds the addresses
/// leased so far (the gateway need not be in it).
pub fn allocate(
    subnet: &Subnet,
    gateway: Ipv4Addr,
    used: &BTreeSet<Ipv4Addr>,
    requested: Option<Ipv4Addr>,
    after: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, IpamError> {
    let usable =
        |ip: u32| ip != subnet.network() && ip != subnet.broadcast() && ip != u32::from(gateway);
    if let Some(ip) = requested {
        if !subnet.contains(ip) {
            return Err(IpamError::Outside {
                ip,
                subnet: *subnet,
            });
        }
        if !usable(u32::from(ip)) {
            return Err(IpamError::Reserved {
                ip,
                subnet: *subnet,
            });
        }
        if used.contains(&ip) {
            return Err(IpamError::InUse(ip));
        }
        return Ok(ip);
    }
    // Serially, as docker does: the first free address after the last one handed out,
    // wrapping around, so a just-released address (whose veth the kernel may still be
    // deleting) is the last to be handed out again.
    let first = subnet.network() + 1;
    let start = after
        .map(u32::from)
        .filter(|&a| subnet.contains(Ipv4Addr::from(a)))
        .map_or(first, |a| a + 1);
    (start..subnet.broadcast())
        .chain(first..start)
        .filter(|&ip| usable(ip))
        .map(Ipv4Addr::from)
        .find(|ip| !used.contains(ip))
        .ok_or(IpamError::Exhausted(*subnet))
}

/// The MAC docker derives from an IPv4 address: 02:42 then the four address bytes. Locally
/// administered, unicast, and stable for a given address, so ARP caches stay right when an
/// address is reused.
pub fn mac_from_ip(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (`--mac-address`); refuses multicast addresses.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *m = u8::from_str_radix(p, 16).ok()?;
    }
    (mac[0] & 1 == 0).then_some(mac)
}

/// Chooses a subnet for a new network among `candidates`, skipping any that overlaps a
/// route of the host (`routed`, e.g. from [`crate::netlink::Netlink::routes`], default route
/// excluded) or a subnet already taken by another hull network.
pub fn choose_subnet(
    candidates: impl IntoIterator<Item = Subnet>,
    routed: &[Subnet],
    taken: &[Subnet],
) -> Result<Subnet, IpamError> {
    candidates
        .into_iter()
        .find(|c| !routed.iter().chain(taken).any(|r| r.overlaps(c)))
        .ok_or(IpamError::NoFreeSubnet)
}

/// Docker's order of default pools: 172.17.0.0/16 .. 172.31.0.0/16, then
/// 192.168.0.0/20 steps, as /16 for the default network and /24 for user networks.
pub fn default_candidates(prefix: u8) -> Vec<Subnet> {
    let mut v = Vec::new();
    if prefix == 16 {
        for b in 17..=31u8 {
            v.push(Subnet::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("valid"));
        }
        for c in (0..=240u8).step_by(16) {
            v.push(Subnet::new(Ipv4Addr::new(192, 168, c, 0), 20).expect("valid"));
        }
    } else {
        for b in 17..=31u8 {
            for c in 0..=255u8 {
                v.push(Subnet::new(Ipv4Addr::new(172, b, c, 0), 24).expect("valid"));
            }
        }
    }
    v
}

/// The subnets other engines take for their default networks when they start, whether or
/// not their bridge is up now: docker's docker0 (172.17.0.0/16) and podman's `podman`
/// network (10.88.0.0/16). hull never chooses them by itself.
pub fn other_engine_defaults() -> [Subnet; 2] {
    [
        Subnet::new(Ipv4Addr::new(172, 17, 0, 0), 16).expect("valid"),
        Subnet::new(Ipv4Addr::new(10, 88, 0, 0), 16).expect("valid"),
    ]
}

/// The subnets of podman's networks, from the JSON files netavark's networks are defined in
/// (`/etc/containers/networks/NAME.json`: `"subnets": [{"subnet": "10.89.0.0/24"}]`).
/// podman makes a network's bridge only when a container uses it, so the host's routes do
/// not show an idle one. Unreadable files and IPv6 subnets are left out.
pub fn podman_subnets(dir: &std::path::Path) -> Vec<Subnet> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for sn in v["subnets"].as_array().into_iter().flatten() {
            if let Some(Ok(s)) = sn["subnet"].as_str().map(str::parse::<Subnet>) {
                out.push(s);
            }
        }
    }
    out
}

/// The host's routes as subnets (the default route and host routes left out).
pub fn routed_subnets(routes: &[crate::netlink::Route]) -> Vec<Subnet> {
    routes
        .iter()
        .filter(|r| r.prefix > 0)
        .map(|r| Subnet {
            addr: Ipv4Addr::from(u32::from(r.dst) & mask(r.prefix)),
            prefix: r.prefix,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Subnet {
        x.parse().unwrap()
    }

    #[test]
    fn parse_and_reject() {
        assert_eq!(s("10.1.0.0/16").to_string(), "10.1.0.0/16");
        assert!(matches!(
            "10.1.0.1/16".parse::<Subnet>(),
            Err(IpamError::HostBits(..))
        ));
        assert!(matches!(
            "10.1.0.0/31".parse::<Subnet>(),
            Err(IpamError::BadSubnet(_))
        ));
        assert!(matches!(
            "10.1.0.0".parse::<Subnet>(),
            Err(IpamError::BadSubnet(_))
        ));
        assert!(matches!(
            "x/8".parse::<Subnet>(),
            Err(IpamError::BadSubnet(_))
        ));
        let j = serde_json::to_string(&s("10.2.0.0/24")).unwrap();
        assert_eq!(j, "\"10.2.0.0/24\"");
        assert_eq!(
            serde_json::from_str::<Subnet>(&j).unwrap(),
            s("10.2.0.0/24")
        );
    }

    #[test]
    fn allocates_lowest_free_skipping_gateway() {
        let sn = s("10.9.0.0/29"); // hosts .1 - .6
        let gw = sn.first_host();
        let mut used = BTreeSet::new();
        let mut got = vec![];
        while let Ok(ip) = allocate(&sn, gw, &used, None, None) {
            used.insert(ip);
            got.push(ip.octets()[3]);
        }
        assert_eq!(got, vec![2, 3, 4, 5, 6]);
        assert_eq!(
            allocate(&sn, gw, &used, None, None),
            Err(IpamError::Exhausted(sn))
        );
        used.remove(&Ipv4Addr::new(10, 9, 0, 4));
        assert_eq!(
            allocate(&sn, gw, &used, None, None),
            Ok(Ipv4Addr::new(10, 9, 0, 4))
        );
    }

    #[test]
    fn allocates_serially_after_the_last_address_and_wraps() {
        let sn = s("10.9.0.0/29"); // hosts .1 - .6, gateway .1
        let gw = sn.first_host();
        let a = |n| Ipv4Addr::new(10, 9, 0, n);
        let used: BTreeSet<_> = [a(2), a(5)].into();
        // The address after the last one, skipping used ones.
        assert_eq!(allocate(&sn, gw, &used, None, Some(a(3))), Ok(a(4)));
        assert_eq!(allocate(&sn, gw, &used, None, Some(a(4))), Ok(a(6)));
        // Past the end it wraps, skipping the gateway and what is used.
        assert_eq!(allocate(&sn, gw, &used, None, Some(a(6))), Ok(a(3)));
        // A just-released address comes last: .3 is free but .4 follows the cursor.
        assert_eq!(allocate(&sn, gw, &used, None, Some(a(3))), Ok(a(4)));
        // A cursor outside the subnet (the network was made again) starts over.
        assert_eq!(
            allocate(&sn, gw, &used, None, Some(Ipv4Addr::new(10, 8, 0, 9))),
            Ok(a(3))
        );
        let full: BTreeSet<_> = (2..=6).map(a).collect();
        assert_eq!(
            allocate(&sn, gw, &full, None, Some(a(4))),
            Err(IpamError::Exhausted(sn))
        );
        // A requested address ignores the cursor.
        assert_eq!(allocate(&sn, gw, &used, Some(a(3)), Some(a(4))), Ok(a(3)));
    }

    #[test]
    fn requested_address_is_checked() {
        let sn = s("10.9.0.0/24");
        let gw = Ipv4Addr::new(10, 9, 0, 254);
        let used: BTreeSet<_> = [Ipv4Addr::new(10, 9, 0, 7)].into();
        assert_eq!(
            allocate(&sn, gw, &used, None, None),
            Ok(Ipv4Addr::new(10, 9, 0, 1))
        );
        let r = |ip| allocate(&sn, gw, &used, Some(ip), None);
        assert_eq!(
            r(Ipv4Addr::new(10, 9, 0, 9)),
            Ok(Ipv4Addr::new(10, 9, 0, 9))
        );
        assert_eq!(
            r(Ipv4Addr::new(10, 9, 0, 7)),
            Err(IpamError::InUse(Ipv4Addr::new(10, 9, 0, 7)))
        );
        assert!(matches!(r(gw), Err(IpamError::Reserved { .. })));
        assert!(matches!(
            r(Ipv4Addr::new(10, 9, 0, 255)),
            Err(IpamError::Reserved { .. })
        ));
        assert!(matches!(
            r(Ipv4Addr::new(10, 9, 1, 1)),
            Err(IpamError::Outside { .. })
        ));
        assert!(check_gateway(&sn, Ipv4Addr::new(10, 9, 0, 0)).is_err());
        assert!(check_gateway(&sn, gw).is_ok());
    }

    #[test]
    fn subnet_choice_avoids_routes_and_taken() {
        let routed = vec![s("172.17.0.0/16"), s("172.18.5.0/24")];
        let taken = vec![s("172.19.0.0/16")];
        let got = choose_subnet(default_candidates(16), &routed, &taken).unwrap();
        assert_eq!(got, s("172.20.0.0/16"));
        let got = choose_subnet(default_candidates(24), &routed, &taken).unwrap();
        assert_eq!(got, s("172.18.0.0/24"));
        let all = vec![
            Subnet {
                addr: Ipv4Addr::new(0, 0, 0, 0),
                prefix: 1,
            },
            Subnet {
                addr: Ipv4Addr::new(128, 0, 0, 0),
                prefix: 1,
            },
        ];
        assert_eq!(
            choose_subnet(default_candidates(16), &all, &[]),
            Err(IpamError::NoFreeSubnet)
        );
    }

    #[test]
    fn other_engines_subnets_are_avoided() {
        let dir = std::env::temp_dir().join(format!("hull-ipam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("web.json"),
            r#"{"name":"web","driver":"bridge","network_interface":"podman1",
               "subnets":[{"subnet":"172.18.0.0/16","gateway":"172.18.0.1"},
                          {"subnet":"fd00::/64"}]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("broken.json"), "{").unwrap();
        std::fs::write(
            dir.join("notes.txt"),
            r#"{"subnets":[{"subnet":"10.0.0.0/8"}]}"#,
        )
        .unwrap();
        let podman = podman_subnets(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(podman, vec![s("172.18.0.0/16")]);
        let mut avoid = other_engine_defaults().to_vec();
        avoid.extend(podman);
        let got = choose_subnet(default_candidates(16), &avoid, &[]).unwrap();
        assert_eq!(
            got,
            s("172.19.0.0/16"),
            "docker's 172.17 and podman's 172.18 left"
        );
        assert!(podman_subnets(std::path::Path::new("/nonexistent")).is_empty());
    }

    #[test]
    fn macs() {
        let m = mac_from_ip(Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(format_mac(&m), "02:42:ac:11:00:02");
        assert_eq!(parse_mac("02:42:ac:11:00:02"), Some(m));
        assert_eq!(parse_mac("01:00:00:00:00:00"), None);
        assert_eq!(parse_mac("02:42:ac:11:00"), None);
        assert_eq!(parse_mac("02:42:ac:11:00:zz"), None);
    }
}
