//! Networks: the `networks` table, the default bridge network, and the verbs of
//! `hull network`. Each network is a bridge with a subnet and gateway (crates/net); leases
//! (lease.rs) tie container endpoints to addresses; host.rs brings a network's bridge,
//! firewall rules and DNS responder up and down; endpoint.rs connects containers.

pub mod check;
pub mod endpoint;
pub mod hooks;
pub mod host;
pub mod lease;
pub mod ports;
pub mod stored;
pub mod verbs;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use hull_net::ipam::{self, IpamError, Subnet, Subnet6};
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::Paths;

/// The default network's name, docker's (its bridge device is `hull0`, as docker's is
/// `docker0`).
pub const DEFAULT: &str = "bridge";

/// The default network's name before it was docker's: still accepted, and a store that has
/// it is upgraded on first use ([`upgrade_default`]).
pub const OLD_DEFAULT: &str = "hull0";

/// Names a user cannot give a network: docker's three and hull's old default.
pub const RESERVED: [&str; 4] = [DEFAULT, "host", "none", OLD_DEFAULT];

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network name {0:?}: must be 1-64 characters of [a-zA-Z0-9_.-], starting with a letter or digit")]
    BadName(String),
    #[error("network {0}: already exists")]
    Exists(String),
    #[error("no such network: {0}")]
    NotFound(String),
    #[error("network {name} has active endpoints: {containers}")]
    InUse { name: String, containers: String },
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error("--subnet {subnet} overlaps network {other} ({other_subnet})")]
    Overlap {
        subnet: Subnet,
        other: String,
        other_subnet: Subnet,
    },
    /// docker's words for an IPv6 subnet overlapping another network's.
    #[error("--subnet {subnet}: Pool overlaps with other one on this address space (network {other}: {other_subnet})")]
    Overlap6 {
        subnet: Subnet6,
        other: String,
        other_subnet: Subnet6,
    },
    /// docker's words for `--ipv6` without an IPv6 `--subnet` (it has no IPv6 pools).
    #[error("--ipv6: could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network (give an IPv6 --subnet)")]
    NoPool6,
    #[error("-o {0}: unknown option (known: mtu=N, bridge=NAME)")]
    BadOption(String),
    #[error("-o mtu={0}: must be a number from 68 to 65535")]
    BadMtu(String),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error("network {name}: {msg}")]
    Host { name: String, msg: String },
    #[error("container {0}: {1}")]
    Endpoint(String, String),
    #[error("state database: networks: {0}")]
    Db(#[from] rusqlite::Error),
}

pub type Result<T> = std::result::Result<T, NetworkError>;

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub internal: bool,
    pub mtu: Option<u32>,
    pub created: String,
    pub labels: BTreeMap<String, String>,
    /// `--ipv6`: containers get addresses from `subnet6` (docker's EnableIPv6).
    pub ipv6: bool,
    /// An IPv6 `--subnet`; stored (and shown) also without `--ipv6`, as docker does.
    pub subnet6: Option<Subnet6>,
    /// The IPv6 `--gateway` as given (None: the subnet's first address).
    pub gateway6: Option<Ipv6Addr>,
}

impl Network {
    /// The IPv6 subnet and gateway containers get addresses from: an IPv6 network only.
    pub fn v6(&self) -> Option<(Subnet6, Ipv6Addr)> {
        let s = self.subnet6.filter(|_| self.ipv6)?;
        Some((s, self.gateway6.unwrap_or_else(|| s.first_host())))
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT || self.name == OLD_DEFAULT
    }

