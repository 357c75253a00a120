//! `hull network`: networks on the real host (bridges, hull's nft table) through the real
//! binary. Each test has its own root and runroot, so its own nft table (`hull-TAG`); the
//! subnets are 10.21x.N.0/24 and nothing is routed beyond this machine.

use std::process::Command;

use hull_e2e::hull::Hull;
use serde_json::Value;

fn links() -> Vec<String> {
    let out = Command::new("ip").args(["-j", "link"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_string())
        .collect()
}

fn addr_of(link: &str) -> String {
    let out = Command::new("ip")
        .args(["-j", "addr", "show", link])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The name of the nft table holding rules for `bridge` (this root's table).
fn table_with(bridge: &str) -> Option<String> {
    let tables = Command::new("nft")
        .args(["-j", "list", "tables"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&tables.stdout).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["table"]["name"].as_str())
        .find_map(|name| {
            (name.starts_with("hull") && nft_table(name).is_some_and(|s| s.contains(bridge)))
                .then(|| name.to_string())
        })
}

/// `nft -j list table inet NAME`, None when there is no such table.
fn nft_table(name: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["-j", "list", "table", "inet", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn bridge_of(h: &Hull, net: &str) -> Option<String> {
    let out = h.run(&[
        "network",
        "inspect",
        "--format",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
        net,
    ]);
    out.success().then(|| out.stdout.trim().to_string())
}

#[test]
fn create_inspect_ls_rm_leave_nothing_behind() {
    let h = &Hull::new();
    let id = h.ok(&[
        "network",
        "create",
        "--subnet",
        "10.211.1.0/24",
        "--gateway",
        "10.211.1.254",
        "-o",
        "mtu=1400",
        "--label",
        "app=x",
        "n1",
    ]);
    assert_eq!(id.trim().len(), 64);
    let v: Value = serde_json::from_str(&h.ok(&["network", "inspect", "n1"])).unwrap();
    let v = &v[0];
    assert_eq!(v["Name"], "n1");
    assert_eq!(v["Driver"], "bridge");
    assert_eq!(v["IPAM"]["Config"][0]["Subnet"], "10.211.1.0/24");
    assert_eq!(v["IPAM"]["Config"][0]["Gateway"], "10.211.1.254");
    assert_eq!(v["Labels"]["app"], "x");
    assert_eq!(v["Internal"], false);
    let br = bridge_of(h, "n1").unwrap();
    assert!(br.starts_with("br-") && br.len() == 15, "{br}");

    // The bridge is on the host with the gateway address and the MTU asked for.
    let a = addr_of(&br);
    assert!(
        a.contains("\"local\":\"10.211.1.254\",\"prefixlen\":24") && a.contains("\"mtu\":1400"),
        "{a}"
    );
    let table = table_with(&br).expect("hull's table");
    let t = nft_table(&table).unwrap();
    assert!(t.contains("masquerade") && t.contains("10.211.1.0"), "{t}");

    h.ok(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        "10.211.2.0/24",
        "n2",
    ]);
    let br2 = bridge_of(h, "n2").unwrap();
    assert!(links().contains(&br) && links().contains(&br2));
    let lines = h.lines(&["network", "ls"]);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    );
    // docker's bridge, host and none rows are there from the start (a fresh store too).
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(
        h.lines(&["network", "ls", "--format", "{{.Name}} {{.Internal}}"]),
        [
            "bridge false",
            "host false",
            "n1 false",
            "n2 true",
            "none false"
        ]
    );

    // Bad input: one line naming the field, nothing created.
    for (args, msg) in [
        (
            vec!["network", "create", "--subnet", "10.211.1.0/24", "n3"],
            "overlaps network n1",
        ),
        (
            vec!["network", "create", "--subnet", "10.211.3.1/24", "n3"],
            "host bits are set",
        ),
        (
            vec![
                "network",
                "create",
                "--subnet",
                "10.211.3.0/24",
                "--gateway",
                "10.211.4.1",
                "n3",
            ],
            "outside subnet",
        ),
        (vec!["network", "create", "-o", "mtu=12", "n3"], "-o mtu=12"),
        (
            vec!["network", "create", "-o", "color=red", "n3"],
            "-o color=red",
        ),
        (
            vec!["network", "create", "n1"],
            "network n1: already exists",
        ),
        (
            vec!["network", "create", "bad/name"],
            "network name \"bad/name\"",
        ),
        (
            vec!["network", "create", "-d", "overlay", "n3"],
            "only \"bridge\"",
        ),
    ] {
        let (code, err) = h.fails(&args);
        assert_ne!(code, 0);
        assert!(err.contains(msg), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(
        h.lines(&["network", "ls", "-q"]).len(),
        5,
        "bridge, n1, n2, host, none"
    );

    let (_, err) = h.fails(&["network", "rm", "n1", "nope"]);
    assert!(err.contains("no such network: nope"), "{err}");
    h.ok(&["network", "rm", "n2"]);
    assert_eq!(
        h.lines(&["network", "ls", "-q"]).len(),
        3,
        "bridge, host, none"
    );
    // (Other tests make bridges meanwhile: look for this test's own.)
    assert!(!links().contains(&br) && !links().contains(&br2));
    assert!(
        nft_table(&table).is_none(),
        "no rules left: the table is gone"
    );
}

#[test]
fn reload_restores_rules_after_a_flush_of_the_table() {
    let h = &Hull::new();
    h.ok(&["network", "create", "--subnet", "10.212.1.0/24", "n1"]);
    let table = table_with(&bridge_of(h, "n1").unwrap()).expect("table");
    let before = nft_table(&table).unwrap();
    let state: Value =
        serde_json::from_slice(&std::fs::read(h.runroot().join("network/firewall.json")).unwrap())
            .unwrap();
    assert!(state["networks"]["n1"].is_object(), "{state}");
    // Someone removes hull's rules (a flush of the whole ruleset would hit parallel tests).
    assert!(Command::new("nft")
        .args(["delete", "table", "inet", &table])
        .status()
        .unwrap()
        .success());
    assert!(nft_table(&table).is_none());
    h.ok(&["network", "reload"]);
    let after = nft_table(&table).expect("table back");
    let rules = |s: &str| -> Vec<Value> {
        let v: Value = serde_json::from_str(s).unwrap();
        v["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.get("rule").map(|r| r["expr"].clone()))
            .collect()
    };
    assert_eq!(rules(&after), rules(&before));
    assert!(!rules(&after).is_empty());
}

#[test]
fn prune_removes_unused_networks() {
    let h = &Hull::new();
    h.ok(&["network", "create", "--subnet", "10.213.1.0/24", "p1"]);
    h.ok(&["network", "create", "--subnet", "10.213.2.0/24", "p2"]);
    let out = h.ok(&["network", "prune", "-f"]);
    assert!(
        out.starts_with("Deleted Networks:\n") && out.contains("p1\n") && out.contains("p2\n"),
        "{out}"
    );
    // docker's bridge, host and none rows stay.
    assert_eq!(
        h.lines(&["network", "ls", "--format", "{{.Name}}"]),
        ["bridge", "host", "none"]
    );
}
