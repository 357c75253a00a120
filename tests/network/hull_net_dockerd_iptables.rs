//! hull beside a real dockerd with its iptables rules ON (issue 18, "living beside docker"):
//! the one test that lets dockerd touch the host's firewall. dockerd gets its own data root,
//! exec root, socket, pidfile, containerd and a private bridge (`-b`, on 10.218.10.0/24);
//! when it stops, exactly its chains and rules are removed and the FORWARD policy is set back
//! to what it was (other tests run on this host meanwhile: nothing global is flushed).
//!
//! With FORWARD's policy DROP, as dockerd sets it on a host where it turns forwarding on,
//! hull's containers on the default network and on a user network still reach each other,
//! the host and a namespace routed through the host, and a published port is reached from
//! there; a docker container beside them works too, and hull never touches docker's chains.
//! Also compared with this dockerd: a fresh store's `network ls` rows and `network inspect
//! bridge` (docker's `bridge`, `host`, `none`), and `port` of `-p P:80` (both families).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use hull_e2e::client_support::{
    dockerd_command, out_text, output_via_files, require, stop_child, wait_until, ContainerdDaemon,
};
use hull_e2e::hull::Hull;
use hull_e2e::net::{host_tcp, inspect_ip, server, Remote};
use hull_e2e::wait_for;
use serde_json::Value;

/// docker's bridge device and subnet (its own, given with `-b`).
const DOCKER_BRIDGE: &str = "hd18-br";
const DOCKER_NET: &str = "10.218.10.";

fn sh(script: &str) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `iptables -w -t TABLE -S`, lines.
fn rules(table: &str) -> Vec<String> {
    text(&sh(&format!("iptables -w -t {table} -S")))
        .lines()
        .map(str::to_string)
        .collect()
}

/// docker's part of the ruleset: its chains and every rule naming them, its bridge or its
/// subnet.
fn docker_rules() -> Vec<String> {
    let mut v = Vec::new();
    for t in ["filter", "nat"] {
        for r in rules(t) {
            if r.contains("DOCKER") || r.contains(DOCKER_BRIDGE) || r.contains(DOCKER_NET) {
                v.push(format!("{t}: {r}"));
            }
        }
    }
    v
}

fn forward_policy() -> String {
    rules("filter")
        .iter()
        .find_map(|r| r.strip_prefix("-P FORWARD ").map(str::to_string))
        .unwrap_or_else(|| "ACCEPT".into())
}

/// The dockerd of this file and what it changed on the host, undone on drop.
struct Docker {
    dir: PathBuf,
    containerd: Option<ContainerdDaemon>,
    dockerd: Option<Child>,
    policy: String,
    nf_call: Option<String>,
    cgroup_parent: String,
}

const NF_CALL: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

