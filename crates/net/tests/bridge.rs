//! Bridge networks, published ports and the firewall, as root, in namespaces of the test's
//! own: a "host" namespace with its own ruleset, "containers" and a "remote host".

mod lab;

use std::net::Ipv4Addr;

use hull_net::bridge;
use hull_net::firewall::{FirewallDriver, PortMapping, Proto};
use hull_net::netlink::Netlink;
use lab::{tcp_get, udp_get, Lab};

fn ping(ip: &str) -> String {
    format!("busybox ping -c1 -W2 {ip}")
}

#[test]
fn containers_on_one_bridge_reach_each_other_and_the_gateway() {
    let mut lab = Lab::new();
    let net = lab.network("n1", "hnt-b1", "10.201.1.0/24", false);
    let (c1, a1) = lab.container("c1", &net, "10.201.1.2");
    let (c2, _a2) = lab.container("c2", &net, "10.201.1.3");

    assert!(lab.eventually(&c1, &ping("10.201.1.3"), "1 packets received"));
    assert!(lab.eventually(&c2, &ping("10.201.1.2"), "1 packets received"));
    assert!(lab.eventually(&c1, &ping("10.201.1.1"), "1 packets received"));

    // The bridge keeps the address it was given as ports come and go, even a port with a
    // lower one (an unset bridge address follows its lowest port's, and the containers'
    // ARP entries for the gateway go stale).
    let host_ns = lab.host_ns.clone();
    let bridge_mac = || {
        let o = lab.sh(&host_ns, "ip -j link show hnt-b1");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v[0]["address"].as_str().unwrap().to_string()
    };
    assert_eq!(bridge_mac(), "02:42:0a:c9:01:01");
    assert!(lab.ok(
        &host_ns,
        "ip link add hnt-low type veth peer name hnt-low-p && \
         ip link set hnt-low address 00:00:00:00:00:01 && ip link set hnt-low master hnt-b1 && \
         ip link set hnt-low up"
    ));
    assert_eq!(bridge_mac(), "02:42:0a:c9:01:01");
    assert!(lab.ok(&host_ns, "ip link del hnt-low"));

    // What the container sees: eth0 with the docker-style MAC, mtu, address, default route.
    let out = lab.sh(&c1, "ip -j addr show eth0; ip -j route");
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("\"address\":\"02:42:0a:c9:01:02\""), "{s}");
    assert!(s.contains("\"mtu\":1400"), "{s}");
    assert!(
        s.contains("\"local\":\"10.201.1.2\",\"prefixlen\":24"),
        "{s}"
    );
    assert!(
        s.contains("\"dst\":\"default\",\"gateway\":\"10.201.1.1\""),
        "{s}"
    );
    // An IPv4-only network: no IPv6 on the container's interface (lo keeps ::1).
    let v6 = lab.sh(
        &c1,
        "cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6; ip -6 addr show dev eth0",
    );
    assert_eq!(String::from_utf8_lossy(&v6.stdout), "1\n");
    let lo = lab.sh(&c1, "ip -j link show lo");
    assert!(String::from_utf8_lossy(&lo.stdout).contains("\"operstate\":\"UNKNOWN\""));

    // The host end is on the bridge.
    let mut nl = Netlink::in_netns(&lab.host_ns).unwrap();
    let br = nl.index("hnt-b1").unwrap();
    let hv = nl.link(&a1.host_veth).unwrap().expect("host veth");
    assert_eq!(hv.master, Some(br));
    // ... with no IPv6 address or route of its own in the host's tables (the kernel walks
    // them all whenever a link goes); IPv4 crosses it above, IPv6 in e2e hull_net_ipv6.
    let v6 = lab.sh(
        &host_ns,
        &format!(
            "ip -6 addr show dev {0}; ip -6 route show table all dev {0}",
            a1.host_veth
        ),
    );
    assert!(v6.status.success(), "{v6:?}");
    assert_eq!(String::from_utf8_lossy(&v6.stdout), "", "{}", a1.host_veth);

    // detach removes both ends; a second detach finds nothing and is fine.
    assert!(bridge::detach(&mut lab.host, &a1).is_empty());
    assert!(!lab.links().contains(&a1.host_veth));
    assert!(!lab.ok(&c1, "ip link show eth0"));
    assert!(bridge::detach(&mut lab.host, &a1).is_empty());
    assert!(!lab.ok(&c2, &ping("10.201.1.2")));
}

