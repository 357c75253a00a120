//! hull's networking as a docker user meets it (issue 18): a published port is reserved for
//! the container's life and a port in use is refused as docker refuses it; `--network none`
//! has its loopback up; `--add-host NAME:host-gateway` and `--dns-option` land where the
//! process looks. Each check looks from inside the container or from the host.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use hull_e2e::hull::Hull;
use hull_e2e::wait_for;

/// The ports of the default network's bridge (this hull root's own: its name carries a tag
/// of the runroot).
fn bridge_ports(h: &Hull) -> Vec<String> {
    let br = h.ok(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
    ]);
    let dir = format!("/sys/class/net/{}/brif", br.trim());
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    v.sort();
    v
}

/// `nft list ruleset` has a DNAT element for host port `port` (`tcp . PORT : ADDR . PORT`).
fn nft_mentions_port(port: u16) -> bool {
    let o = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).contains(&format!(". {port} :"))
}

fn tcp_text(port: u16) -> String {
    let o = Command::new("socat")
        .args([
            "-T5",
            "-",
            &format!("TCP:127.0.0.1:{port},connect-timeout=5"),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn a_port_in_use_is_refused_and_a_published_port_is_held_while_the_container_runs() {
    let h = Hull::new();
    // One container keeps the default network (and its bridge) up throughout.
    h.ok(&["run", "-d", "--name", "keep", "busybox", "sleep", "120"]);
    let ports_before = bridge_ports(&h);
    assert_eq!(ports_before.len(), 1, "{ports_before:?}");
    // A host process listens on a port: docker refuses to publish it (exit 125), and so must
    // hull, leaving no running container, veth or rule behind.
    let squatter = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = squatter.local_addr().unwrap().port();
    let publish = format!("{port}:80");
    let (code, err) = h.fails(&[
        "run", "-d", "--name", "web", "-p", &publish, "busybox", "sleep", "60",
    ]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains(&format!("0.0.0.0:{port}: bind: address already in use")),
        "{err}"
    );
    let st = h.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=web",
        "--format",
        "{{.Status}}",
    ]);
    assert!(st.trim().is_empty() || st.starts_with("Created"), "{st}");
    let _ = h.run(&["rm", "web"]);
    assert!(
        !nft_mentions_port(port),
        "a failed run leaves no rule for {port}"
    );
    assert_eq!(
        bridge_ports(&h),
        ports_before,
        "a failed run leaves no veth"
    );
    // The host's listener still gets its own connections.
    let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    assert!(squatter.accept().is_ok());
    drop(squatter);

    // Published: the port is held (a host process cannot take it) and reaches the container.
    h.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "while true; do echo from-web | nc -l -p 80; done",
    ]);
    let e = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
    assert!(
        wait_for(30, || tcp_text(port) == "from-web"),
        "127.0.0.1:{port} does not reach the container"
    );
    // A second container cannot publish it either (docker: "port is already allocated").
    let (code, err) = h.fails(&["run", "--rm", "-p", &publish, "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains(&format!("0.0.0.0:{port}/tcp is already published by")),
        "{err}"
    );
    // -p 80 alone: the host port is the one the kernel chose, and it is held too.
    h.ok(&[
        "run", "-d", "--name", "any", "-p", "80", "busybox", "sleep", "60",
    ]);
    assert!(nft_mentions_port(port), "no DNAT element for {port}");
    let any: u16 = h
        .ok(&["port", "any", "80"])
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(TcpListener::bind((Ipv4Addr::UNSPECIFIED, any)).is_err());
    // Stopped: the port is free again.
    h.ok(&["rm", "-f", "web", "any", "keep"]);
    assert!(
        wait_for(30, || TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
            .is_ok()),
        "port {port} still held after rm"
    );
    assert!(!nft_mentions_port(port));
}

#[test]
fn network_none_has_its_loopback_up() {
    let h = Hull::new();
    let out = h.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "cat /sys/class/net/lo/operstate; ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok; \
         ls /sys/class/net",
    ]);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["unknown", "ping-ok", "lo"], "{out}");
    // Nothing pinned is left once it is gone.
    let netns = h.runroot().join("netns");
    let left = std::fs::read_dir(&netns).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "{} keeps a namespace", netns.display());
}

