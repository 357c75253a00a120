//! The nftables backend: one table of hull's own (`inet hull` by default), written whole
//! from the persisted state in one `nft -j -f -` transaction when its networks change, and
//! changed by map elements when only published ports do.
//!
//! Chains of the table:
//! - `forward` (filter, policy accept, so hull never drops what is not its own): internal
//!   networks drop anything crossing their bridge; established and DNATed traffic is
//!   accepted; members of one network talk freely; traffic between two hull bridges is
//!   dropped (isolation); a network's bridge to the outside is accepted.
//! - `prerouting` / `output` (dstnat): packets to a local address jump to `ports`, whose two
//!   rules DNAT through maps keyed by (host address,) protocol and port: publishing or
//!   unpublishing a port adds or deletes map elements in one small transaction, whatever the
//!   number of other ports; only a change of networks rewrites the table. `output` is what
//!   makes the host itself, 127.0.0.1 included, reach a published port without any userland
//!   proxy.
//! - `postrouting` (srcnat): masquerade for a subnet's traffic leaving its bridge; on the
//!   bridge, masquerade of DNATed traffic from the same subnet (hairpin: the reply must come
//!   back through the host) and from 127.0.0.0/8 (the host's own loopback, which the
//!   container could not answer; the bridge also needs route_localnet=1).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::nfnl;
use super::state::Locked;
use super::{
    Failures, FirewallDriver, FirewallError, FirewallState, NetworkRules, PortMapping, StateFile,
};

pub struct Nftables {
    table: String,
    state: StateFile,
    /// Apply inside this network namespace instead of the caller's (tests, and engines
    /// managing a namespace of their own).
    netns: Option<PathBuf>,
}