#[test]
fn published_ports_from_remote_host_localhost_and_hairpin() {
    let mut lab = Lab::new();
    let net = lab.network("n1", "hnt-b2", "10.202.1.0/24", false);
    let (c1, _) = lab.container("c1", &net, "10.202.1.2");
    let (c2, _) = lab.container("c2", &net, "10.202.1.3");
    let remote = lab.remote(
        "remote",
        "hnt-r2",
        Ipv4Addr::new(10, 202, 9, 1),
        Ipv4Addr::new(10, 202, 9, 2),
    );
    lab.spawn(
        &c1,
        "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello-c1'",
    );
    lab.spawn(&c1, "socat UDP-RECVFROM:53,fork SYSTEM:'echo pong-c1'");
    let map = |host_ip, host_port, container_port, proto| PortMapping {
        host_ip,
        host_port,
        container_port,
        proto,
        container_ip: Ipv4Addr::new(10, 202, 1, 2),
        network: "n1".into(),
        container_ip6: None,
    };
    lab.fw
        .add_ports(
            "c1",
            &[
                map(None, 8080, 80, Proto::Tcp),
                map(None, 5353, 53, Proto::Udp),
                map(Some(Ipv4Addr::LOCALHOST.into()), 8081, 80, Proto::Tcp),
            ],
        )
        .unwrap();

    // Straight to the container from the host, then through the published port.
    assert!(lab.eventually(&lab.host_ns, &tcp_get("10.202.1.2", 80), "hello-c1"));
    assert!(lab.eventually(&remote, &tcp_get("10.202.9.1", 8080), "hello-c1"));
    assert!(lab.eventually(&lab.host_ns, &tcp_get("127.0.0.1", 8080), "hello-c1"));
    assert!(lab.eventually(&lab.host_ns, &tcp_get("127.0.0.1", 8081), "hello-c1"));
    assert!(lab.eventually(&lab.host_ns, &tcp_get("10.202.9.1", 8080), "hello-c1"));
    assert!(lab.eventually(&remote, &udp_get("10.202.9.1", 5353), "pong-c1"));
    // Hairpin: a neighbour and the container itself through the host's address.
    assert!(lab.eventually(&c2, &tcp_get("10.202.9.1", 8080), "hello-c1"));
    assert!(lab.eventually(&c1, &tcp_get("10.202.9.1", 8080), "hello-c1"));
    // Bound to 127.0.0.1 only: not reachable from the remote host.
    assert!(!lab
        .sh(&remote, &tcp_get("10.202.9.1", 8081))
        .stdout
        .starts_with(b"hello"));

    // A clash with another owner's port is refused and changes nothing.
    let e = lab
        .fw
        .add_ports(
            "c2",
            &[map(
                Some(Ipv4Addr::new(10, 202, 9, 1).into()),
                8080,
                80,
                Proto::Tcp,
            )],
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "host port 10.202.9.1:8080/tcp is already published by c1"
    );
    assert!(!lab.fw.state().unwrap().ports.contains_key("c2"));
    // Same port, other protocol is fine.
    let ports_chain = |lab: &Lab| -> (usize, usize) {
        let t = lab.fw.list_table().unwrap().unwrap();
        let items = t["nftables"].as_array().unwrap();
        let rules = items
            .iter()
            .filter(|i| i["rule"]["chain"] == "ports")
            .count();
        let elems: usize = items
            .iter()
            .filter_map(|i| i["map"]["elem"].as_array())
            .map(Vec::len)
            .sum();
        (rules, elems)
    };
    assert_eq!(
        ports_chain(&lab),
        (4, 6),
        "3 ports: an address and a port element each; 4 rules (by address and any, v4 and v6)"
    );
    lab.fw
        .add_ports("c2", &[map(None, 8080, 80, Proto::Udp)])
        .unwrap();
    // One more port is two more map elements; the chain keeps its two lookups.
    assert_eq!(ports_chain(&lab), (4, 8));

    // Unpublish: the remote host is refused again.
    lab.fw.remove_ports("c1").unwrap();
    lab.fw.remove_ports("c2").unwrap();
    assert!(!lab
        .sh(&remote, &tcp_get("10.202.9.1", 8080))
        .stdout
        .starts_with(b"hello"));
    assert!(lab.fw.remove_ports("c1").is_ok());
}