#[test]
fn add_host_gateway_and_dns_options() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.218.7.0/24", "gwnet"]);
    let out = h.ok(&[
        "run", "--rm", "--network", "gwnet", "--add-host", "host.docker.internal:host-gateway",
        "--dns-option", "ndots:3", "--dns-option", "timeout:1", "busybox", "sh", "-c",
        "cat /etc/hosts /etc/resolv.conf; ping -c1 -W2 host.docker.internal >/dev/null && echo ping-ok",
    ]);
    assert!(out.contains("10.218.7.1\thost.docker.internal\n"), "{out}");
    assert!(out.contains("options ndots:3 timeout:1\n"), "{out}");
    assert!(out.contains("ping-ok"), "{out}");
    let (code, err) = h.fails(&["run", "--rm", "--add-host", "x:gateway", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("--add-host"), "{err}");
}

#[test]
fn the_default_network_is_docker_s_bridge_and_an_old_store_is_upgraded() {
    let h = Hull::new();
    h.ok(&["run", "-d", "--name", "web1", "busybox", "sleep", "120"]);
    // docker's three rows, by name.
    let names = h.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names, ["bridge bridge", "host host", "none null"]);
    assert_eq!(h.ok(&["ps", "--format", "{{.Networks}}"]).trim(), "bridge");
    // What scripts read from inspect is what the process sees.
    let inside = h.ok(&[
        "exec", "web1", "sh", "-c",
        "ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1; cat /sys/class/net/eth0/address; \
         ip route | awk '/default/ {print $3}'",
    ]);
    let got = h.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.Networks.bridge.IPAddress}}\n{{.NetworkSettings.Networks.bridge.MacAddress}}\n\
         {{.NetworkSettings.Networks.bridge.Gateway}}",
        "web1",
    ]);
    assert_eq!(got.trim(), inside.trim());
    // --network bridge and the old name are the same network; host and none stay.
    for n in ["bridge", "hull0"] {
        let gw = h.ok(&[
            "run",
            "--rm",
            "--network",
            n,
            "busybox",
            "sh",
            "-c",
            "ip route | awk '/default/ {print $3}'",
        ]);
        assert_eq!(gw.trim(), inside.lines().nth(2).unwrap(), "--network {n}");
    }
    for n in ["bridge", "host", "none", "hull0"] {
        let (code, err) = h.fails(&["network", "rm", n]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("pre-defined network"), "{err}");
        let (code, _) = h.fails(&["network", "create", n]);
        assert_ne!(code, 0, "network create {n}");
    }
    let host = h.ok(&[
        "network",
        "inspect",
        "--format",
        "{{.Driver}}",
        "host",
        "none",
    ]);
    assert_eq!(
        host.split_whitespace().collect::<Vec<_>>(),
        ["host", "null"]
    );

    // A store from before the rename: its default network is `hull0`. The first use renames
    // it and the running container keeps its address and network.
    let db = h.root().join("hull.db");
    let sql = "UPDATE networks SET name='hull0' WHERE name='bridge'; \
               UPDATE leases SET network='hull0' WHERE network='bridge'; \
               UPDATE ipam_cursors SET network='hull0' WHERE network='bridge';";
    let o = Command::new("sqlite3").arg(&db).arg(sql).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fw = h.runroot().join("network/firewall.json");
    let state = std::fs::read_to_string(&fw).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&state).unwrap();
    let mut net = old["networks"]["bridge"].take();
    net["name"] = "hull0".into();
    old["networks"] = serde_json::json!({ "hull0": net });
    std::fs::write(&fw, old.to_string()).unwrap();
    let names = h.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        names.split_whitespace().collect::<Vec<_>>(),
        ["bridge", "host", "none"]
    );
    let got = h.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.Networks.bridge.IPAddress}}",
        "web1",
    ]);
    assert_eq!(got.trim(), inside.lines().next().unwrap());
    let state = std::fs::read_to_string(&fw).unwrap();
    assert!(!state.contains("hull0\""), "{state}");
    // The next container joins the same network beside it.
    let gw = h.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ping -c1 -W2 $0 >/dev/null && echo ok",
        inside.lines().next().unwrap(),
    ]);
    assert_eq!(gw.trim(), "ok");
    h.ok(&["rm", "-f", "web1"]);
}