    /// The network's driver (hull_net::driver). The table records none: every network hull
    /// makes is a bridge (`network create -d` accepts no other).
    pub fn driver(&self) -> &'static str {
        hull_net::driver::BRIDGE
    }

    pub fn spec(&self) -> hull_net::bridge::NetworkSpec {
        hull_net::bridge::NetworkSpec {
            name: self.name.clone(),
            bridge: self.bridge.clone(),
            subnet: self.subnet,
            gateway: self.gateway,
            mtu: self.mtu,
            internal: self.internal,
            v6: self.v6(),
        }
    }

    fn options(&self) -> BTreeMap<String, String> {
        let mut o = BTreeMap::new();
        o.insert("com.docker.network.bridge.name".into(), self.bridge.clone());
        if let Some(m) = self.mtu {
            o.insert("com.docker.network.driver.mtu".into(), m.to_string());
        }
        o
    }

    /// `docker network inspect`'s shape; `containers` from the leases.
    pub fn inspect_json(&self, containers: Value) -> Value {
        let mut config =
            vec![json!({"Subnet": self.subnet.to_string(), "Gateway": self.gateway.to_string()})];
        // docker 20.10 shows an IPv6 gateway only when it was given.
        if let Some(s6) = self.subnet6 {
            let mut c = json!({"Subnet": s6.to_string()});
            if let Some(g) = self.gateway6 {
                c["Gateway"] = json!(g.to_string());
            }
            config.push(c);
        }
        json!({
            "Name": self.name,
            "Id": self.id,
            "Created": self.created,
            "Scope": "local",
            "Driver": "bridge",
            "EnableIPv6": self.ipv6,
            "IPAM": {"Driver": "default", "Options": {}, "Config": config},
            "Internal": self.internal,
            "Attachable": false,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": self.options(),
            "Labels": self.labels,
        })
    }

    /// The fields `network ls --format` knows.
    pub fn list_json(&self) -> Value {
        json!({
            "ID": &self.id[..12],
            "Name": self.name,
            "Driver": "bridge",
            "Scope": "local",
            "IPv6": self.ipv6.to_string(),
            "Internal": self.internal.to_string(),
            "CreatedAt": self.created,
            "Subnet": self.subnet.to_string(),
            "Gateway": self.gateway.to_string(),
            "Bridge": self.bridge,
        })
    }
}

/// docker's `host` and `none` networks, which always exist (driver `host` and `null`):
/// their `network ls` row and `network inspect` object. Their ids are fixed per name.
pub fn builtin(name: &str) -> Option<(Value, Value)> {
    let driver = match name {
        "host" => "host",
        "none" => "null",
        _ => return None,
    };
    let id = fixed_id(name.as_bytes());
    let ls = json!({
        "ID": &id[..12], "Name": name, "Driver": driver, "Scope": "local", "IPv6": "false",
        "Internal": "false", "CreatedAt": "", "Subnet": "", "Gateway": "", "Bridge": "",
    });
    let inspect = json!({
        "Name": name, "Id": id, "Created": "", "Scope": "local", "Driver": driver,
        "EnableIPv6": false, "IPAM": {"Driver": "default", "Options": null, "Config": []},
        "Internal": false, "Attachable": false, "Ingress": false,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": false, "Containers": {},
        "Options": {}, "Labels": {},
    });
    Some((ls, inspect))
}

