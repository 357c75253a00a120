//! Containers on bridge networks, through the real `hull run`: what the processes inside
//! see and reach. A "remote host" is a namespace the test wires to the host by a veth on
//! 10.21x.9.0/24; no traffic leaves the machine.

use std::process::Command;

use hull_e2e::hull::Hull;
use hull_e2e::net::{eventually, host_tcp, inspect_ip, server, stdout, Remote};
use hull_e2e::wait_for;
use serde_json::Value;

#[test]
fn containers_reach_each_other_by_ip_and_name_and_the_host() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.215.1.0/24", "front"]);
    server(
        &h,
        "web",
        "front",
        &["--network-alias", "www"],
        80,
        "hello-web",
    );
    h.ok(&[
        "run",
        "-d",
        "--name",
        "cli",
        "--network",
        "front",
        "--hostname",
        "clihost",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(inspect_ip(&h, "web"), "10.215.1.2/24");
    assert_eq!(inspect_ip(&h, "cli"), "10.215.1.3/24");

    let ping = |target: &str| h.run(&["exec", "cli", "ping", "-c1", "-W2", target]).stdout;
    assert!(eventually(|| ping("10.215.1.2"), "1 packets received"));
    assert!(eventually(|| ping("web"), "64 bytes from 10.215.1.2"));
    assert!(eventually(|| ping("www"), "64 bytes from 10.215.1.2"));
    assert!(
        eventually(|| ping("10.215.1.1"), "1 packets received"),
        "the host (gateway)"
    );
    let get = |target: &str| h.run(&["exec", "cli", "nc", "-w5", target, "80"]).stdout;
    assert!(eventually(|| get("web"), "hello-web"));
    // What the container was given: eth0's MAC from its address, resolv.conf naming the
    // network's responder, its own names in /etc/hosts.
    let link = h.ok(&["exec", "cli", "cat", "/sys/class/net/eth0/address"]);
    assert_eq!(link.trim(), "02:42:0a:d7:01:03");
    assert_eq!(
        h.ok(&["exec", "cli", "cat", "/etc/resolv.conf"])
            .lines()
            .filter(|l| l.starts_with("nameserver"))
            .collect::<Vec<_>>(),
        ["nameserver 10.215.1.1"]
    );
    assert!(h
        .ok(&["exec", "cli", "cat", "/etc/hosts"])
        .contains("10.215.1.3\tclihost cli\n"));
    // The host reaches the container's address directly.
    assert!(eventually(|| host_tcp("10.215.1.2", 80), "hello-web"));

    // A container that leaves is no longer resolved.
    h.ok(&["rm", "-f", "web"]);
    assert!(wait_for(30, || !h
        .run(&["exec", "cli", "nslookup", "web", "10.215.1.1"])
        .success()));
}

#[test]
fn published_ports_from_a_remote_host_localhost_and_neighbours_tcp_and_udp() {
    let h = Hull::new();
    let remote = Remote::new("hnt-rem16", 216);
    h.ok(&["network", "create", "--subnet", "10.216.1.0/24", "pub"]);
    let id = server(
        &h,
        "web",
        "pub",
        &[
            "-p",
            "18216:80",
            "-p",
            "127.0.0.1:18217:80",
            "-p",
            "18218:53/udp",
        ],
        80,
        "hello-web",
    );
    h.ok(&[
        "run",
        "-d",
        "--name",
        "nb",
        "--network",
        "pub",
        "busybox",
        "sleep",
        "300",
    ]);
    // UDP: a responder inside the container's namespace (busybox nc has no UDP).
    let ns = h.runroot().join("netns").join(&id);
    let mut udp = Command::new("nsenter")
        .arg(format!("--net={}", ns.display()))
        .args(["socat", "UDP-RECVFROM:53,fork", "SYSTEM:echo pong-web"])
        .spawn()
        .unwrap();

    let remote_tcp = |port: u16| {
        stdout(&remote.sh(&format!(
            "socat -T5 - TCP:10.216.9.1:{port},connect-timeout=5 </dev/null"
        )))
    };
    assert!(
        eventually(|| remote_tcp(18216), "hello-web"),
        "remote host through the host's address"
    );
    assert!(
        eventually(|| host_tcp("127.0.0.1", 18216), "hello-web"),
        "127.0.0.1 on the host"
    );
    assert!(eventually(|| host_tcp("127.0.0.1", 18217), "hello-web"));
    assert!(
        eventually(|| host_tcp("10.216.9.1", 18216), "hello-web"),
        "the host's own address"
    );
    assert!(
        eventually(
            || h.run(&["exec", "nb", "nc", "-w5", "10.216.9.1", "18216"])
                .stdout,
            "hello-web"
        ),
        "hairpin from a neighbour"
    );
    assert!(
        eventually(
            || stdout(&remote.sh("echo ping | socat -T3 - UDP:10.216.9.1:18218")),
            "pong-web"
        ),
        "udp"
    );
    // Bound to 127.0.0.1: not for the remote host.
    assert!(!remote_tcp(18217).contains("hello"));

    // A clash is a clear error and leaves no container behind.
    let (code, err) = h.fails(&[
        "run",
        "-d",
        "--name",
        "clash",
        "--network",
        "pub",
        "-p",
        "18216:80",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("host port 0.0.0.0:18216/tcp is already published by"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let inspect: Value = serde_json::from_str(&h.ok(&["network", "inspect", "pub"])).unwrap();
    assert_eq!(
        inspect[0]["Containers"].as_object().unwrap().len(),
        2,
        "no lease of the failed container"
    );

    let _ = udp.kill();
    let _ = udp.wait();
    h.ok(&["rm", "-f", "web"]);
    assert!(
        !remote_tcp(18216).contains("hello"),
        "unpublished with the container"
    );
}

#[test]
fn networks_are_isolated_and_internal_has_no_outside() {
    let h = Hull::new();
    let remote = Remote::new("hnt-rem17", 217);
    h.ok(&["network", "create", "--subnet", "10.217.1.0/24", "a"]);
    h.ok(&["network", "create", "--subnet", "10.217.2.0/24", "b"]);
    h.ok(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        "10.217.3.0/24",
        "i",
    ]);
    for (n, net) in [("ca", "a"), ("cb", "b"), ("ci", "i"), ("ci2", "i")] {
        h.ok(&[
            "run",
            "-d",
            "--name",
            n,
            "--network",
            net,
            "busybox",
            "sleep",
            "300",
        ]);
    }
    let ping = |c: &str, ip: &str| h.run(&["exec", c, "ping", "-c1", "-W2", ip]).success();
    // The remote host has no route back to 10.217.1.0/24: masquerade makes this work.
    assert!(wait_for(30, || ping("ca", "10.217.9.2")));
    assert!(wait_for(30, || ping("ci", "10.217.3.3")));
    assert!(!ping("ca", "10.217.2.2"), "a -> b");
    assert!(!ping("cb", "10.217.1.2"), "b -> a");
    assert!(!ping("ci", "10.217.9.2"), "internal -> outside");
    assert!(!ping("ci", "10.217.1.2"), "internal -> a");
    assert!(!ping("ca", "10.217.3.2"), "a -> internal");
    drop(remote);
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.221.1.0/24", "one"]);
    h.ok(&["network", "create", "--subnet", "10.221.2.0/24", "two"]);
    h.ok(&[
        "run",
        "-d",
        "--name",
        "cx",
        "--network",
        "one",
        "busybox",
        "sleep",
        "300",
    ]);
    h.ok(&[
        "run",
        "-d",
        "--name",
        "cy",
        "--network",
        "two",
        "busybox",
        "sleep",
        "300",
    ]);
    let ping = |c: &str, t: &str| h.run(&["exec", c, "ping", "-c1", "-W2", t]).success();
    assert!(!ping("cx", "10.221.2.2"), "isolated before connect");
    h.ok(&["network", "connect", "--ip", "10.221.2.50", "two", "cx"]);
    let addrs = h.ok(&["exec", "cx", "ip", "-o", "-4", "addr"]);
    assert!(
        addrs.contains("eth1") && addrs.contains("10.221.2.50/24"),
        "{addrs}"
    );
    assert!(wait_for(30, || ping("cx", "10.221.2.2")));
    assert!(
        wait_for(30, || ping("cy", "cx")),
        "y resolves x on network two"
    );
    let (_, err) = h.fails(&["network", "connect", "two", "cx"]);
    assert!(err.contains("is already connected to network two"), "{err}");
    h.ok(&["network", "disconnect", "two", "cx"]);
    assert!(!h
        .ok(&["exec", "cx", "ip", "-o", "-4", "addr"])
        .contains("10.221.2.50"));
    assert!(!ping("cy", "10.221.2.50"));
    let (_, err) = h.fails(&["network", "disconnect", "two", "cx"]);
    assert!(err.contains("is not connected to network two"), "{err}");
}

/// `-P` publishes what the image EXPOSEs on ports the kernel picks; inspect's NetworkSettings
/// (Networks, Ports, IPAddress), ps's PORTS and `hull port` show them as docker's do, and the
/// port answers from the host.
#[test]
fn publish_all_exposed_ports_and_show_them() {
    let h = Hull::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs/bin");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy("/bin/busybox", root.join("busybox")).unwrap();
    for a in ["sh", "nc", "echo", "ip", "awk"] {
        std::os::unix::fs::symlink("busybox", root.join(a)).unwrap();
    }
    let tar = dir.path().join("img.tar");
    let o = Command::new("tar")
        .arg("-C")
        .arg(dir.path().join("rootfs"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .output()
        .unwrap();
    assert!(o.status.success());
    h.ok(&[
        "import",
        "--change",
        "EXPOSE 80",
        "--change",
        "EXPOSE 81",
        tar.to_str().unwrap(),
        "exposer:1",
    ]);
    h.ok(&["network", "create", "--subnet", "10.219.1.0/24", "pnet"]);
    let script = "while true; do echo hello-P | nc -l -p 80; done";
    h.ok(&[
        "run",
        "-d",
        "--name",
        "pa",
        "--network",
        "pnet",
        "-P",
        "-p",
        "18219:81",
        "exposer:1",
        "sh",
        "-c",
        script,
    ]);
    let settings: Value =
        serde_json::from_str(&h.ok(&["inspect", "--format", "{{json .NetworkSettings}}", "pa"]))
            .unwrap();
    let ip = inspect_ip(&h, "pa");
    let net = &settings["Networks"]["pnet"];
    assert_eq!(
        format!(
            "{}/{}",
            net["IPAddress"].as_str().unwrap(),
            net["IPPrefixLen"]
        ),
        ip
    );
    assert_eq!(net["Gateway"], "10.219.1.1");
    assert_eq!(settings["IPAddress"], net["IPAddress"]);
    let host_port: u16 = settings["Ports"]["80/tcp"][0]["HostPort"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(settings["Ports"]["81/tcp"][0]["HostPort"], "18219");
    assert!(eventually(|| host_tcp("127.0.0.1", host_port), "hello-P"));
    // Both families, as docker 20.10 prints them (hull_net_dockerd_iptables compares).
    assert_eq!(
        h.ok(&["port", "pa", "80"]).trim(),
        format!("0.0.0.0:{host_port}\n:::{host_port}")
    );
    let all = h.ok(&["port", "pa"]);
    assert!(
        all.contains(&format!("80/tcp -> 0.0.0.0:{host_port}")),
        "{all}"
    );
    assert!(all.contains("81/tcp -> 0.0.0.0:18219"), "{all}");
    let ps = h.ok(&["ps", "--format", "{{.Ports}}"]);
    assert!(ps.contains(&format!("0.0.0.0:{host_port}->80/tcp")), "{ps}");
    assert_ne!(h.run(&["port", "pa", "99"]).code, 0);
    h.ok(&["rm", "-f", "pa"]);
    h.ok(&["network", "rm", "pnet"]);
}

#[test]
fn a_remapped_container_is_networked_like_any_other() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.222.3.0/24", "rn"]);
    server(&h, "srv", "rn", &[], 80, "hello-srv");
    const MAP: &str = "0:100000:65536";
    let id = server(
        &h,
        "mapped",
        "rn",
        &["--uidmap", MAP, "--gidmap", MAP, "-p", "18223:80"],
        80,
        "hello-mapped",
    );
    // Inside: remapped, with eth0 on the network and the default route.
    let inside = h.ok(&[
        "exec",
        "mapped",
        "sh",
        "-c",
        "cat /proc/self/uid_map; ip -o -4 addr show eth0; ip route",
    ]);
    assert!(inside.contains("100000"), "{inside}");
    assert!(inside.contains("inet 10.222.3."), "{inside}");
    assert!(inside.contains("default via 10.222.3.1"), "{inside}");
    // Its own sysfs (its namespace is its user namespace's), not the host's interfaces.
    let links = h.ok(&["exec", "mapped", "ls", "/sys/class/net"]);
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["eth0", "lo"]);
    let mapped_ip = inspect_ip(&h, "mapped");
    let mapped_ip = mapped_ip.split('/').next().unwrap();
    // Out by name to a neighbour, in from the neighbour, and through the published port.
    assert!(eventually(
        || h.ok(&[
            "exec",
            "mapped",
            "sh",
            "-c",
            "nc -w5 srv 80 </dev/null || true"
        ]),
        "hello-srv"
    ));
    assert!(eventually(
        || {
            let cmd = format!("nc -w5 {mapped_ip} 80 </dev/null || true");
            h.ok(&["exec", "srv", "sh", "-c", &cmd])
        },
        "hello-mapped"
    ));
    assert!(eventually(|| host_tcp("127.0.0.1", 18223), "hello-mapped"));

    h.ok(&["rm", "-f", "mapped"]);
    assert!(!h.runroot().join("netns").join(&id).exists(), "netns left");
    let inspect: Value = serde_json::from_str(&h.ok(&["network", "inspect", "rn"])).unwrap();
    let left = inspect[0]["Containers"].as_object().unwrap();
    assert!(left.len() == 1 && !left.contains_key(&id), "{left:?}");
    let nft = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    assert!(!stdout(&nft).contains(". 18223 :"), "nft rule left");

    // A bad address fails in the runtime's hook: one line, and nothing left.
    let o = h.run(&[
        "run",
        "--rm",
        "--name",
        "badip",
        "--network",
        "rn",
        "--ip",
        "10.99.0.5",
        "--uidmap",
        MAP,
        "--gidmap",
        MAP,
        "busybox",
        "true",
    ]);
    let err = &o.stderr;
    assert!(!o.success());
    assert!(
        err.contains("10.99.0.5") && err.contains("outside"),
        "{err}"
    );
    assert!(!h
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .contains("badip"));
    let netns: Vec<_> = std::fs::read_dir(h.runroot().join("netns"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(netns.len(), 1, "only srv's namespace: {netns:?}");
    let inspect: Value = serde_json::from_str(&h.ok(&["network", "inspect", "rn"])).unwrap();
    assert_eq!(inspect[0]["Containers"].as_object().unwrap().len(), 1);

    // Restarted by its policy (a new namespace from the runtime each time), it keeps its
    // address.
    h.ok(&[
        "run",
        "-d",
        "--name",
        "again",
        "--network",
        "rn",
        "--uidmap",
        MAP,
        "--gidmap",
        MAP,
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0 | awk '{print $4}'; sleep 1; exit 1",
    ]);
    let state = || {
        h.ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}}",
            "again",
        ])
    };
    assert!(wait_for(60, || state().trim() == "2 exited"), "{}", state());
    let logs = h.ok(&["logs", "again"]);
    let addrs: Vec<&str> = logs.lines().collect();
    assert_eq!(addrs.len(), 3, "{logs}");
    assert!(
        addrs[0].starts_with("10.222.3.") && addrs.iter().all(|a| *a == addrs[0]),
        "{logs}"
    );
    h.ok(&["rm", "-f", "again", "srv"]);
}
