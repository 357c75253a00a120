//! Address management: subnets, the gateway, the next free address, MACs from addresses.
//!
//! Pure functions: the leases live in the engine's database, which calls [`allocate`] inside
//! the same IMMEDIATE transaction that reads the used set and writes the new lease, so two
//! concurrent `hull run` never get one address.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IpamError {
    #[error("subnet {0:?}: expected A.B.C.D/N with N from 8 to 30")]
    BadSubnet(String),
    #[error("subnet {0}: host bits are set (did you mean {1}?)")]
    HostBits(String, String),
    #[error("subnet {0:?}: expected an IPv6 network ADDR/N with N from 1 to 126")]
    BadSubnet6(String),
    #[error("address {ip} is outside subnet {subnet}")]
    Outside { ip: IpAddr, subnet: String },
    #[error("address {ip} is reserved in subnet {subnet} (network, broadcast or gateway)")]
    Reserved { ip: IpAddr, subnet: String },
    #[error("address {0} is already in use")]
    InUse(IpAddr),
    #[error("subnet {0}: no free address left")]
    Exhausted(String),
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
            return Err(IpamError::HostBits(
                format!("{addr}/{prefix}"),
                s.to_string(),
            ));
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
            ip: gw.into(),
            subnet: subnet.to_string(),
        });
    }
    let g = u32::from(gw);
    if g == subnet.network() || g == subnet.broadcast() {
        return Err(IpamError::Reserved {
            ip: gw.into(),
            subnet: subnet.to_string(),
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
                ip: ip.into(),
                subnet: subnet.to_string(),
            });
        }
        if !usable(u32::from(ip)) {
            return Err(IpamError::Reserved {
                ip: ip.into(),
                subnet: subnet.to_string(),
            });
        }
        if used.contains(&ip) {
            return Err(IpamError::InUse(ip.into()));
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
        .ok_or_else(|| IpamError::Exhausted(subnet.to_string()))
}

/// An IPv6 network (`--subnet fd00:1::/64` of a dual-stack network): address with host bits
/// clear, and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet6 {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl Subnet6 {
    pub fn new(addr: Ipv6Addr, prefix: u8) -> Result<Self, IpamError> {
        if !(1..=126).contains(&prefix) {
            return Err(IpamError::BadSubnet6(format!("{addr}/{prefix}")));
        }
        let s = Subnet6 {
            addr: Ipv6Addr::from(u128::from(addr) & mask6(prefix)),
            prefix,
        };
        if s.addr != addr {
            return Err(IpamError::HostBits(
                format!("{addr}/{prefix}"),
                s.to_string(),
            ));
        }
        Ok(s)
    }

    pub fn network(&self) -> u128 {
        u128::from(self.addr)
    }

    /// The last address of the subnet.
    pub fn last(&self) -> u128 {
        self.network() | !mask6(self.prefix)
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask6(self.prefix) == self.network()
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        let p = self.prefix.min(other.prefix);
        self.network() & mask6(p) == other.network() & mask6(p)
    }

    /// The first address after the subnet-router anycast address, the default gateway.
    pub fn first_host(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.network() + 1)
    }
}

impl fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Subnet6 {
    type Err = IpamError;
    fn from_str(s: &str) -> Result<Self, IpamError> {
        let bad = || IpamError::BadSubnet6(s.into());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv6Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        Subnet6::new(addr, prefix)
    }
}

impl TryFrom<String> for Subnet6 {
    type Error = IpamError;
    fn try_from(s: String) -> Result<Self, IpamError> {
        s.parse()
    }
}

impl From<Subnet6> for String {
    fn from(s: Subnet6) -> String {
        s.to_string()
    }
}

/// Checks an IPv6 gateway given by the user: inside, and not the subnet-router anycast
/// address (the subnet's own).
pub fn check_gateway6(subnet: &Subnet6, gw: Ipv6Addr) -> Result<(), IpamError> {
    if !subnet.contains(gw) {
        return Err(IpamError::Outside {
            ip: gw.into(),
            subnet: subnet.to_string(),
        });
    }
    if u128::from(gw) == subnet.network() {
        return Err(IpamError::Reserved {
            ip: gw.into(),
            subnet: subnet.to_string(),
        });
    }
    Ok(())
}

