//! Published ports over IPv6 (issue 18): `-p PORT:80` is reached from `[::1]:PORT` as well as
//! from 127.0.0.1, as docker 20.10's docker-proxy makes it; `-p [::1]:PORT:80` binds only
//! there; a port a host process holds on IPv6 is refused. Each check connects from the host
//! to a server inside the container, which answers with its own name.

use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use hull_e2e::hull::Hull;
use hull_e2e::wait_for;

/// What `addr` answers (socat, five seconds at most), "" when nothing does.
fn fetch(addr: SocketAddr) -> String {
    let target = match addr {
        SocketAddr::V4(a) => format!("TCP4:{a},connect-timeout=5"),
        SocketAddr::V6(a) => format!("TCP6:{a},connect-timeout=5"),
    };
    let o = Command::new("socat")
        .args(["-T5", "-", &target])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn v4(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn v6(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::LOCALHOST, port))
}

/// A free port (bound and let go on both families).
fn free_port() -> u16 {
    let l = TcpListener::bind("[::]:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A container answering `text` on its port 80, every connection.
fn server(h: &Hull, name: &str, publish: &str, text: &str) {
    let script = format!("while true; do echo {text} | nc -l -p 80; done");
    h.ok(&[
        "run", "-d", "--name", name, "-p", publish, "busybox", "sh", "-c", &script,
    ]);
}

#[test]
fn a_published_port_is_reached_over_ipv6_and_a_v6_port_in_use_is_refused() {
    let h = Hull::new();
    if std::fs::read_to_string("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
        .is_ok_and(|v| v.trim() != "0")
    {
        eprintln!("skipped: IPv6 is disabled on this host");
        return;
    }
    // Every address: both families reach the container, and `port` shows both bindings as
    // docker 20.10 does ("80/tcp -> 0.0.0.0:P", "80/tcp -> :::P").
    let p = free_port();
    server(&h, "both", &format!("{p}:80"), "from-both");
    assert!(
        wait_for(30, || fetch(v6(p)) == "from-both"),
        "[::1]:{p} does not reach the container"
    );
    // (The server takes one connection at a time: the next may find it restarting.)
    assert!(wait_for(30, || fetch(v4(p)) == "from-both"));
    assert_eq!(
        h.lines(&["port", "both"]),
        [
            format!("80/tcp -> 0.0.0.0:{p}"),
            format!("80/tcp -> :::{p}")
        ]
    );
    // The v6 binding is held: a host process cannot take [::]:P.
    let e = TcpListener::bind((Ipv6Addr::UNSPECIFIED, p)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");

    // Only [::1]: IPv4 is not published at all.
    let q = free_port();
    server(&h, "six", &format!("[::1]:{q}:80"), "from-six");
    assert!(
        wait_for(30, || fetch(v6(q)) == "from-six"),
        "[::1]:{q} does not reach the container"
    );
    assert!(
        TcpStream::connect(v4(q)).is_err(),
        "127.0.0.1:{q} is published"
    );
    assert_eq!(h.lines(&["port", "six"]), [format!("80/tcp -> ::1:{q}")]);

    // A host process on [::1]:R (IPv6 only): `-p R:80` is refused as docker refuses it, and
    // nothing of the container is left running; the process keeps its port.
    // (::1 is IPv6 alone: no IPv4 address is taken with it.)
    let squatter = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    let r = squatter.local_addr().unwrap().port();
    let (code, err) = h.fails(&[
        "run",
        "-d",
        "--name",
        "refused",
        "-p",
        &format!("{r}:80"),
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains(&format!("[::]:{r}: bind: address already in use")),
        "{err}"
    );
    let st = h.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=refused",
        "--format",
        "{{.Status}}",
    ]);
    assert!(st.trim().is_empty() || st.starts_with("Created"), "{st}");
    // The v4 half of the refused run was let go: the port is free on 0.0.0.0.
    drop(TcpListener::bind(("0.0.0.0", r)).expect("the refused run left 0.0.0.0 bound"));
    let _c = TcpStream::connect(v6(r)).unwrap();
    assert!(squatter.accept().is_ok());

    // Removed: both families of P are free again, and no relay is left.
    let _ = h.run(&["rm", "-f", "refused"]);
    h.ok(&["rm", "-f", "both", "six"]);
    assert!(
        wait_for(30, || TcpListener::bind((Ipv6Addr::UNSPECIFIED, p)).is_ok()),
        "[::]:{p} still held after rm"
    );
    let relays = Command::new("pgrep")
        .args(["-f", &format!("{}.*port-relay", h.runroot().display())])
        .output()
        .unwrap();
    assert!(
        relays.stdout.is_empty(),
        "relay left: {}",
        String::from_utf8_lossy(&relays.stdout)
    );
}

/// One engine's half of the dual-stack scenario: its own subnets (the two engines share the
/// host's routing table, so each gets prefixes of its own), and the text that makes the
/// other engine's output comparable (its prefixes replaced by `P6`/`P4`).
struct Side {
    engine: &'static str,
    /// `fd6c:K:d` (docker) / `fd6c:K:e` (hull): the first network's /64 without `::/64`.
    p6: String,
    p4: String,
    /// The second network's.
    q6: String,
    q4: String,
    /// The IPv4-only network's.
    r4: String,
}

impl Side {
    fn new(engine: &'static str) -> Side {
        // Apart from other tests' and engineers' networks: from this process's id.
        let k = std::process::id() % 200 + 20;
        let (a, b) = if engine == "docker" {
            (0, 'd')
        } else {
            (1, 'e')
        };
        Side {
            engine,
            p6: format!("fd6c:{k:x}:{b}0"),
            p4: format!("10.{}.{k}", 232 + a),
            q6: format!("fd6c:{k:x}:{b}1"),
            q4: format!("10.{}.{k}", 234 + a),
            r4: format!("10.{}.{k}", 236 + a),
        }
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        args.iter()
            .map(|a| {
                a.replace("{p6}", &self.p6)
                    .replace("{p4}", &self.p4)
                    .replace("{q6}", &self.q6)
                    .replace("{q4}", &self.q4)
                    .replace("{r4}", &self.r4)
            })
            .collect()
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let a = self.args(args);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        hull_e2e::docker_pair::pair().run(self.engine, &a)
    }

    /// stdout of a command that must succeed, this side's prefixes made `P6`, `P4`, `Q6`...
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{} {args:?}: {}",
            self.engine,
            String::from_utf8_lossy(&o.stderr)
        );
        self.norm(&String::from_utf8_lossy(&o.stdout))
    }

    fn norm(&self, s: &str) -> String {
        s.replace(&self.p6, "P6")
            .replace(&self.q6, "Q6")
            .replace(&format!("{}.", self.p4), "P4.")
            .replace(&format!("{}.", self.q4), "Q4.")
            .replace(&format!("{}.", self.r4), "R4.")
            .replace(self.engine, "{e}")
    }

    fn code(&self, args: &[&str]) -> Option<i32> {
        self.run(args).status.code()
    }

    /// What a container sees, run in `c` (`exec c sh -c SCRIPT`), normalized.
    fn sees(&self, c: &str, script: &str) -> String {
        self.ok(&["exec", c, "sh", "-c", script])
    }
}

/// A dual-stack network (`network create --ipv6 --subnet V4 --subnet V6`) and `--ip6` beside
/// a private dockerd (Debian's 20.10): the same exit codes for good and bad input, the same
/// inspect shapes and values, and the same addresses, routes, reachability and names seen
/// from inside the containers. dockerd runs without ip6tables here, so its outbound IPv6 is
/// not compared; hull's masquerade rule is checked in its nft table.
#[test]
fn a_dual_stack_network_and_ip6_as_docker_makes_them() {
    use hull_e2e::docker_pair::{stderr, Parity, IMAGE};
    if std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .is_ok_and(|v| v.trim() != "0")
    {
        eprintln!("skipped: IPv6 is disabled on this host");
        return;
    }
    let mut p = Parity::new();
    let sides = [Side::new("docker"), Side::new("hull")];
    // What each engine's `network ls` holds before: bad input must leave it so.
    let nets = |s: &Side| s.ok(&["network", "ls", "--format", "{{.Name}}"]);
    let before: Vec<String> = sides.iter().map(nets).collect();

    // Bad input, refused the same way (exit 1), leaving nothing.
    let bad: &[&[&str]] = &[
        // --ipv6 without an IPv6 subnet: docker 20.10 has no IPv6 pool to take one from.
        &["network", "create", "--ipv6", "nopool-{e}"],
        // An IPv6 gateway outside the subnet.
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "{p6}::/64",
            "--gateway",
            "fd6c:ffff::1",
            "badgw-{e}",
        ],
    ];
    for args in bad {
        let codes: Vec<_> = sides.iter().map(|s| s.code(args)).collect();
        p.check(&format!("exit code of {args:?}"), codes[1], codes[0]);
        p.check(&format!("{args:?} refused"), codes[1] != Some(0), true);
    }
    let h = &sides[1];
    let e = stderr(&h.run(bad[0]));
    p.check(
        "--ipv6 without subnet: docker's words",
        e.contains("could not find an available, non-overlapping IPv6 address pool"),
        true,
    );

    // The network: IPv4 and IPv6 subnets, the IPv6 gateway given.
    for s in &sides {
        s.ok(&[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "{p4}.0/24",
            "--gateway",
            "{p4}.1",
            "--subnet",
            "{p6}::/64",
            "--gateway",
            "{p6}::1",
            "six-{e}",
        ]);
        // An IPv6 subnet without --ipv6: kept and shown, but no container gets an address
        // from it.
        s.ok(&["network", "create", "--subnet", "{q6}::/64", "v6off-{e}"]);
        s.ok(&["network", "create", "--subnet", "{r4}.0/24", "four-{e}"]);
    }
    // An overlapping IPv6 subnet is refused (docker: "Pool overlaps with other one on this
    // address space").
    let over = [
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "{p6}:0:1::/80",
        "over-{e}",
    ];
    let codes: Vec<_> = sides.iter().map(|s| s.code(&over)).collect();
    p.check(
        "exit code of an overlapping IPv6 subnet",
        codes[1],
        codes[0],
    );
    p.check(
        "overlap refused with docker's words",
        stderr(&h.run(&over)).contains("Pool overlaps with other one on this address space"),
        true,
    );
    let after: Vec<String> = sides.iter().map(nets).collect();
    for (i, s) in sides.iter().enumerate() {
        let mut want: Vec<&str> = before[i].lines().collect();
        want.extend(["four-{e}", "six-{e}", "v6off-{e}"]);
        want.sort();
        let mut got: Vec<&str> = after[i].lines().collect();
        got.sort();
        p.check(
            &format!("{}: networks after the refusals", s.engine),
            got,
            want,
        );
    }
    // (JSON compared as values: the engines order an object's keys differently.)
    let json = |s: &Side, args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&s.ok(args)).unwrap_or(serde_json::Value::Null)
    };
    let shape = [
        "network",
        "inspect",
        "--format",
        "{{json .IPAM.Config}}",
        "six-{e}",
    ];
    let [d, hh] = [json(&sides[0], &shape), json(&sides[1], &shape)];
    p.check("network inspect six: IPAM.Config", hh, d);
    let shape = [
        "network",
        "inspect",
        "--format",
        "{{.EnableIPv6}}",
        "six-{e}",
    ];
    let [d, hh] = [sides[0].ok(&shape), sides[1].ok(&shape)];
    p.check("network inspect six: EnableIPv6", hh, d);
    let shape = [
        "network",
        "inspect",
        "--format",
        "{{.EnableIPv6}} {{json .IPAM.Config}}",
        "v6off-{e}",
    ];
    let [d, hh] = [sides[0].ok(&shape), sides[1].ok(&shape)];
    p.check(
        "network inspect v6off (subnet only)",
        hh.contains("Q6::/64"),
        d.contains("Q6::/64"),
    );
    let ls = ["network", "ls", "--format", "{{.Name}} {{.IPv6}}"];
    let [d, hh] = [sides[0].ok(&ls), sides[1].ok(&ls)];
    p.check(
        "network ls IPv6 column",
        hh.lines()
            .filter(|l| l.contains("-{e}"))
            .collect::<Vec<_>>(),
        d.lines().filter(|l| l.contains("-{e}")).collect::<Vec<_>>(),
    );

    // Containers: one with the next free address, one at --ip6.
    for s in &sides {
        s.ok(&[
            "run",
            "-d",
            "--name",
            "a-{e}",
            "--network",
            "six-{e}",
            IMAGE,
            "sleep",
            "300",
        ]);
        s.ok(&[
            "run",
            "-d",
            "--name",
            "b-{e}",
            "--network",
            "six-{e}",
            "--ip6",
            "{p6}::99",
            IMAGE,
            "sleep",
            "300",
        ]);
    }
    // What each sees: addresses, routes, the peer and the gateway over IPv6, the peer's
    // name as an AAAA record, /etc/hosts.
    let looks: &[(&str, &str)] = &[
        (
            "a: global IPv6 addresses",
            "ip -6 -o addr show scope global | awk '{print $2, $4}'",
        ),
        (
            "b: global IPv6 addresses",
            "ip -6 -o addr show scope global | awk '{print $2, $4}'",
        ),
        (
            "a: IPv6 default route",
            "ip -6 route show default | awk '{print $1, $2, $3, $4, $5}'",
        ),
        (
            "a: IPv6 routes",
            "ip -6 route | grep -v '^fe80\\|^multicast\\|^ff00' | awk '{print $1, $2, $3}'",
        ),
        (
            "a: ping6 b",
            "ping6 -c1 -W5 {p6}::99 >/dev/null && echo reached",
        ),
        (
            "a: ping6 the gateway",
            "ping6 -c1 -W5 {p6}::1 >/dev/null && echo reached",
        ),
        // The answer's addresses (after `Name:`), not the server's.
        (
            "a: AAAA of b",
            "nslookup -type=AAAA b-{e} | awk '/^Name/{n=1} n && /^Address/{print $2}'",
        ),
        (
            "a: A of b",
            "nslookup -type=A b-{e} | awk '/^Name/{n=1} n && /^Address/{print $2}'",
        ),
        (
            "a: /etc/hosts own lines",
            "grep -v 'localhost\\|ip6-\\|^$' /etc/hosts | awk '{print $1}'",
        ),
    ];
    for (what, script) in looks {
        let c = if what.starts_with("b:") {
            "b-{e}"
        } else {
            "a-{e}"
        };
        let got: Vec<String> = sides
            .iter()
            .map(|s| {
                let script = s.args(&[script])[0]
                    .replace("P6", &s.p6)
                    .replace("P4", &s.p4);
                s.sees(c, &script.replace("{e}", s.engine))
            })
            .collect();
        p.check(what, &got[1], &got[0]);
        p.check(
            &format!("{what}: not empty"),
            got[1].trim().is_empty(),
            false,
        );
    }
    // inspect: the IPv6 keys and values of the network's entry.
    for c in ["a-{e}", "b-{e}"] {
        let f = [
            "inspect",
            "--format",
            "{{with index .NetworkSettings.Networks \"six-{e}\"}}{{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{json .IPAMConfig}}{{end}}",
            c,
        ];
        let [d, hh] = [sides[0].ok(&f), sides[1].ok(&f)];
        p.check(&format!("inspect {c} IPv6 fields"), hh, d);
    }
    let nv = [
        "network",
        "inspect",
        "--format",
        "{{range .Containers}}{{.Name}} {{.IPv6Address}};{{end}}",
        "six-{e}",
    ];
    let sorted = |s: String| {
        let mut v: Vec<String> = s.trim().split(';').map(String::from).collect();
        v.sort();
        v
    };
    let [d, hh] = [sorted(sides[0].ok(&nv)), sorted(sides[1].ok(&nv))];
    p.check("network inspect Containers IPv6Address", hh, d);

    // --ip6 refused where docker refuses it (125), leaving no container.
    let refused: &[&[&str]] = &[
        &[
            "run",
            "--rm",
            "--name",
            "r1-{e}",
            "--network",
            "four-{e}",
            "--ip6",
            "{p6}::5",
            IMAGE,
            "true",
        ],
        &[
            "run",
            "--rm",
            "--name",
            "r2-{e}",
            "--network",
            "six-{e}",
            "--ip6",
            "fd6c:ffff::5",
            IMAGE,
            "true",
        ],
        &[
            "run",
            "--rm",
            "--name",
            "r3-{e}",
            "--network",
            "six-{e}",
            "--ip6",
            "{p6}::99",
            IMAGE,
            "true",
        ],
        &[
            "run",
            "--rm",
            "--name",
            "r4-{e}",
            "--network",
            "six-{e}",
            "--ip6",
            "nonsense",
            IMAGE,
            "true",
        ],
        &[
            "run",
            "--rm",
            "--name",
            "r5-{e}",
            "--network",
            "six-{e}",
            "--ip6",
            "{p4}.9",
            IMAGE,
            "true",
        ],
    ];
    for args in refused {
        let codes: Vec<_> = sides.iter().map(|s| s.code(args)).collect();
        p.check(&format!("exit code of {args:?}"), codes[1], codes[0]);
        p.check(&format!("{args:?} refused"), codes[1] == Some(125), true);
    }
    let left = ["ps", "-a", "--filter", "name=r", "--format", "{{.Names}}"];
    for s in &sides {
        let o = s.ok(&left);
        p.check(
            &format!("{}: containers left by refused runs", s.engine),
            o.lines().filter(|l| l.starts_with("r")).count(),
            0,
        );
    }
    let e = stderr(&h.run(refused[0]));
    p.check(
        "--ip6 on an IPv4 network: docker's words",
        e.contains("user specified IP address is supported only when connecting to networks with user configured subnets"),
        true,
    );
    // On a network with an IPv6 subnet but without --ipv6, docker takes --ip6 and gives no
    // IPv6 address.
    let off = [
        "run",
        "--rm",
        "--network",
        "v6off-{e}",
        "--ip6",
        "{q6}::5",
        IMAGE,
        "sh",
        "-c",
        "ip -6 -o addr show scope global | wc -l",
    ];
    let [d, hh] = [sides[0].ok(&off), sides[1].ok(&off)];
    p.check("--ip6 on a network without --ipv6", hh, d);

    // network connect --ip6: a second dual-stack network, at a chosen address.
    for s in &sides {
        s.ok(&[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "{q4}.0/24",
            "--gateway",
            "{q4}.1",
            "--subnet",
            "{q6}1::/64",
            "--gateway",
            "{q6}1::1",
            "seven-{e}",
        ]);
        s.ok(&[
            "network",
            "connect",
            "--ip6",
            "{q6}1::42",
            "seven-{e}",
            "a-{e}",
        ]);
    }
    // Refused as run refuses it: outside the subnet (docker exits 1 here: a daemon error).
    let out = [
        "network",
        "connect",
        "--ip6",
        "fd6c:ffff::7",
        "seven-{e}",
        "b-{e}",
    ];
    let codes: Vec<_> = sides.iter().map(|s| s.code(&out)).collect();
    p.check(
        "exit code of network connect --ip6 outside",
        codes[1],
        codes[0],
    );
    let eth1 = [
        "exec",
        "a-{e}",
        "sh",
        "-c",
        "ip -6 -o addr show dev eth1 scope global | awk '{print $4}'",
    ];
    let [d, hh] = [sides[0].ok(&eth1), sides[1].ok(&eth1)];
    p.check("network connect --ip6: eth1", hh, d);

    // hull's outbound IPv6 is masqueraded in its own table (docker's ip6tables is off here).
    let ruleset = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    let ruleset = String::from_utf8_lossy(&ruleset.stdout);
    p.check(
        "hull masquerades the IPv6 subnet",
        ruleset.contains(&format!("ip6 saddr {}::/64", h.p6)),
        true,
    );

    for s in &sides {
        s.ok(&["rm", "-f", "a-{e}", "b-{e}"]);
        s.ok(&[
            "network",
            "rm",
            "six-{e}",
            "seven-{e}",
            "v6off-{e}",
            "four-{e}",
        ]);
    }
    let ruleset = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    p.check(
        "hull's IPv6 rule gone with its network",
        String::from_utf8_lossy(&ruleset.stdout).contains(&format!("ip6 saddr {}::/64", h.p6)),
        false,
    );
    p.done();
}

