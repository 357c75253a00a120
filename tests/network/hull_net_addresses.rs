//! Addresses and links of bridge networks through the real `hull run`: fifty concurrent runs
//! get distinct addresses, addresses are handed out serially, a stale veth is replaced, a
//! joined namespace loses its veth with its owner, `none`/`host` and bad flags, and `system
//! check` finding and repairing leftovers. (What the processes see and reach:
//! tests/network/hull_net_run.rs.)

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use hull_e2e::hull::Hull;
use hull_e2e::net::{eventually, hull_links, inspect_ip, ip, server, stdout, Remote};
use hull_e2e::wait_for;
use serde_json::Value;

#[test]
fn fifty_concurrent_runs_get_distinct_addresses_and_removal_leaves_nothing() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.218.0.0/24", "many"]);
    let names: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    let children: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            h.cmd(&[])
                .args([
                    "run",
                    "-d",
                    "--name",
                    n,
                    "--network",
                    "many",
                    "-p",
                    &format!("127.0.0.1:{}:80", 18300 + i),
                    "busybox",
                    "sleep",
                    "300",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut ips = BTreeSet::new();
    for n in &names {
        ips.insert(inspect_ip(&h, n));
    }
    assert_eq!(ips.len(), 50, "{ips:?}");
    assert_eq!(
        published_owners(&h).len(),
        50,
        "each container's ports' state"
    );
    // Every address of the port m0 publishes on 127.0.0.1 clashes with it; the clash is
    // found through the claims of that port alone.
    let m0 = h.ok(&["inspect", "--format", "{{.Id}}", "m0"]);
    let (code, err) = h.fails(LATE);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains(&format!(
            "host port 0.0.0.0:18300/tcp is already published by {}",
            m0.trim()
        )),
        "{err}"
    );
    // The host ends of the veths, named from bridge and address (other tests make and
    // remove links meanwhile: look for these only).
    let inspect: Value = serde_json::from_str(&h.ok(&["network", "inspect", "many"])).unwrap();
    let br = inspect[0]["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .unwrap()
        .to_string();
    let veths: Vec<String> = inspect[0]["Containers"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| {
            let ip = c["IPv4Address"]
                .as_str()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            hull_net::bridge::host_veth_name(&br, ip)
        })
        .collect();
    assert_eq!(veths.len(), 50);
    let before = hull_links();
    assert!(veths.iter().all(|v| before.contains(v)), "{veths:?}");
    let mut args = vec!["rm", "-f"];
    args.extend(names.iter().map(String::as_str));
    h.ok(&args);
    // The kernel deletes the veths with the unpinned namespaces, in the background.
    assert!(
        wait_for(30, || {
            let after = hull_links();
            veths.iter().all(|v| !after.contains(v))
        }),
        "every veth went"
    );
    let inspect: Value = serde_json::from_str(&h.ok(&["network", "inspect", "many"])).unwrap();
    assert!(
        inspect[0]["Containers"].as_object().unwrap().is_empty(),
        "no lease left"
    );
    assert_eq!(
        std::fs::read_dir(h.runroot().join("netns"))
            .unwrap()
            .count(),
        0,
        "no pinned namespace left"
    );
    assert_eq!(
        published_owners(&h),
        Vec::<String>::new(),
        "no ports' state left"
    );
    let claims = h.runroot().join("network/firewall.json.ports/claims");
    let left: Vec<_> = std::fs::read_dir(&claims)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no claim of a host port left: {left:?}");
    // The port is free again.
    h.ok(LATE);
    assert_eq!(published_owners(&h).len(), 1);
    h.ok(&["rm", "-f", "late"]);
}

/// A container publishing on every address the port m0 publishes on 127.0.0.1.
const LATE: &[&str] = &[
    "run",
    "-d",
    "--name",
    "late",
    "--network",
    "many",
    "-p",
    "18300:80",
    "busybox",
    "sleep",
    "300",
];

/// The owners that the firewall's state holds published ports of (a file each).
fn published_owners(h: &Hull) -> Vec<String> {
    let dir = h.runroot().join("network/firewall.json.ports");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_suffix(".json").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn addresses_are_handed_out_serially_and_a_stale_veth_is_replaced() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.222.1.0/24", "ser"]);
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name, "--network", "ser"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "sleep", "300"]);
        h.ok(&args);
    };
    run("s1", &[]);
    assert_eq!(inspect_ip(&h, "s1"), "10.222.1.2/24");
    h.ok(&["rm", "-f", "s1"]);
    // As docker's: the next address, not the one just released.
    run("s2", &[]);
    assert_eq!(inspect_ip(&h, "s2"), "10.222.1.3/24");

    // A veth of the name an address's endpoint gets, left on the bridge (by a namespace
    // still being torn down, or a crash): a container taking that address replaces it.
    let br = h.ok(&[
        "network",
        "inspect",
        "--format",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
        "ser",
    ]);
    let br = br.trim();
    let name = hull_net::bridge::host_veth_name(br, "10.222.1.9".parse().unwrap());
    let peer = format!("stale{}", std::process::id() % 100_000);
    ip(&["link", "add", &name, "type", "veth", "peer", "name", &peer]);
    ip(&["link", "set", &name, "master", br]);
    run("s3", &["--ip", "10.222.1.9"]);
    assert_eq!(inspect_ip(&h, "s3"), "10.222.1.9/24");
    assert!(
        !hull_links().contains(&peer),
        "the stale veth's peer went with it"
    );
    assert!(h
        .run(&["exec", "s3", "ping", "-c1", "-W5", "10.222.1.3"])
        .success());
    h.ok(&["rm", "-f", "s2", "s3"]);
    assert!(
        wait_for(30, || !hull_links().contains(&name)),
        "{name} left"
    );
}