#[test]
fn networks_are_isolated_and_internal_has_no_outside() {
    let mut lab = Lab::new();
    let a = lab.network("a", "hnt-a3", "10.203.1.0/24", false);
    let b = lab.network("b", "hnt-b3", "10.203.2.0/24", false);
    let i = lab.network("i", "hnt-i3", "10.203.3.0/24", true);
    let (ca, _) = lab.container("ca", &a, "10.203.1.2");
    let (ca2, _) = lab.container("ca2", &a, "10.203.1.3");
    let (cb, _) = lab.container("cb", &b, "10.203.2.2");
    let (ci, _) = lab.container("ci", &i, "10.203.3.2");
    let (ci2, _) = lab.container("ci2", &i, "10.203.3.3");
    let remote = lab.remote(
        "remote",
        "hnt-r3",
        Ipv4Addr::new(10, 203, 9, 1),
        Ipv4Addr::new(10, 203, 9, 2),
    );

    // The outside (the remote host has no route back: this is masquerade at work).
    assert!(lab.eventually(&ca, &ping("10.203.9.2"), "1 packets received"));
    assert!(lab.eventually(&cb, &ping("10.203.9.2"), "1 packets received"));
    // Within a network, internal included.
    assert!(lab.eventually(&ca, &ping("10.203.1.3"), "1 packets received"));
    assert!(lab.eventually(&ci, &ping("10.203.3.3"), "1 packets received"));
    // Across networks, and from an internal network outwards: nothing.
    assert!(!lab.ok(&ca, &ping("10.203.2.2")));
    assert!(!lab.ok(&cb, &ping("10.203.1.2")));
    assert!(!lab.ok(&ci, &ping("10.203.9.2")));
    assert!(!lab.ok(&ci, &ping("10.203.1.2")));
    assert!(!lab.ok(&ca2, &ping("10.203.3.3")));
    assert!(!lab.ok(&ci2, &ping("10.203.2.2")));
    // A remote host does not reach into a subnet even with a route to it.
    assert!(lab.ok(&remote, "ip route add 10.203.0.0/16 via 10.203.9.1"));
    assert!(!lab.ok(&remote, &ping("10.203.3.2")));
}