/// Removes the test's containers from inside its namespace (a removal from outside would
/// apply the firewall in the wrong namespace), also when an assertion failed.
struct RmInside(Command);

impl Drop for RmInside {
    fn drop(&mut self) {
        let _ = self.0.output();
    }
}

/// `nsenter --net=NS` before a command.
fn in_ns(ns: &std::path::Path, prog: &str) -> Command {
    let mut c = Command::new("nsenter");
    c.arg(format!("--net={}", ns.display())).arg(prog);
    c.stdin(Stdio::null());
    c
}

#[test]
fn traffic_flows_when_iptables_forward_policy_is_drop_as_dockerd_sets_it() {
    // A host of its own (a network namespace), so the DROP policy that dockerd sets on the
    // filter table's FORWARD chain disturbs no other test; a remote namespace wired to it.
    let h = Hull::new();
    let dir = tempfile::tempdir().unwrap();
    let host = hull_net::netns::create(dir.path(), "host").unwrap();
    let remote = hull_net::netns::create(dir.path(), "remote").unwrap();
    let rf = hull_net::netns::open(&remote).unwrap();
    let mut nl = hull_net::netlink::Netlink::in_netns(&host).unwrap();
    let peer = hull_net::netlink::VethPeer {
        name: "eth0",
        netns: Some(&rf),
        mac: None,
        mtu: None,
    };
    nl.create_veth("hv0", &peer, None).unwrap();
    for (ns, link, ip) in [(&host, "hv0", 1), (&remote, "eth0", 2)] {
        let mut n = hull_net::netlink::Netlink::in_netns(ns).unwrap();
        let i = n.index(link).unwrap();
        n.add_address(i, Ipv4Addr::new(10, 217, 9, ip), 24).unwrap();
        n.set_up(i, true).unwrap();
        let lo = n.index("lo").unwrap();
        n.set_up(lo, true).unwrap();
    }
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(in_ns(&host, "iptables").args(["-w", "-P", "FORWARD", "DROP"]));
    let hull = |args: &[&str]| {
        let mut c = in_ns(&host, hull_e2e::hull_bin().to_str().unwrap());
        c.arg("--root")
            .arg(h.root())
            .arg("--runroot")
            .arg(h.runroot());
        c.args(args);
        c
    };
    let _rm = RmInside(hull(&["rm", "-f", "web"]));
    ok(&mut hull(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "18090:80",
        "busybox",
        "sh",
        "-c",
        "while true; do echo from-web | nc -l -p 80; done",
    ]));
    // Out of the container to the remote (forwarded, masqueraded).
    let out = ok(&mut hull(&[
        "exec",
        "web",
        "sh",
        "-c",
        "ping -c1 -W3 10.217.9.2 >/dev/null && echo ping-ok",
    ]));
    assert_eq!(out.trim(), "ping-ok");
    // Into it from the remote through the published port (DNAT, forwarded).
    let got = || {
        let o = in_ns(&remote, "socat")
            .args(["-T5", "-", "TCP:10.217.9.1:18090,connect-timeout=5"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert!(
        wait_for(30, || got() == "from-web"),
        "published port not reached"
    );
    // iptables kept its policy and got one jump to hull's chain, gone with the network.
    let rules = ok(in_ns(&host, "iptables").args(["-w", "-S", "FORWARD"]));
    assert!(rules.contains("-P FORWARD DROP"), "{rules}");
    assert_eq!(rules.matches("-j HULL-").count(), 1, "{rules}");
    ok(&mut hull(&["rm", "-f", "web"]));
    let rules = ok(in_ns(&host, "iptables").args(["-w", "-S"]));
    assert!(!rules.contains("HULL-"), "{rules}");
    drop(nl);
    let _ = hull_net::netns::remove(&remote);
    let _ = hull_net::netns::remove(&host);
}