/// A 64-hex-digit id fixed by `seed` (FNV-1a, four rounds): the built-in networks' ids, and
/// the default network's per root.
fn fixed_id(seed: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut id = String::new();
    for round in 0..4u8 {
        for &b in seed.iter().chain([&round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        id.push_str(&format!("{h:016x}"));
    }
    id
}

/// The default network's id: fixed per root (by its runroot), so that the network has one
/// id before it is first made ([`pending_default`]) and every time it is made again.
pub fn default_id(paths: &Paths) -> String {
    let mut seed = b"bridge\0".to_vec();
    seed.extend(paths.runroot.as_os_str().as_encoded_bytes());
    fixed_id(&seed)
}

/// The default network as `network ls` and `inspect` show it before its first container
/// makes it (docker's `bridge` always exists): its id, bridge name, and the subnet it would
/// take now. Not stored: a root that never runs a container makes no bridge.
pub fn pending_default(conn: &Connection, paths: &Paths) -> Result<Network> {
    let subnet = choose_subnet(paths, DEFAULT, &list(conn)?)?;
    Ok(Network {
        id: default_id(paths),
        name: DEFAULT.into(),
        bridge: host::default_bridge(paths),
        subnet,
        gateway: subnet.first_host(),
        internal: false,
        mtu: None,
        created: String::new(),
        labels: BTreeMap::new(),
        ipv6: false,
        subnet6: None,
        gateway6: None,
    })
}

/// A subnet for a new network `name` that neither a route of the host nor `others` use:
/// a /16 for the default network of the default runroot, as docker's; a /20 (4,094
/// addresses) for the default network of another runroot (tests run many at once, and a
/// /16 each would soon take docker's whole pool); /24s for user networks.
fn choose_subnet(paths: &Paths, name: &str, others: &[Network]) -> Result<Subnet> {
    let routed = host::foreign_subnets()?;
    let taken: Vec<Subnet> = others.iter().map(|o| o.subnet).collect();
    let prefix = match (name == DEFAULT, host::table(paths) == "hull") {
        (true, true) => 16,
        (true, false) => 20,
        (false, _) => 24,
    };
    Ok(ipam::choose_subnet(
        ipam::default_candidates(prefix),
        &routed,
        &taken,
    )?)
}

/// A network's name: of the names' characters (container::names), 1 to 64 of them.
pub fn validate_name(name: &str) -> Result<()> {
    if name.len() <= 64 && crate::container::names::name_chars_ok(name) {
        Ok(())
    } else {
        Err(NetworkError::BadName(name.into()))
    }
}

pub use crate::state::networks::{get, list};

pub fn lookup(conn: &Connection, name: &str) -> Result<Network> {
    get(conn, name)?.ok_or_else(|| NetworkError::NotFound(name.into()))
}

/// What `hull network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    /// `--ipv6`.
    pub ipv6: bool,
    /// An IPv6 `--subnet` and `--gateway`.
    pub subnet6: Option<Subnet6>,
    pub gateway6: Option<Ipv6Addr>,
    pub internal: bool,
    /// `-o mtu=N`, `-o bridge=NAME` (and docker's long option names).
    pub options: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
}

fn random_id() -> String {
    let mut buf = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut buf);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a network: the row (under an IMMEDIATE transaction, so two creates cannot take
/// one subnet or name), then its bridge, firewall rules and DNS responder. A subnet not given
/// is the first private one overlapping neither a route of the host nor another network.
pub fn create(conn: &Connection, paths: &Paths, req: &CreateRequest) -> Result<Network> {
    validate_name(&req.name)?;
    if RESERVED.contains(&req.name.as_str()) {
        return Err(NetworkError::Exists(req.name.clone()));
    }
    if req.ipv6 && req.subnet6.is_none() {
        return Err(NetworkError::NoPool6);
    }
    if let (Some(s6), Some(g6)) = (req.subnet6, req.gateway6) {
        ipam::check_gateway6(&s6, g6)?;
    }
    create_any(conn, paths, req)
}

/// [`create`] without the check of reserved names (the default network is made here).
fn create_any(conn: &Connection, paths: &Paths, req: &CreateRequest) -> Result<Network> {
    let id = if req.name == DEFAULT {
        default_id(paths)
    } else {
        random_id()
    };
    let mut mtu = None;
    let mut bridge = if req.name == DEFAULT {
        host::default_bridge(paths)
    } else {
        format!("br-{}", &id[..12])
    };
    for (k, v) in &req.options {
        match k.as_str() {
            "mtu" | "com.docker.network.driver.mtu" => {
                let n: u32 = v.parse().map_err(|_| NetworkError::BadMtu(v.clone()))?;
                if !(68..=65535).contains(&n) {
                    return Err(NetworkError::BadMtu(v.clone()));
                }
                mtu = Some(n);
            }
            "bridge" | "com.docker.network.bridge.name" => {
                if v.is_empty() || v.len() > 15 || v.contains(['/', ' ']) {
                    return Err(NetworkError::BadOption(format!("{k}={v}")));
                }
                bridge = v.clone();
            }
            _ => return Err(NetworkError::BadOption(format!("{k}={v}"))),
        }
    }
    // One host-wide lock covers reading the routes, choosing, and making the bridge (whose
    // route the next creator then sees), also for other hull roots on this host.
    let _lock = host::lock()?;
    immediate(conn, |tx| create_locked(tx, paths, req, id, bridge, mtu))
}

fn create_locked(
    tx: &Connection,
    paths: &Paths,
    req: &CreateRequest,
    id: String,
    bridge: String,
    mtu: Option<u32>,
) -> Result<Network> {
    if get(tx, &req.name)?.is_some() {
        return Err(NetworkError::Exists(req.name.clone()));
    }
    let others = list(tx)?;
    let subnet = match req.subnet {
        Some(s) => {
            if let Some(o) = others.iter().find(|o| o.subnet.overlaps(&s)) {
                return Err(NetworkError::Overlap {
                    subnet: s,
                    other: o.name.clone(),
                    other_subnet: o.subnet,
                });
            }
            s
        }
        None => choose_subnet(paths, &req.name, &others)?,
    };
    let gateway = match req.gateway {
        Some(g) => {
            ipam::check_gateway(&subnet, g)?;
            g
        }
        None => subnet.first_host(),
    };
    if let Some(s6) = req.subnet6 {
        if let Some((o, o6)) = others
            .iter()
            .find_map(|o| Some((o, o.subnet6.filter(|x| x.overlaps(&s6))?)))
        {
            return Err(NetworkError::Overlap6 {
                subnet: s6,
                other: o.name.clone(),
                other_subnet: o6,
            });
        }
    }
    let n = Network {
        id,
        name: req.name.clone(),
        bridge,
        subnet,
        gateway,
        internal: req.internal,
        mtu,
        created: crate::time::now_rfc3339(),
        labels: req.labels.clone(),
        ipv6: req.ipv6,
        subnet6: req.subnet6,
        gateway6: req.gateway6,
    };
    crate::state::networks::insert(tx, &n)?;
    // On failure the transaction rolls back: no row for a network that is not there, and
    // no half-made bridge either. Killed here, the claim tells `system check`.
    host::claim(paths, &n)?;
    hull_sys::fault_point("hull-network-create-up");
    if let Err(e) = host::up(paths, &n) {
        if host::down(paths, &n).is_empty() {
            host::release_claim(paths, &n.bridge);
        }
        return Err(e);
    }
    hull_sys::fault_point("hull-network-create-commit");
    Ok(n)
}

/// The default network, created on first use.
pub fn default_network(conn: &Connection, paths: &Paths) -> Result<Network> {
    if let Some(n) = get(conn, DEFAULT)? {
        if n.name == OLD_DEFAULT {
            upgrade_default(conn, paths)?;
            return lookup(conn, DEFAULT);
        }
        return Ok(n);
    }
    match create_any(
        conn,
        paths,
        &CreateRequest {
            name: DEFAULT.into(),
            ..Default::default()
        },
    ) {
        Err(NetworkError::Exists(_)) => lookup(conn, DEFAULT),
        r => r,
    }
}

/// Renames a store's default network from `hull0` (its name before it was docker's
/// `bridge`) in the database and in the firewall's state; its bridge, addresses and
/// published ports stay as they are. Nothing to do when there is no `hull0`.
pub fn upgrade_default(conn: &Connection, paths: &Paths) -> Result<()> {
    if !crate::state::networks::exists(conn, OLD_DEFAULT)? {
        return Ok(());
    }
    let _lock = host::lock()?;
    immediate(conn, |tx| {
        crate::state::networks::rename(tx, OLD_DEFAULT, DEFAULT)?;
        host::firewall(paths)
            .rename_network(OLD_DEFAULT, DEFAULT)
            .map_err(|e| NetworkError::Host {
                name: DEFAULT.into(),
                msg: e.to_string(),
            })
    })
}

/// Removes a network with no endpoints: its row, then its bridge, rules and responder.
pub fn remove(conn: &Connection, paths: &Paths, name: &str) -> Result<Network> {
    let n = lookup(conn, name)?;
    // Under the lock `create` holds: a default network made again by a concurrent run is
    // not taken down by this removal's bridge deletion.
    let _lock = host::lock()?;
    immediate(conn, |tx| {
        let users = lease::container_names(tx, &n.name)?;
        if !users.is_empty() {
            return Err(NetworkError::InUse {
                name: n.name.clone(),
                containers: users.join(", "),
            });
        }
        // The default network's cursor stays: the network is made again with the next
        // container, whose address should not be one whose veth may still be going away.
        crate::state::networks::delete(tx, &n.name, !n.is_default())?;
        Ok(())
    })?;
    hull_sys::fault_point("hull-network-rm-down");
    let errs = host::down(paths, &n);
    if errs.is_empty() {
        host::release_claim(paths, &n.bridge);
    } else {
        return Err(NetworkError::Host {
            name: n.name.clone(),
            msg: errs.join("; "),
        });
    }
    Ok(n)
}

/// Removes every network without endpoints except the default one; returns their names.
pub fn prune(conn: &Connection, paths: &Paths) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for n in list(conn)? {
        if n.is_default() || !lease::container_names(conn, &n.name)?.is_empty() {
            continue;
        }
        match remove(conn, paths, &n.name) {
            Ok(_) => out.push(n.name),
            Err(NetworkError::InUse { .. }) | Err(NetworkError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

pub use crate::state::immediate;

/// `<runroot>/network`: the firewall state, each network's DNS records and responder pid.
pub fn run_dir(paths: &Paths) -> PathBuf {
    paths.runroot.join("network")
}