#[test]
fn reload_restores_rules_and_teardown_leaves_nothing() {
    let mut lab = Lab::new();
    let links_before = lab.links();
    assert!(lab.nft_table().is_none());
    let net = lab.network("n1", "hnt-b4", "10.204.1.0/24", false);
    let (c1, a1) = lab.container("c1", &net, "10.204.1.2");
    let remote = lab.remote(
        "remote",
        "hnt-r4",
        Ipv4Addr::new(10, 204, 9, 1),
        Ipv4Addr::new(10, 204, 9, 2),
    );
    let links_with_remote: Vec<String> = lab
        .links()
        .into_iter()
        .filter(|l| l != "hnt-b4" && l != &a1.host_veth)
        .collect();
    lab.spawn(
        &c1,
        "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello-c1'",
    );
    let port = PortMapping {
        host_ip: None,
        host_port: 8080,
        container_port: 80,
        proto: Proto::Tcp,
        container_ip: Ipv4Addr::new(10, 204, 1, 2),
        network: "n1".into(),
        container_ip6: None,
    };
    lab.fw.add_ports("c1", &[port]).unwrap();
    assert!(lab.eventually(&remote, &tcp_get("10.204.9.1", 8080), "hello-c1"));
    assert!(lab.eventually(&c1, &ping("10.204.9.2"), "1 packets received"));

    // Someone flushes the ruleset: published port and masquerade are gone...
    assert!(lab.ok(&lab.host_ns, "nft flush ruleset"));
    assert!(lab.nft_table().is_none());
    assert!(!lab
        .sh(&remote, &tcp_get("10.204.9.1", 8080))
        .stdout
        .starts_with(b"hello"));
    assert!(!lab.ok(&c1, &ping("10.204.9.2")));
    // ...and reload brings both back from the persisted state.
    lab.fw.reload().unwrap();
    assert!(lab.eventually(&remote, &tcp_get("10.204.9.1", 8080), "hello-c1"));
    assert!(lab.eventually(&c1, &ping("10.204.9.2"), "1 packets received"));
    let t = lab.nft_table().unwrap().to_string();
    assert!(t.contains("10.204.1.2") && t.contains("hnt-b4"), "{t}");

    // Teardown: ports, the attachment, the network. Nothing of hull is left.
    lab.fw.remove_ports("c1").unwrap();
    assert!(bridge::detach(&mut lab.host, &a1).is_empty());
    assert!(bridge::teardown_network(&mut lab.host, &lab.fw, &net).is_empty());
    assert!(lab.nft_table().is_none(), "{:?}", lab.nft_table());
    assert_eq!(lab.links(), links_with_remote);
    assert!(links_before.iter().all(|l| links_with_remote.contains(l)));
    let st = lab.fw.state().unwrap();
    assert!(st.networks.is_empty() && st.ports.is_empty());
    // A second teardown is not an error (nothing to do); forwarding rules stay gone.
    assert!(bridge::teardown_network(&mut lab.host, &lab.fw, &net).is_empty());
}

/// Publishes and unpublishes of many owners at once, with whole rewrites of the table
/// (`reload`) among them: nft runs outside the state's lock, so each change must still
/// leave the maps holding exactly what the state holds.
#[test]
fn concurrent_publishes_and_unpublishes_leave_the_maps_as_the_state() {
    use hull_net::firewall::{Nftables, StateFile};
    let mut lab = Lab::new();
    let _net = lab.network("n9", "hnt-b9", "10.209.1.0/24", false);
    let fw = || {
        Nftables::new(
            "hull",
            StateFile::new(lab.dir.path().join("firewall.json")),
            Some(lab.host_ns.clone()),
        )
    };
    let map = |i: u16| PortMapping {
        host_ip: None,
        host_port: 30000 + i,
        container_port: 80,
        proto: Proto::Tcp,
        container_ip: Ipv4Addr::new(10, 209, 1, 2 + i as u8),
        network: "n9".into(),
        container_ip6: None,
    };
    let elems = |lab: &Lab| -> usize {
        let t = lab.fw.list_table().unwrap().unwrap();
        t["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["map"]["elem"].as_array())
            .map(Vec::len)
            .sum()
    };
    std::thread::scope(|s| {
        for t in 0..4u16 {
            let fw = fw();
            s.spawn(move || {
                for i in t * 10..t * 10 + 10 {
                    fw.add_ports(&format!("c{i}"), &[map(i)]).unwrap();
                }
            });
        }
    });
    assert_eq!(lab.fw.state().unwrap().ports.len(), 40);
    assert_eq!(elems(&lab), 80, "an address and a port element per port");
    // The same port for another owner is refused while its owner holds it.
    let e = fw().add_ports("other", &[map(7)]).unwrap_err().to_string();
    assert_eq!(e, "host port 0.0.0.0:30007/tcp is already published by c7");
    std::thread::scope(|s| {
        for t in 0..4u16 {
            let fw = fw();
            s.spawn(move || {
                for i in (t * 10..t * 10 + 10).filter(|i| i % 2 == 0) {
                    fw.remove_ports(&format!("c{i}")).unwrap();
                }
            });
        }
        let fw = fw();
        s.spawn(move || {
            for _ in 0..5 {
                fw.reload().unwrap();
            }
        });
    });
    let st = lab.fw.state().unwrap();
    let mut owners: Vec<&String> = st.ports.keys().collect();
    owners.sort();
    let want: Vec<String> = (0..40)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("c{i}"))
        .collect();
    let mut want: Vec<&String> = want.iter().collect();
    want.sort();
    assert_eq!(owners, want);
    assert_eq!(elems(&lab), 40, "the maps hold the state's ports, no more");
    // A freed port can be published again.
    fw().add_ports("other", &[map(0)]).unwrap();
    // Someone flushes the table: an unpublish rewrites it from the state, without the port.
    assert!(lab.ok(&lab.host_ns, "nft flush ruleset"));
    lab.fw.remove_ports("c1").unwrap();
    assert_eq!(elems(&lab), 40, "19 owners and `other`, two elements each");
}

