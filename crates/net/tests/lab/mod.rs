//! A lab for the network tests: a fresh network namespace stands for the host (its own
//! links, nft ruleset and sysctls, so tests run in parallel and never touch the real host),
//! more namespaces stand for containers and for a remote host wired to the "host" by a veth.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hull_net::bridge::{self, Attachment, HostNet, NetworkSpec};
use hull_net::firewall::{Nftables, StateFile};
use hull_net::netlink::{Netlink, VethPeer};
use hull_net::netns;

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub host_ns: PathBuf,
    pub host: HostNet,
    pub fw: Nftables,
    children: Vec<Child>,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("hull-net-")
            .tempdir()
            .unwrap();
        let host_ns = netns::create(dir.path(), "host").unwrap();
        let mut host = HostNet::in_netns(&host_ns).unwrap();
        let lo = host.nl.index("lo").unwrap();
        host.nl.set_up(lo, true).unwrap();
        let fw = Nftables::new(
            "hull",
            StateFile::new(dir.path().join("firewall.json")),
            Some(host_ns.clone()),
        );
        Lab {
            dir,
            host_ns,
            host,
            fw,
            children: Vec::new(),
        }
    }

    pub fn network(
        &mut self,
        name: &str,
        bridge: &str,
        subnet: &str,
        internal: bool,
    ) -> NetworkSpec {
        let subnet: hull_net::ipam::Subnet = subnet.parse().unwrap();
        let spec = NetworkSpec {
            name: name.into(),
            bridge: bridge.into(),
            subnet,
            gateway: subnet.first_host(),
            mtu: Some(1400),
            internal,
            v6: None,
        };
        bridge::setup_network(&mut self.host, &self.fw, &spec).unwrap();
        spec
    }

    /// A "container": a pinned namespace attached to `net` with address `ip`.
    pub fn container(&mut self, name: &str, net: &NetworkSpec, ip: &str) -> (PathBuf, Attachment) {
        let ns = netns::create(self.dir.path(), name).unwrap();
        let att = bridge::attach(
            &mut self.host,
            net,
            &ns,
            "eth0",
            (ip.parse().unwrap(), None),
            None,
            true,
        )
        .unwrap();
        (ns, att)
    }

    /// A "remote host": a namespace joined to the host by a veth on `subnet`.1 (host) / .2.
    /// It has no route to container subnets: it reaches only the host's own address.
    pub fn remote(
        &mut self,
        name: &str,
        host_if: &str,
        host_ip: Ipv4Addr,
        remote_ip: Ipv4Addr,
    ) -> PathBuf {
        let ns = netns::create(self.dir.path(), name).unwrap();
        let f = netns::open(&ns).unwrap();
        self.host
            .nl
            .create_veth(
                host_if,
                &VethPeer {
                    name: "eth0",
                    netns: Some(&f),
                    mac: None,
                    mtu: None,
                },
                None,
            )
            .unwrap();
        let i = self.host.nl.index(host_if).unwrap();
        self.host.nl.add_address(i, host_ip, 24).unwrap();
        self.host.nl.set_up(i, true).unwrap();
        let mut r = Netlink::in_netns(&ns).unwrap();
        let e = r.index("eth0").unwrap();
        r.add_address(e, remote_ip, 24).unwrap();
        r.set_up(e, true).unwrap();
        let lo = r.index("lo").unwrap();
        r.set_up(lo, true).unwrap();
        ns
    }

    /// Runs `sh -c cmd` inside the namespace.
    pub fn sh(&self, ns: &Path, cmd: &str) -> Output {
        Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .args(["sh", "-c", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Starts a background server inside the namespace; killed when the lab is dropped.
    pub fn spawn(&mut self, ns: &Path, cmd: &str) {
        let c = Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .args(["sh", "-c", &format!("exec {cmd}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(c);
    }

    /// Polls `cmd` in `ns` until its stdout contains `want` (30 s); returns whether it did.
    pub fn eventually(&self, ns: &Path, cmd: &str, want: &str) -> bool {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.sh(ns, cmd);
            if String::from_utf8_lossy(&out.stdout).contains(want) {
                return true;
            }
            if Instant::now() > end {
                eprintln!(
                    "{cmd}: stdout {:?} stderr {:?}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether `cmd` succeeds in `ns` (one try).
    pub fn ok(&self, ns: &Path, cmd: &str) -> bool {
        self.sh(ns, cmd).status.success()
    }

    pub fn nft_table(&self) -> Option<serde_json::Value> {
        self.fw.list_table().unwrap()
    }

    pub fn links(&self) -> Vec<String> {
        let mut nl = Netlink::in_netns(&self.host_ns).unwrap();
        nl.links().unwrap().into_iter().map(|l| l.name).collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in netns::list(self.dir.path()) {
            let _ = netns::remove(&netns::path(self.dir.path(), &n));
        }
    }
}

/// A TCP request answered with `hello`: `socat` connects, reads one line.
pub fn tcp_get(addr: &str, port: u16) -> String {
    format!("socat -T5 - TCP:{addr}:{port},connect-timeout=5 </dev/null")
}

pub fn udp_get(addr: &str, port: u16) -> String {
    format!("echo ping | socat -T3 - UDP:{addr}:{port}")
}