/// On a dual-stack network a published port is DNATed to the container's IPv6 address by
/// nftables, as its IPv4 twin: the host's IPv6 addresses reach the container without the
/// relay (killed here, they still do); `[::1]:P`, which the kernel will not DNAT to a
/// container, goes through the relay as docker's docker-proxy serves it. The IPv6 port is
/// held for the container's life, and all of it goes with the container.
#[test]
fn a_dual_stack_container_is_published_over_ipv6_without_a_relay() {
    if std::fs::read_to_string("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
        .is_ok_and(|v| v.trim() != "0")
    {
        eprintln!("skipped: IPv6 is disabled on this host");
        return;
    }
    let h = Hull::new();
    let k = std::process::id() % 200 + 20;
    let (sub4, sub6) = (format!("10.238.{k}.0/24"), format!("fd6c:{k:x}:f0::/64"));
    let gw6: Ipv6Addr = format!("fd6c:{k:x}:f0::1").parse().unwrap();
    h.ok(&[
        "network", "create", "--ipv6", "--subnet", &sub4, "--subnet", &sub6, "ds",
    ]);
    let p = free_port();
    let script = "while true; do echo from-ds | nc -l -p 80; done";
    h.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "ds",
        "-p",
        &format!("{p}:80"),
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert!(
        wait_for(30, || fetch(v6(p)) == "from-ds"),
        "[::1]:{p} does not reach the container"
    );
    // Another of the host's IPv6 addresses: the bridge's own.
    let at_gw = SocketAddr::from((gw6, p));
    assert!(
        wait_for(30, || fetch(at_gw) == "from-ds"),
        "{at_gw} does not reach the container"
    );
    assert!(wait_for(30, || fetch(v4(p)) == "from-ds"));
    assert_eq!(
        h.lines(&["port", "web"]),
        [
            format!("80/tcp -> 0.0.0.0:{p}"),
            format!("80/tcp -> :::{p}")
        ]
    );
    let relays = || {
        let o = Command::new("pgrep")
            .args(["-f", &format!("{}.*port-relay", h.runroot().display())])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let e = TcpListener::bind((Ipv6Addr::UNSPECIFIED, p)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
    // The rule is an element of hull's IPv6 port map, to the container's IPv6 address.
    let table = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(&format!("tcp . {p} : fd6c:{k:x}:f0::2")),
        "{table}"
    );
    // Without the relay (this test's own, by its pid) the bridge's address still reaches
    // the container: that path is DNAT alone.
    let pids = relays();
    assert!(!pids.is_empty(), "no relay for [::1]");
    for pid in pids.lines() {
        Command::new("kill").arg(pid).status().unwrap();
    }
    assert!(wait_for(30, || relays().is_empty()));
    assert!(
        wait_for(30, || fetch(at_gw) == "from-ds"),
        "{at_gw} needs the relay"
    );

    h.ok(&["rm", "-f", "web"]);
    assert!(
        wait_for(30, || TcpListener::bind((Ipv6Addr::UNSPECIFIED, p)).is_ok()),
        "[::]:{p} still held after rm"
    );
    assert!(fetch(v6(p)).is_empty(), "[::1]:{p} still answers after rm");
    h.ok(&["network", "rm", "ds"]);
}

/// `ip ARGS` on the host, which must succeed.
fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A namespace standing for a host outside: on a veth of its own, it knows its own /64 and
/// nothing else, so it can answer a container only if the container's traffic left the host
/// masqueraded (with the host's address there), as docker's `--ip6tables` NAT does.
struct Outside {
    ns: String,
    addr: Ipv6Addr,
}

impl Outside {
    fn new(k: u32) -> Outside {
        let ns = format!("hull-ip6out-{}", std::process::id());
        let (host_if, peer) = (format!("h6o{k}"), format!("h6p{k}"));
        ip(&["netns", "add", &ns]);
        let o = Outside {
            ns: ns.clone(),
            addr: format!("fd6c:{k:x}:f9::2").parse().unwrap(),
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &peer, "netns", &ns,
        ]);
        ip(&[
            "addr",
            "add",
            &format!("fd6c:{k:x}:f9::1/64"),
            "dev",
            &host_if,
            "nodad",
        ]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{}/64", o.addr),
            "dev",
            &peer,
            "nodad",
        ]);
        ip(&["-n", &ns, "link", "set", &peer, "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        o
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        // The namespace takes its veth pair with it.
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// A container's IPv6 traffic leaving a dual-stack network is masqueraded: a host outside
/// that has no route back to the container's subnet answers it. On an `--internal` network
/// nothing leaves.
#[test]
fn outbound_ipv6_is_masqueraded_and_an_internal_network_stays_inside() {
    if std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .is_ok_and(|v| v.trim() != "0")
    {
        eprintln!("skipped: IPv6 is disabled on this host");
        return;
    }
    let h = Hull::new();
    let k = std::process::id() % 200 + 20;
    let out = Outside::new(k);
    let subnet = |n: u32| format!("fd6c:{k:x}:f{n}::/64");
    h.ok(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        &subnet(7),
        "outv6",
    ]);
    h.ok(&[
        "network",
        "create",
        "--internal",
        "--ipv6",
        "--subnet",
        &subnet(8),
        "inv6",
    ]);
    let ping = format!(
        "ping6 -c1 -W3 {} >/dev/null && echo reached || echo not",
        out.addr
    );
    let seen = |net: &str| {
        h.ok(&[
            "run",
            "--rm",
            "--network",
            net,
            "busybox",
            "sh",
            "-c",
            &ping,
        ])
        .trim()
        .to_string()
    };
    assert_eq!(seen("outv6"), "reached");
    assert_eq!(seen("inv6"), "not");
    // The host's forwarding is on (docker's bridge driver turns it on for IPv6 networks).
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/forwarding")
            .unwrap()
            .trim(),
        "1"
    );
    h.ok(&["network", "rm", "outv6", "inv6"]);
}