impl Docker {
    fn start() -> Docker {
        require("dockerd");
        let dir = tempfile::Builder::new()
            .prefix("hull-d18-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let mut d = Docker {
            dir: dir.clone(),
            containerd: None,
            dockerd: None,
            policy: forward_policy(),
            nf_call: std::fs::read_to_string(NF_CALL).ok(),
            cgroup_parent: format!("hull-d18-{}", std::process::id()),
        };
        let _ = sh(&format!("ip link del {DOCKER_BRIDGE} 2>/dev/null"));
        let made = sh(&format!(
            "ip link add {DOCKER_BRIDGE} type bridge && ip addr add {DOCKER_NET}1/24 dev {DOCKER_BRIDGE} && ip link set {DOCKER_BRIDGE} up"
        ));
        assert!(made.status.success(), "bridge: {}", out_text(&made));
        d.containerd = Some(ContainerdDaemon::start(&dir, None));
        let mut cmd = dockerd_command(&dir, d.containerd.as_ref().unwrap(), &d.cgroup_parent);
        // The shared command turns iptables and the bridge off; the last flag wins.
        cmd.args(["--iptables=true", "--ip-masq=true", "--userland-proxy=true"])
            .arg(format!("--bridge={DOCKER_BRIDGE}"));
        d.dockerd = Some(cmd.spawn().unwrap());
        wait_until("dockerd to answer", Duration::from_secs(60), || {
            d.run(&["version"]).status.success()
        });
        let archive = hull_e2e::image::busybox_archive(&dir, "busybox:latest");
        let o = d.run(&["load", "-i", archive.to_str().unwrap()]);
        assert!(o.status.success(), "docker load: {}", out_text(&o));
        d
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new("/usr/bin/docker");
        c.env("DOCKER_CONFIG", self.dir.join("client"))
            .arg("-H")
            .arg(format!("unix://{}", self.dir.join("d.sock").display()))
            .args(args);
        output_via_files(&mut c)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "docker {args:?}: {}", out_text(&o));
        text(&o)
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let ids = self.run(&["ps", "-aq"]);
        for id in text(&ids).split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
        if let Some(mut c) = self.dockerd.take() {
            stop_child(&mut c);
        }
        if let Some(mut c) = self.containerd.take() {
            c.stop();
        }
        // dockerd leaves its rules: exactly those go, rules first, then its chains.
        for t in ["filter", "nat"] {
            let all = rules(t);
            for r in &all {
                let Some(rest) = r.strip_prefix("-A ") else {
                    continue;
                };
                let in_docker_chain = rest.starts_with("DOCKER");
                let names_docker = rest.contains("DOCKER")
                    || rest.contains(DOCKER_BRIDGE)
                    || rest.contains(DOCKER_NET);
                if !in_docker_chain && names_docker {
                    let _ = sh(&format!("iptables -w -t {t} -D {rest}"));
                }
            }
            let chains: Vec<&str> = all
                .iter()
                .filter_map(|r| r.strip_prefix("-N "))
                .filter(|c| c.starts_with("DOCKER"))
                .collect();
            for c in &chains {
                let _ = sh(&format!("iptables -w -t {t} -F {c}"));
            }
            for c in &chains {
                let _ = sh(&format!("iptables -w -t {t} -X {c}"));
            }
        }
        let _ = sh(&format!("iptables -w -P FORWARD {}", self.policy));
        if let Some(v) = &self.nf_call {
            let _ = std::fs::write(NF_CALL, v.trim());
        }
        let _ = sh(&format!("ip link del {DOCKER_BRIDGE}"));
        hull_e2e::unmount_under(&self.dir);
        hull_e2e::client_support::remove_cgroups(&self.cgroup_parent);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `network ls` rows (name, driver, scope) and `network inspect bridge`'s key set and a few
/// fields, as a script reads them.
fn network_view(ls: &str, inspect: &str) -> (BTreeSet<String>, BTreeSet<String>, String) {
    let rows = ls.lines().map(str::to_string).collect();
    let v: Value = serde_json::from_str(inspect).unwrap();
    let b = &v[0];
    let keys = b.as_object().unwrap().keys().cloned().collect();
    let fields = format!(
        "{} {} {} {} {}",
        b["Name"], b["Driver"], b["Scope"], b["EnableIPv6"], b["Internal"]
    );
    (rows, keys, fields)
}

const LS_FORMAT: &str = "{{.Name}} {{.Driver}} {{.Scope}}";

fn ping(h: &Hull, name: &str, ip: &str) -> bool {
    h.run(&["exec", name, "ping", "-c1", "-W5", ip]).success()
}

fn nc(h: &Hull, name: &str, ip: &str) -> String {
    h.run(&[
        "exec",
        name,
        "sh",
        "-c",
        &format!("nc -w5 {ip} 80 </dev/null"),
    ])
    .stdout
    .trim()
    .to_string()
}

#[test]
fn hull_works_beside_dockerd_with_its_iptables_rules_on() {
    hull_e2e::require_root();
    let before = docker_rules();
    if !before.is_empty() {
        eprintln!("skipped: the host already has docker's rules, not ours to touch: {before:?}");
        return;
    }
    let h = Hull::new();
    // A fresh store, before any container: docker's three networks, as the dockerd below
    // shows them.
    let fresh = network_view(
        &h.ok(&["network", "ls", "--format", LS_FORMAT]),
        &h.ok(&["network", "inspect", "bridge"]),
    );
    let bridge_id = h.ok(&["network", "inspect", "bridge", "--format", "{{.Id}}"]);

    let remote = Remote::new("hnt-rem18", 218);
    let docker = Docker::start();
    let theirs = network_view(
        &docker.ok(&["network", "ls", "--format", LS_FORMAT]),
        &docker.ok(&["network", "inspect", "bridge"]),
    );
    assert_eq!(fresh, theirs, "fresh store's networks: hull vs docker");

    // docker's container first, then the snapshot of docker's rules hull must leave alone.
    let q = free_port();
    docker.ok(&[
        "run",
        "-d",
        "--name",
        "dweb",
        "-p",
        &format!("{q}:80"),
        "busybox",
        "sh",
        "-c",
        "while true; do echo from-d | nc -l -p 80; done",
    ]);
    // As dockerd sets it when it turns forwarding on itself (here forwarding was on already).
    assert!(sh("iptables -w -P FORWARD DROP").status.success());
    let docker_before = docker_rules();
    assert!(
        docker_before.iter().any(|r| r.contains("-j DOCKER-USER")),
        "{docker_before:?}"
    );

    // hull: the default network (one server publishing P) and a user network.
    let p = free_port();
    server(
        &h,
        "web-a",
        "bridge",
        &["-p", &format!("{p}:80")],
        80,
        "from-a",
    );
    h.ok(&["run", "-d", "--name", "cli-a", "busybox", "sleep", "300"]);
    h.ok(&["network", "create", "u18"]);
    server(&h, "web-b", "u18", &[], 80, "from-b");
    h.ok(&[
        "run",
        "-d",
        "--name",
        "cli-b",
        "--network",
        "u18",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(
        h.ok(&["network", "inspect", "bridge", "--format", "{{.Id}}"]),
        bridge_id,
        "the default network's id changed when it was made"
    );
    assert_eq!(forward_policy(), "DROP");
    let (a_ip, b_ip) = (inspect_ip(&h, "web-a"), inspect_ip(&h, "web-b"));
    let a_ip = a_ip.split('/').next().unwrap();
    let b_ip = b_ip.split('/').next().unwrap();
    // Each other, on each network.
    assert!(
        wait_for(30, || nc(&h, "cli-a", a_ip) == "from-a"),
        "a2 -> a"
    );
    assert!(
        wait_for(30, || nc(&h, "cli-b", "web-b") == "from-b"),
        "b2 -> b by name"
    );
    assert!(
        wait_for(30, || nc(&h, "cli-b", b_ip) == "from-b"),
        "b2 -> b"
    );
    // The host and a namespace routed through it (forwarded: FORWARD's policy applies).
    let gw = h.ok(&[
        "network",
        "inspect",
        "u18",
        "--format",
        "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
    ]);
    assert!(ping(&h, "cli-b", &gw), "b2 -> its gateway {gw}");
    assert!(
        ping(&h, "cli-a", "10.218.9.2"),
        "a2 -> the routed namespace"
    );
    assert!(
        ping(&h, "cli-b", "10.218.9.2"),
        "b2 -> the routed namespace"
    );
    assert!(
        wait_for(30, || host_tcp(a_ip, 80).trim() == "from-a"),
        "host -> a"
    );
    // The published port, from the routed namespace (DNAT, then forwarded) and over IPv6.
    let fetch = |port: u16| {
        text(&remote.sh(&format!(
            "socat -T5 - TCP:10.218.9.1:{port},connect-timeout=5"
        )))
    };
    assert!(
        wait_for(30, || fetch(p) == "from-a"),
        "remote -> hull's published {p}"
    );
    // docker's container works beside them.
    assert!(
        wait_for(30, || fetch(q) == "from-d"),
        "remote -> docker's published {q}"
    );
    let d_ping = docker.run(&["exec", "dweb", "ping", "-c1", "-W5", "10.218.9.2"]);
    assert!(
        d_ping.status.success(),
        "docker's container -> the routed namespace: {}",
        out_text(&d_ping)
    );
    // `-p P:80` is published on both families by both engines.
    let shape = |s: &str, port: u16| s.replace(&port.to_string(), "PORT");
    assert_eq!(
        shape(h.ok(&["port", "web-a"]).trim(), p),
        shape(&docker.ok(&["port", "dweb"]), q),
        "port: hull vs docker"
    );
    let v6 = |port: u16| {
        text(&sh(&format!(
            "socat -T5 - TCP6:[::1]:{port},connect-timeout=5"
        )))
    };
    assert!(wait_for(30, || v6(q) == "from-d"), "docker: [::1]:{q}");
    assert!(wait_for(30, || v6(p) == "from-a"), "hull: [::1]:{p}");

    // hull left docker's chains and rules as they were, and has one jump of its own.
    assert_eq!(docker_rules(), docker_before, "hull changed docker's rules");
    let jumps: Vec<String> = rules("filter")
        .into_iter()
        .filter(|r| r.starts_with("-A FORWARD") && r.contains("HULL"))
        .collect();
    assert!(!jumps.is_empty(), "no jump to hull's chain in FORWARD");
    for name in ["web-a", "cli-a", "web-b", "cli-b"] {
        h.ok(&["rm", "-f", name]);
    }
    h.ok(&["network", "rm", "u18"]);
    drop(docker);
    assert!(
        docker_rules().is_empty(),
        "docker's rules left: {:?}",
        docker_rules()
    );
    drop(remote);
}

/// A free TCP port on both families.
fn free_port() -> u16 {
    std::net::TcpListener::bind("[::]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