#[test]
fn a_namespace_joined_by_another_container_loses_its_veth_when_its_owner_goes() {
    let h = Hull::new();
    h.ok(&["network", "create", "--subnet", "10.222.2.0/24", "jn"]);
    h.ok(&[
        "run",
        "-d",
        "--name",
        "owner",
        "--network",
        "jn",
        "busybox",
        "sleep",
        "300",
    ]);
    h.ok(&[
        "run",
        "-d",
        "--name",
        "joiner",
        "--network",
        "container:owner",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(inspect_ip(&h, "joiner"), "10.222.2.2/24");
    h.ok(&["rm", "-f", "owner"]);
    // The joiner keeps the namespace alive, so the kernel would never delete the veth on
    // its own: hull deletes it.
    let links = || h.ok(&["exec", "joiner", "ip", "-o", "link"]);
    assert!(wait_for(30, || !links().contains("eth0")), "{}", links());
    h.ok(&["rm", "-f", "joiner"]);
}

#[test]
fn none_host_and_bad_flags() {
    let h = Hull::new();
    let links = h.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    // Other tests' links come and go meanwhile: ls may find one gone between reading the
    // directory and looking at the entry.
    let host_links = h.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        "ls /sys/class/net 2>/dev/null; true",
    ]);
    assert!(
        host_links.contains("eth0") || host_links.split_whitespace().count() > 1,
        "{host_links}"
    );
    for (args, msg) in [
        (
            vec!["run", "--rm", "--network", "nope", "busybox", "true"],
            "no such network: nope",
        ),
        (
            vec![
                "run",
                "--rm",
                "--network",
                "none",
                "--network",
                "bridge",
                "busybox",
                "true",
            ],
            "none cannot be combined",
        ),
        (
            vec![
                "run",
                "--rm",
                "--network",
                "none",
                "-p",
                "80:80",
                "busybox",
                "true",
            ],
            "ports cannot be published",
        ),
        (
            vec!["run", "--rm", "-p", "99999:80", "busybox", "true"],
            "invalid -p",
        ),
        (
            vec![
                "run",
                "--rm",
                "--mac-address",
                "01:00:00:00:00:00",
                "busybox",
                "true",
            ],
            "--mac-address",
        ),
        (
            vec!["run", "--rm", "--add-host", "nocolon", "busybox", "true"],
            "--add-host",
        ),
    ] {
        let (code, err) = h.fails(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    // --ip, --mac-address, --dns, --dns-search, --add-host land where the process looks.
    h.ok(&["network", "create", "--subnet", "10.219.1.0/24", "opts"]);
    let out = h.ok(&[
        "run",
        "--rm",
        "--network",
        "opts",
        "--ip",
        "10.219.1.77",
        "--mac-address",
        "02:aa:bb:cc:dd:ee",
        "--dns",
        "10.219.1.53",
        "--dns-search",
        "corp.test",
        "--add-host",
        "db:10.9.9.9",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; cat /sys/class/net/eth0/address /etc/resolv.conf /etc/hosts",
    ]);
    assert!(out.contains("10.219.1.77/24"), "{out}");
    assert!(out.contains("02:aa:bb:cc:dd:ee"), "{out}");
    assert!(
        out.contains("search corp.test\nnameserver 10.219.1.53\n"),
        "{out}"
    );
    assert!(out.contains("10.9.9.9\tdb\n"), "{out}");
    let (_, err) = h.fails(&[
        "run",
        "--rm",
        "--network",
        "opts",
        "--ip",
        "10.219.2.1",
        "busybox",
        "true",
    ]);
    assert!(
        err.contains("address 10.219.2.1 is outside subnet 10.219.1.0/24"),
        "{err}"
    );
}

#[test]
fn system_check_finds_and_repairs_leftovers() {
    let h = Hull::new();
    let remote = Remote::new("hnt-rem20", 220);
    h.ok(&["network", "create", "--subnet", "10.220.1.0/24", "chk"]);
    let br = h.ok(&[
        "network",
        "inspect",
        "--format",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
        "chk",
    ]);
    let br = br.trim();
    server(&h, "web", "chk", &["-p", "18220:80"], 80, "hello-web");
    let remote_tcp =
        || stdout(&remote.sh("socat -T5 - TCP:10.220.9.1:18220,connect-timeout=5 </dev/null"));
    assert!(eventually(remote_tcp, "hello-web"));
    assert_eq!(h.ok(&["system", "check"]), "no leftovers\n");

    // Leftovers: a veth on the bridge that no container owns, a pinned namespace of no
    // container, and hull's rules gone.
    ip(&[
        "link",
        "add",
        "vethdead0001",
        "type",
        "veth",
        "peer",
        "name",
        "vethdead0002",
    ]);
    ip(&["link", "set", "vethdead0001", "master", br]);
    let stray = "f".repeat(64);
    hull_net::netns::create(&h.runroot(), &stray).unwrap();
    assert_eq!(published_owners(&h).len(), 1);
    let tables = stdout(
        &Command::new("nft")
            .args(["list", "tables"])
            .output()
            .unwrap(),
    );
    let table = tables
        .lines()
        .filter_map(|l| l.strip_prefix("table inet "))
        .find(|t| {
            stdout(
                &Command::new("nft")
                    .args(["list", "table", "inet", t])
                    .output()
                    .unwrap(),
            )
            .contains(br)
        })
        .expect("hull's table")
        .to_string();
    assert!(Command::new("nft")
        .args(["delete", "table", "inet", &table])
        .status()
        .unwrap()
        .success());
    assert!(!remote_tcp().contains("hello"));

    let (code, out) = {
        let o = h.run(&["system", "check"]);
        (Some(o.code), o.stdout)
    };
    assert_eq!(code, Some(1));
    assert!(
        out.contains("veth vethdead0001 on a hull bridge without a lease"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "pinned network namespace {stray} without a running container"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("nft table inet {table} is missing")),
        "{out}"
    );
    h.ok(&["system", "check", "--repair"]);
    assert!(eventually(remote_tcp, "hello-web"), "rules back");
    assert!(!hull_links().contains("vethdead0001"));
    assert!(!h.runroot().join("netns").join(&stray).exists());
    assert_eq!(h.ok(&["system", "check"]), "no leftovers\n");

    // A container whose monitor and process die without any hook: its networking goes as
    // soon as hull looks at it.
    let id = h
        .ok(&["inspect", "--format", "{{.Id}}", "web"])
        .trim()
        .to_string();
    let pid: i32 = h
        .ok(&["inspect", "--format", "{{.State.Pid}}", "web"])
        .trim()
        .parse()
        .unwrap();
    let mon = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: i32 = mon
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ppid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(wait_for(30, || !std::path::Path::new(&format!(
        "/proc/{pid}"
    ))
    .exists()));
    h.ok(&["ps", "-a"]);
    assert!(!h.runroot().join("netns").join(&id).exists());
    let inspect: Value = serde_json::from_str(&h.ok(&["network", "inspect", "chk"])).unwrap();
    assert!(inspect[0]["Containers"].as_object().unwrap().is_empty());
    assert!(!remote_tcp().contains("hello"));
    assert_eq!(h.ok(&["system", "check"]), "no leftovers\n");
}