impl Nftables {
    pub fn new(table: &str, state: StateFile, netns: Option<PathBuf>) -> Self {
        Nftables {
            table: table.into(),
            state,
            netns,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn nft(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, FirewallError> {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display())).arg("nft");
                c
            }
            None => Command::new("nft"),
        };
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| FirewallError::Nft(format!("run nft: {e}")))?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(data)
                .map_err(|e| FirewallError::Nft(format!("write to nft: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| FirewallError::Nft(format!("wait for nft: {e}")))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr);
            return Err(FirewallError::Nft(
                msg.lines().next().unwrap_or("failed").trim().to_string(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn apply(&self, state: &FirewallState) -> Result<(), FirewallError> {
        let batch = render(&self.table, state);
        let body = serde_json::to_vec(&batch).expect("json");
        self.nft(&["-j", "-f", "-"], Some(&body)).map(|_| ())?;
        if !state.networks.is_empty() {
            self.sysctl("net/ipv4/ip_forward", "1")?;
        }
        // A dual-stack network: IPv6 forwarding, as docker's bridge driver turns it on for a
        // network with IPv6 (`all`, which the kernel copies to `default` and every
        // interface). Written only when off: the host's other settings stay.
        if state.networks.values().any(|n| n.subnet6.is_some())
            && self.read_sysctl("net/ipv6/conf/all/forwarding").as_deref() != Some("1")
        {
            self.sysctl("net/ipv6/conf/all/forwarding", "1")?;
        }
        for n in state.networks.values() {
            // Best effort: the bridge may be gone already when its rules are re-applied.
            let _ = self.sysctl(&format!("net/ipv4/conf/{}/route_localnet", n.bridge), "1");
        }
        Ok(())
    }

    fn sysctl(&self, key: &str, val: &str) -> Result<(), FirewallError> {
        let path = format!("/proc/sys/{key}");
        let val = val.to_string();
        let write = move || std::fs::write(&path, val);
        let res = match &self.netns {
            Some(ns) => crate::netns::run_in(ns, write)
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r),
            None => write(),
        };
        res.map_err(|err| FirewallError::Sysctl {
            key: key.replace('/', "."),
            err,
        })
    }

    fn read_sysctl(&self, key: &str) -> Option<String> {
        let path = format!("/proc/sys/{key}");
        let read = move || std::fs::read_to_string(&path).ok();
        let v = match &self.netns {
            Some(ns) => crate::netns::run_in(ns, read).ok().flatten(),
            None => read(),
        };
        v.map(|s| s.trim().to_string())
    }

    /// Deletes hull's table (`hull system reset`, tests); no table is not an error.
    pub fn delete_table(&self) -> Result<(), FirewallError> {
        let batch = json!({"nftables": [
            {"add": {"table": {"family": "inet", "name": self.table}}},
            {"delete": {"table": {"family": "inet", "name": self.table}}},
        ]});
        self.nft(&["-j", "-f", "-"], Some(batch.to_string().as_bytes()))
            .map(|_| ())
    }

    /// The table as `nft -j list table` prints it (None when absent).
    pub fn list_table(&self) -> Result<Option<Value>, FirewallError> {
        match self.nft(&["-j", "list", "table", "inet", &self.table], None) {
            Ok(out) => serde_json::from_str(&out)
                .map(Some)
                .map_err(|e| FirewallError::Nft(format!("parse nft output: {e}"))),
            Err(FirewallError::Nft(m)) if m.contains("No such file") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Renames a network in the applied state (its rules and its published ports), as one
    /// change; nothing to rename is not an error.
    pub fn rename_network(&self, old: &str, new: &str) -> Result<(), FirewallError> {
        let mut locked = self.state.lock()?;
        let mut state = locked.state()?;
        let before = state.clone();
        if let Some(mut n) = state.networks.remove(old) {
            n.name = new.to_string();
            state.networks.insert(new.to_string(), n);
        }
        for p in state.ports.values_mut().flatten() {
            if p.network == old {
                p.network = new.to_string();
            }
        }
        if state == before {
            return Ok(());
        }
        self.apply(&state)?;
        self.sync_xtables(&state)?;
        self.save(&mut locked, &before, state)
    }

    /// Writes what differs between `before` and `after`: the owners' files that changed,
    /// then the networks.
    fn save(
        &self,
        locked: &mut Locked,
        before: &FirewallState,
        after: FirewallState,
    ) -> Result<(), FirewallError> {
        let owners: std::collections::BTreeSet<&String> =
            before.ports.keys().chain(after.ports.keys()).collect();
        for o in owners {
            let a = after.ports.get(o).map_or(&[][..], Vec::as_slice);
            if before.ports.get(o).map_or(&[][..], Vec::as_slice) != a {
                locked.set_ports(o, a)?;
            }
        }
        locked.networks = after.networks;
        locked.count_rewrite()
    }

    /// Writes the whole table from `state`, the locked state (a reload, or a change of
    /// elements that failed because someone flushed the table), and counts it.
    fn rewrite(&self, locked: &mut Locked, state: &FirewallState) -> Result<(), FirewallError> {
        self.apply(state)?;
        locked.count_rewrite()
    }

    /// A change of one owner's published ports: the map elements that differ, deleted and
    /// added in one transaction (O(1) in the number of other ports), over netlink from this
    /// process (nfnl.rs) rather than by an nft process.
    fn apply_ports(
        &self,
        before: &[PortMapping],
        after: &[PortMapping],
    ) -> Result<(), FirewallError> {
        let gone: Vec<&PortMapping> = before.iter().filter(|p| !after.contains(p)).collect();
        let added: Vec<&PortMapping> = after.iter().filter(|p| !before.contains(p)).collect();
        nfnl::apply(
            &self.table,
            &port_changes(&gone, &added),
            self.netns.as_deref(),
        )
    }

    /// iptables' FORWARD chain accepting hull's bridges (`xtables.rs`: a DROP policy set by
    /// dockerd would otherwise drop hull's forwarded traffic).
    fn sync_xtables(&self, state: &FirewallState) -> Result<(), FirewallError> {
        let nets: Vec<&NetworkRules> = state.networks.values().collect();
        super::xtables::sync(&self.table, self.netns.as_deref(), &nets)
    }
}

impl FirewallDriver for Nftables {
    fn add_network(&self, net: &NetworkRules) -> Result<(), FirewallError> {
        // Unchanged (every container start sets its network up again): no nft run at all,
        // and no other container's ports read. Rules flushed by someone else come back with
        // `reload`.
        let mut locked = self.state.lock()?;
        if locked.networks.get(&net.name) == Some(net) {
            return Ok(());
        }
        let before = locked.state()?;
        let mut state = before.clone();
        state.networks.insert(net.name.clone(), net.clone());
        self.apply(&state)?;
        self.sync_xtables(&state)?;
        self.save(&mut locked, &before, state)
    }

    /// For removals: the state is saved even when applying fails, so a later reload does not
    /// bring back what was removed; each failure is reported.
    fn remove_network(&self, name: &str) -> Result<(), Failures> {
        let fail = |e| Failures(vec![e]);
        let mut locked = self.state.lock().map_err(fail)?;
        let before = locked.state().map_err(fail)?;
        let mut state = before.clone();
        state.networks.remove(name);
        for v in state.ports.values_mut() {
            v.retain(|p| p.network != name);
        }
        state.ports.retain(|_, v| !v.is_empty());
        if state == before {
            return Ok(());
        }
        let mut errs = Vec::new();
        if let Err(e) = self.apply(&state) {
            errs.push(e);
        }
        if state.networks != before.networks {
            if let Err(e) = self.sync_xtables(&state) {
                errs.push(e);
            }
        }
        if let Err(e) = self.save(&mut locked, &before, state) {
            errs.push(e);
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Failures(errs))
        }
    }

    /// Reads the owner's own file and the owners of the same host ports, never every
    /// published port. nft runs without the lock, so the publishes and unpublishes of many
    /// containers at once do not queue behind each other's nft: the ports are the owner's
    /// in the state (its claims) before nft has them and until nft no longer does, so no
    /// one else can take them meanwhile. When the map elements cannot be changed (someone
    /// flushed the table), the whole table is written again under the lock.
    fn add_ports(&self, owner: &str, ports: &[PortMapping]) -> Result<(), FirewallError> {
        let before = {
            let locked = self.state.lock()?;
            for (i, p) in ports.iter().enumerate() {
                if !locked.networks.contains_key(&p.network) {
                    return Err(FirewallError::NoNetwork(p.network.clone()));
                }
                let mut clash = None;
                for (o, v) in locked.claimants(p.proto, p.host_port, owner)? {
                    if v.iter().any(|m| m.clashes(p)) {
                        clash = Some(o);
                    }
                }
                if ports[..i].iter().any(|m| m.clashes(p)) {
                    clash = Some(owner.to_string());
                }
                if let Some(o) = clash {
                    return Err(FirewallError::PortInUse {
                        host_ip: p.host_ip_text(),
                        port: p.host_port,
                        proto: p.proto,
                        owner: o,
                    });
                }
            }
            let before = locked.ports_of(owner)?;
            if before == ports {
                return Ok(());
            }
            // A whole rewrite from now on includes them.
            locked.set_ports(owner, ports)?;
            before
        };
        if self.apply_ports(&before, ports).is_ok() {
            return Ok(());
        }
        let mut locked = self.state.lock()?;
        let state = locked.state()?;
        self.rewrite(&mut locked, &state).inspect_err(|_| {
            let _ = locked.set_ports(owner, &before);
        })
    }

    fn remove_ports(&self, owner: &str) -> Result<(), Failures> {
        let fail = |e| Failures(vec![e]);
        let (before, generation) = {
            let locked = self.state.lock().map_err(fail)?;
            (locked.ports_of(owner).map_err(fail)?, locked.generation)
        };
        if before.is_empty() {
            return Ok(());
        }
        let applied = self.apply_ports(&before, &[]);
        let mut locked = self.state.lock().map_err(fail)?;
        let mut errs = Vec::new();
        if let Err(e) = locked.set_ports(owner, &[]) {
            errs.push(e);
        }
        // The elements could not be deleted, or a rewrite of the whole table since the ports
        // were read may have put them back: the table is written again without them.
        if applied.is_err() || locked.generation != generation {
            if let Err(e) = locked
                .state()
                .and_then(|state| self.rewrite(&mut locked, &state))
            {
                errs.push(e);
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Failures(errs))
        }
    }

    fn reload(&self) -> Result<(), FirewallError> {
        let mut locked = self.state.lock()?;
        let state = locked.state()?;
        self.rewrite(&mut locked, &state)?;
        self.sync_xtables(&state)
    }

    fn state(&self) -> Result<FirewallState, FirewallError> {
        self.state.lock()?.state()
    }

    fn ports_of(&self, owner: &str) -> Result<Vec<PortMapping>, FirewallError> {
        self.state.ports_of(owner)
    }
}

/// The DNAT maps of published ports (each a pair: `_addr` and `_port`): by host address,
/// protocol and port (`-p IP:P:C`), and by protocol and port alone (every address).
const MAP_BY_IP: &str = "ports_by_ip";
const MAP_ANY: &str = "ports_any";
/// The same for IPv6 bindings to containers with an IPv6 address.
const MAP6_BY_IP: &str = "ports6_by_ip";
const MAP6_ANY: &str = "ports6_any";

/// One published port as map entries: the map (without its `_addr`/`_port` suffix), the
/// key's values, the container's address and port.
struct Entry {
    map: &'static str,
    host_ip: Option<std::net::IpAddr>,
    proto: super::Proto,
    host_port: u16,
    to: std::net::IpAddr,
    to_port: u16,
}

/// The map entries of `ports` that nft DNATs (IPv6 bindings to a container without IPv6 are
/// relayed in userland, crate::relay).
fn entries(ports: &[&PortMapping]) -> Vec<Entry> {
    let mut out = Vec::new();
    for p in ports.iter().filter(|p| p.is_dnat()) {
        // `::` is every IPv6 address: the map without the address.
        let host_ip = p
            .host_ip
            .filter(|ip| !(ip.is_ipv6() && ip.is_unspecified()));
        let (map, to) = match (p.container_ip6.filter(|_| p.is_v6()), host_ip) {
            (Some(ip6), Some(_)) => (MAP6_BY_IP, ip6.into()),
            (Some(ip6), None) => (MAP6_ANY, ip6.into()),
            (None, Some(_)) => (MAP_BY_IP, p.container_ip.into()),
            (None, None) => (MAP_ANY, p.container_ip.into()),
        };
        out.push(Entry {
            map,
            host_ip,
            proto: p.proto,
            host_port: p.host_port,
            to,
            to_port: p.container_port,
        });
    }
    out
}

const MAPS: [&str; 4] = [MAP_BY_IP, MAP_ANY, MAP6_BY_IP, MAP6_ANY];

/// `op` ("add" or "delete") of the map elements of `ports`: one command per map used.
pub fn port_elements(table: &str, op: &str, ports: &[&PortMapping]) -> Vec<Value> {
    let entries = entries(ports);
    let mut out = Vec::new();
    for name in MAPS {
        let elems: Vec<&Entry> = entries.iter().filter(|e| e.map == name).collect();
        if elems.is_empty() {
            continue;
        }
        for suffix in ["addr", "port"] {
            // A deletion names the keys only.
            let elem: Vec<Value> = elems
                .iter()
                .map(|e| {
                    let proto = e.proto.to_string();
                    let k = match e.host_ip {
                        Some(ip) => json!({"concat": [ip.to_string(), proto, e.host_port]}),
                        None => json!({"concat": [proto, e.host_port]}),
                    };
                    match (op, suffix) {
                        ("delete", _) => k,
                        (_, "addr") => json!([k, e.to.to_string()]),
                        _ => json!([k, e.to_port]),
                    }
                })
                .collect();
            out.push(json!({op: {"element": {"family": "inet", "table": table,
                "name": format!("{name}_{suffix}"), "elem": elem}}}));
        }
    }
    out
}

/// The same changes as [`port_elements`], as netlink map changes (nfnl.rs): deletions of
/// `gone`'s keys, then additions of `added`'s.
fn port_changes(gone: &[&PortMapping], added: &[&PortMapping]) -> Vec<nfnl::Change> {
    let key = |e: &Entry| {
        let proto = match e.proto {
            super::Proto::Tcp => libc::IPPROTO_TCP as u8,
            super::Proto::Udp => libc::IPPROTO_UDP as u8,
        };
        let mut k = match e.host_ip {
            Some(std::net::IpAddr::V4(ip)) => ip.octets().to_vec(),
            Some(std::net::IpAddr::V6(ip)) => ip.octets().to_vec(),
            None => Vec::new(),
        };
        k.extend(nfnl::reg(&[proto]));
        k.extend(nfnl::reg(&e.host_port.to_be_bytes()));
        k
    };
    let mut out = Vec::new();
    for (add, ports) in [(false, gone), (true, added)] {
        let entries = entries(ports);
        for name in MAPS {
            let elems: Vec<&Entry> = entries.iter().filter(|e| e.map == name).collect();
            if elems.is_empty() {
                continue;
            }
            for suffix in ["addr", "port"] {
                let elems = elems
                    .iter()
                    .map(|e| {
                        let data = add.then(|| match (suffix, e.to) {
                            ("addr", std::net::IpAddr::V4(ip)) => ip.octets().to_vec(),
                            ("addr", std::net::IpAddr::V6(ip)) => ip.octets().to_vec(),
                            _ => e.to_port.to_be_bytes().to_vec(),
                        });
                        (key(e), data)
                    })
                    .collect();
                out.push(nfnl::Change {
                    map: format!("{name}_{suffix}"),
                    elems,
                });
            }
        }
    }
    out
}

fn m(left: Value, op: &str, right: Value) -> Value {
    json!({"match": {"op": op, "left": left, "right": right}})
}
fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}
fn payload(proto: &str, field: &str) -> Value {
    json!({"payload": {"protocol": proto, "field": field}})
}
fn prefix(s: &crate::ipam::Subnet) -> Value {
    json!({"prefix": {"addr": s.addr.to_string(), "len": s.prefix}})
}
fn prefix6(s: &crate::ipam::Subnet6) -> Value {
    json!({"prefix": {"addr": s.addr.to_string(), "len": s.prefix}})
}

/// The whole table as one batch: create-if-missing, delete, create, then every chain and
/// rule. nft applies a batch as one transaction, so packets see the old table or the new.
pub fn render(table: &str, st: &FirewallState) -> Value {
    let mut cmds = vec![
        json!({"add": {"table": {"family": "inet", "name": table}}}),
        json!({"delete": {"table": {"family": "inet", "name": table}}}),
        json!({"add": {"table": {"family": "inet", "name": table}}}),
    ];
    if st.networks.is_empty() && st.ports.is_empty() {
        cmds.truncate(2); // nothing to filter: no table at all
        return json!({"nftables": cmds});
    }
    let chain = |name: &str, hook: Option<(&str, &str, i32)>| {
        let mut c = json!({"family": "inet", "table": table, "name": name});
        if let Some((ty, hook, prio)) = hook {
            c["type"] = json!(ty);
            c["hook"] = json!(hook);
            c["prio"] = json!(prio);
            c["policy"] = json!("accept");
        }
        json!({"add": {"chain": c}})
    };
    cmds.push(chain("forward", Some(("filter", "forward", 0))));
    cmds.push(chain("prerouting", Some(("nat", "prerouting", -100))));
    cmds.push(chain("output", Some(("nat", "output", -100))));
    cmds.push(chain("postrouting", Some(("nat", "postrouting", 100))));
    cmds.push(chain("ports", None));
    // nft 1.0's JSON cannot declare a map to a concatenation (address . port): one map to
    // the address and one to the port, looked up with the same key.
    for (name, key, addr) in [
        (
            MAP_BY_IP,
            json!(["ipv4_addr", "inet_proto", "inet_service"]),
            "ipv4_addr",
        ),
        (MAP_ANY, json!(["inet_proto", "inet_service"]), "ipv4_addr"),
        (
            MAP6_BY_IP,
            json!(["ipv6_addr", "inet_proto", "inet_service"]),
            "ipv6_addr",
        ),
        (MAP6_ANY, json!(["inet_proto", "inet_service"]), "ipv6_addr"),
    ] {
        for (suffix, data) in [("addr", addr), ("port", "inet_service")] {
            cmds.push(json!({"add": {"map": {"family": "inet", "table": table,
                "name": format!("{name}_{suffix}"), "type": key, "map": data}}}));
        }
    }
    let all: Vec<&PortMapping> = st.ports.values().flatten().collect();
    cmds.extend(port_elements(table, "add", &all));
    let mut rule = |chain: &str, expr: Vec<Value>| {
        cmds.push(json!({"add": {"rule": {"family": "inet", "table": table, "chain": chain, "expr": expr}}}));
    };
    let accept = json!({"accept": null});
    let drop = json!({"drop": null});
    let nets: Vec<&NetworkRules> = st.networks.values().collect();

    // forward
    for n in nets.iter().filter(|n| n.internal) {
        rule(
            "forward",
            vec![
                m(meta("iifname"), "==", json!(n.bridge)),
                m(meta("oifname"), "!=", json!(n.bridge)),
                drop.clone(),
            ],
        );
        rule(
            "forward",
            vec![
                m(meta("oifname"), "==", json!(n.bridge)),
                m(meta("iifname"), "!=", json!(n.bridge)),
                drop.clone(),
            ],
        );
    }
    rule(
        "forward",
        vec![
            m(
                json!({"ct": {"key": "state"}}),
                "in",
                json!(["established", "related"]),
            ),
            accept.clone(),
        ],
    );
    rule(
        "forward",
        vec![
            m(json!({"ct": {"key": "status"}}), "in", json!("dnat")),
            accept.clone(),
        ],
    );
    for n in &nets {
        rule(
            "forward",
            vec![
                m(meta("iifname"), "==", json!(n.bridge)),
                m(meta("oifname"), "==", json!(n.bridge)),
                accept.clone(),
            ],
        );
    }
    if nets.len() > 1 {
        let set = json!({"set": nets.iter().map(|n| json!(n.bridge)).collect::<Vec<_>>()});
        rule(
            "forward",
            vec![
                m(meta("iifname"), "==", set.clone()),
                m(meta("oifname"), "==", set),
                drop.clone(),
            ],
        );
    }
    for n in nets.iter().filter(|n| !n.internal) {
        rule(
            "forward",
            vec![m(meta("iifname"), "==", json!(n.bridge)), accept.clone()],
        );
    }

    // dnat
    let local = m(
        json!({"fib": {"result": "type", "flags": ["daddr"]}}),
        "==",
        json!("local"),
    );
    rule(
        "prerouting",
        vec![local.clone(), json!({"jump": {"target": "ports"}})],
    );
    rule("output", vec![local, json!({"jump": {"target": "ports"}})]);
    // One rule per map, whatever the number of ports: publishing or unpublishing one is an
    // element added or deleted ([`port_elements`]), not a rewrite of the chain.
    let v4 = m(meta("nfproto"), "==", json!("ipv4"));
    let l4 = || json!([meta("l4proto"), payload("th", "dport")]);
    let mut by_ip = vec![payload("ip", "daddr")];
    by_ip.extend(l4().as_array().cloned().unwrap_or_default());
    // `::1` is left to the relay's socket (PortMapping::is_dnat).
    let v6 = m(payload("ip6", "daddr"), "!=", json!("::1"));
    let mut by_ip6 = vec![payload("ip6", "daddr")];
    by_ip6.extend(l4().as_array().cloned().unwrap_or_default());
    for (map, key, nfproto, family) in [
        (MAP_BY_IP, json!(by_ip), &v4, "ip"),
        (MAP_ANY, l4(), &v4, "ip"),
        (MAP6_BY_IP, json!(by_ip6), &v6, "ip6"),
        (MAP6_ANY, l4(), &v6, "ip6"),
    ] {
        let lookup = |suffix: &str| json!({"map": {"key": {"concat": key.clone()}, "data": format!("@{map}_{suffix}")}});
        rule(
            "ports",
            vec![
                nfproto.clone(),
                json!({"dnat": {"family": family, "addr": lookup("addr"), "port": lookup("port")}}),
            ],
        );
    }

    // snat
    let masq = json!({"masquerade": null});
    for n in &nets {
        let br = json!(n.bridge);
        if !n.internal {
            rule(
                "postrouting",
                vec![
                    m(payload("ip", "saddr"), "==", prefix(&n.subnet)),
                    m(meta("oifname"), "!=", br.clone()),
                    masq.clone(),
                ],
            );
            // IPv6 leaving the network is masqueraded too, as docker does with
            // `--ip6tables` (a ULA subnet is not routed back to the host otherwise).
            if let Some(s6) = &n.subnet6 {
                rule(
                    "postrouting",
                    vec![
                        m(payload("ip6", "saddr"), "==", prefix6(s6)),
                        m(meta("oifname"), "!=", br.clone()),
                        masq.clone(),
                    ],
                );
            }
        }
        rule(
            "postrouting",
            vec![
                m(meta("oifname"), "==", br.clone()),
                m(payload("ip", "saddr"), "==", prefix(&n.subnet)),
                m(json!({"ct": {"key": "status"}}), "in", json!("dnat")),
                masq.clone(),
            ],
        );
        rule(
            "postrouting",
            vec![
                m(meta("oifname"), "==", br.clone()),
                m(
                    payload("ip", "saddr"),
                    "==",
                    json!({"prefix": {"addr": "127.0.0.0", "len": 8}}),
                ),
                masq.clone(),
            ],
        );
        // Hairpin for IPv6 published ports as for IPv4 (the host's own `::1` is not
        // DNATed: the relay serves it, PortMapping::is_dnat).
        if let Some(s6) = &n.subnet6 {
            rule(
                "postrouting",
                vec![
                    m(meta("oifname"), "==", br),
                    m(payload("ip6", "saddr"), "==", prefix6(s6)),
                    m(json!({"ct": {"key": "status"}}), "in", json!("dnat")),
                    masq.clone(),
                ],
            );
        }
    }
    json!({"nftables": cmds})
}
