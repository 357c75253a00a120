//! Networks seen from outside the containers, for the network tests: a "remote host" (a
//! namespace the test wires to the host by a veth on 10.N.9.0/24; no traffic leaves the
//! machine), a TCP server in a container, and what the host reaches and sees.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::hull::Hull;
use crate::wait_for;

/// A namespace wired to the host: host side `host_if` = 10.N.9.1, inside eth0 = 10.N.9.2.
pub struct Remote {
    dir: tempfile::TempDir,
    ns: PathBuf,
    host_if: String,
}

impl Remote {
    pub fn new(host_if: &str, net: u8) -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let ns = hull_net::netns::create(dir.path(), "remote").unwrap();
        let f = hull_net::netns::open(&ns).unwrap();
        let mut nl = hull_net::netlink::Netlink::new().unwrap();
        let _ = nl.delete_link_named(host_if);
        let peer = hull_net::netlink::VethPeer {
            name: "eth0",
            netns: Some(&f),
            mac: None,
            mtu: None,
        };
        nl.create_veth(host_if, &peer, None).unwrap();
        let i = nl.index(host_if).unwrap();
        nl.add_address(i, std::net::Ipv4Addr::new(10, net, 9, 1), 24)
            .unwrap();
        nl.set_up(i, true).unwrap();
        let mut r = hull_net::netlink::Netlink::in_netns(&ns).unwrap();
        let e = r.index("eth0").unwrap();
        r.add_address(e, std::net::Ipv4Addr::new(10, net, 9, 2), 24)
            .unwrap();
        r.set_up(e, true).unwrap();
        let lo = r.index("lo").unwrap();
        r.set_up(lo, true).unwrap();
        Remote {
            dir,
            ns,
            host_if: host_if.into(),
        }
    }

    pub fn sh(&self, cmd: &str) -> Output {
        Command::new("nsenter")
            .arg(format!("--net={}", self.ns.display()))
            .args(["sh", "-c", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Ok(mut nl) = hull_net::netlink::Netlink::new() {
            let _ = nl.delete_link_named(&self.host_if);
        }
        let _ = hull_net::netns::remove(&self.ns);
        let _ = &self.dir;
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn eventually(mut f: impl FnMut() -> String, want: &str) -> bool {
    let mut last = String::new();
    let ok = wait_for(30, || {
        last = f();
        last.contains(want)
    });
    if !ok {
        eprintln!("wanted {want:?}, last saw {last:?}");
    }
    ok
}

/// A TCP server in a container: answers `text` to each connection on `port`.
pub fn server(h: &Hull, name: &str, net: &str, extra: &[&str], port: u16, text: &str) -> String {
    let script = format!("while true; do echo {text} | nc -l -p {port}; done");
    let mut args = vec!["run", "-d", "--name", name, "--network", net];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    h.ok(&args).trim().to_string()
}

pub fn inspect_ip(h: &Hull, name: &str) -> String {
    h.ok(&[
        "exec",
        name,
        "sh",
        "-c",
        "ip -o -4 addr show eth0 | awk '{print $4}'",
    ])
    .trim()
    .to_string()
}

pub fn host_tcp(addr: &str, port: u16) -> String {
    let o = Command::new("socat")
        .args(["-T5", "-", &format!("TCP:{addr}:{port},connect-timeout=5")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    stdout(&o)
}

/// Runs `ip ARGS` on the host; it must succeed.
pub fn ip(args: &[&str]) {
    assert!(
        Command::new("ip").args(args).status().unwrap().success(),
        "ip {args:?}"
    )
}

pub fn hull_links() -> BTreeSet<String> {
    let out = Command::new("ip").args(["-j", "link"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_string())
        .collect()
}