/// [`allocate`] for an IPv6 subnet: `requested` when free and usable, else the first free
/// address after `after`, wrapping around. As docker's IPAM does for IPv6, only the
/// subnet-router anycast address (the subnet's own) and the gateway are reserved; there is
/// no broadcast.
pub fn allocate6(
    subnet: &Subnet6,
    gateway: Ipv6Addr,
    used: &BTreeSet<Ipv6Addr>,
    requested: Option<Ipv6Addr>,
    after: Option<Ipv6Addr>,
) -> Result<Ipv6Addr, IpamError> {
    let usable = |ip: u128| ip != subnet.network() && ip != u128::from(gateway);
    if let Some(ip) = requested {
        if !subnet.contains(ip) {
            return Err(IpamError::Outside {
                ip: ip.into(),
                subnet: subnet.to_string(),
            });
        }
        if !usable(u128::from(ip)) {
            return Err(IpamError::Reserved {
                ip: ip.into(),
                subnet: subnet.to_string(),
            });
        }
        if used.contains(&ip) {
            return Err(IpamError::InUse(ip.into()));
        }
        return Ok(ip);
    }
    let first = subnet.network() + 1;
    let start = after
        .filter(|a| subnet.contains(*a) && u128::from(*a) < subnet.last())
        .map_or(first, |a| u128::from(a) + 1);
    // `find` stops at the first free address: at most `used.len() + 2` steps past `start`.
    (start..=subnet.last())
        .chain(first..start)
        .filter(|&ip| usable(ip))
        .map(Ipv6Addr::from)
        .find(|ip| !used.contains(ip))
        .ok_or_else(|| IpamError::Exhausted(subnet.to_string()))
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

/// Docker's order of default pools: 172.17.0.0/16 .. 172.31.0.0/16, then 192.168.0.0/16 in
/// /20 steps, for the default network (`prefix` 16). Any longer `prefix` cuts the same
/// ranges, 172.17-31 then 192.168, into subnets of that size: /20s for the default network
/// of another runroot, /24s for user networks (so a host whose 172.16/12 is taken, by
/// docker's networks say, still has room).
pub fn default_candidates(prefix: u8) -> Vec<Subnet> {
    let mut v = Vec::new();
    if prefix == 16 {
        for b in 17..=31u8 {
            v.push(Subnet::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("valid"));
        }
        for c in (0..=240u8).step_by(16) {
            v.push(Subnet::new(Ipv4Addr::new(192, 168, c, 0), 20).expect("valid"));
        }
        return v;
    }
    let prefix = prefix.clamp(17, 30);
    let pools = (17..=31u8)
        .map(|b| Ipv4Addr::new(172, b, 0, 0))
        .chain([Ipv4Addr::new(192, 168, 0, 0)]);
    for base in pools {
        let step = 1u32 << (32 - prefix);
        for n in 0..(1u32 << (prefix - 16)) {
            let addr = Ipv4Addr::from(u32::from(base) + n * step);
            v.push(Subnet::new(addr, prefix).expect("valid"));
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
            Err(IpamError::Exhausted(sn.to_string()))
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
            Err(IpamError::Exhausted(sn.to_string()))
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
            Err(IpamError::InUse(Ipv4Addr::new(10, 9, 0, 7).into()))
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
        // docker's networks took 172.16/12 and 192.168.0.0/20: a user network still fits.
        let docker = vec![s("172.16.0.0/12"), s("192.168.0.0/20")];
        let got = choose_subnet(default_candidates(24), &docker, &[]).unwrap();
        assert_eq!(got, s("192.168.16.0/24"));
        let got = choose_subnet(default_candidates(20), &routed, &taken).unwrap();
        assert_eq!(got, s("172.18.16.0/20"));
        assert_eq!(default_candidates(20).len(), 16 * 16);
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
    fn ipv6_subnets_and_allocation() {
        let sn: Subnet6 = "fd77:2::/64".parse().unwrap();
        assert_eq!(sn.to_string(), "fd77:2::/64");
        assert!(matches!(
            "fd77:2::1/64".parse::<Subnet6>(),
            Err(IpamError::HostBits(..))
        ));
        for bad in ["fd77::/128", "fd77::/0", "10.0.0.0/8", "fd77::", "x/64"] {
            assert!(bad.parse::<Subnet6>().is_err(), "{bad}");
        }
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert!(sn.overlaps(&"fd77:2:0:0:1::/80".parse().unwrap()));
        assert!(sn.overlaps(&"fd77::/16".parse().unwrap()));
        assert!(!sn.overlaps(&"fd77:3::/64".parse().unwrap()));
        // Gateway fd77:2::fe (given): docker hands out ::1 first, then serially.
        let gw = a("fd77:2::fe");
        let mut used = BTreeSet::new();
        let first = allocate6(&sn, gw, &used, None, None).unwrap();
        assert_eq!(first, a("fd77:2::1"));
        used.insert(first);
        used.insert(a("fd77:2::99"));
        assert_eq!(
            allocate6(&sn, gw, &used, None, Some(first)),
            Ok(a("fd77:2::2"))
        );
        assert_eq!(
            allocate6(&sn, gw, &used, None, Some(a("fd77:2::fd"))),
            Ok(a("fd77:2::ff")),
            "the gateway is skipped"
        );
        let r = |ip: &str| allocate6(&sn, gw, &used, Some(a(ip)), None);
        assert_eq!(r("fd77:2::5"), Ok(a("fd77:2::5")));
        assert_eq!(
            r("fd77:2::99"),
            Err(IpamError::InUse(a("fd77:2::99").into()))
        );
        assert!(matches!(r("fd77:9::5"), Err(IpamError::Outside { .. })));
        assert!(matches!(r("fd77:2::fe"), Err(IpamError::Reserved { .. })));
        assert!(matches!(r("fd77:2::"), Err(IpamError::Reserved { .. })));
        // A tiny subnet wraps and runs out.
        let tiny: Subnet6 = "fd00::/126".parse().unwrap(); // ::1 (gateway) ::2 ::3
        let g = tiny.first_host();
        let full: BTreeSet<_> = [a("fd00::2"), a("fd00::3")].into();
        assert!(matches!(
            allocate6(&tiny, g, &full, None, Some(a("fd00::2"))),
            Err(IpamError::Exhausted(_))
        ));
        let one: BTreeSet<_> = [a("fd00::3")].into();
        assert_eq!(
            allocate6(&tiny, g, &one, None, Some(a("fd00::3"))),
            Ok(a("fd00::2"))
        );
        assert!(check_gateway6(&sn, a("fd77:3::1")).is_err());
        assert!(check_gateway6(&sn, a("fd77:2::")).is_err());
        assert!(check_gateway6(&sn, gw).is_ok());
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