/// Publishing changes map elements over netlink (firewall/nfnl.rs), a whole rewrite writes
/// them through nft's JSON: both must give the same elements, in each of the four maps
/// (by address and any address, IPv4 and IPv6), for TCP and UDP.
#[test]
fn map_elements_over_netlink_are_the_ones_nft_writes() {
    use std::net::{IpAddr, Ipv6Addr};
    let mut lab = Lab::new();
    let _net = lab.network("n8", "hnt-b8", "10.208.1.0/24", false);
    let port = |host_ip: Option<IpAddr>, host_port, proto, ip6: Option<Ipv6Addr>| PortMapping {
        host_ip,
        host_port,
        container_port: 8000 + host_port % 100,
        proto,
        container_ip: Ipv4Addr::new(10, 208, 1, 7),
        network: "n8".into(),
        container_ip6: ip6,
    };
    let c6: Ipv6Addr = "fd00:208::7".parse().unwrap();
    let ports = [
        port(None, 31001, Proto::Tcp, None),
        port(None, 31002, Proto::Udp, None),
        port(Some("127.0.0.1".parse().unwrap()), 31003, Proto::Tcp, None),
        port(Some("10.9.8.7".parse().unwrap()), 31004, Proto::Udp, None),
        port(Some("::".parse().unwrap()), 31005, Proto::Tcp, Some(c6)),
        port(
            Some("fd00:9::1".parse().unwrap()),
            31006,
            Proto::Udp,
            Some(c6),
        ),
    ];
    let maps = |lab: &Lab| -> Vec<(String, String)> {
        let t = lab.fw.list_table().unwrap().unwrap();
        let mut v: Vec<(String, String)> = t["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["map"].is_object())
            .map(|i| (i["map"]["name"].to_string(), i["map"]["elem"].to_string()))
            .collect();
        v.sort();
        v
    };
    lab.fw.add_ports("c1", &ports).unwrap();
    let by_netlink = maps(&lab);
    assert_eq!(
        by_netlink.iter().filter(|(_, e)| e != "null").count(),
        8,
        "every map has its element: {by_netlink:?}"
    );
    lab.fw.reload().unwrap();
    assert_eq!(
        maps(&lab),
        by_netlink,
        "nft's JSON writes the same elements"
    );
    // And deleting over netlink leaves every map empty.
    lab.fw.remove_ports("c1").unwrap();
    assert!(
        maps(&lab).iter().all(|(_, e)| e == "null"),
        "{:?}",
        maps(&lab)
    );
}
