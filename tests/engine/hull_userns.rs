//! Remapped user namespaces in pods: `hull pod create --uidmap/--gidmap` gives the infra a
//! user namespace that every container of the pod joins, with the pod's network wired into
//! the infra's own network namespace.

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::{Duration, Instant};

use hull_e2e::wait_for;

use hull_e2e::hull::{ns_map, poll_exec, Hull};

const MAP: &str = "0:100000:65536";

const NS: &str = "for n in user uts ipc net mnt; do echo $n $(readlink /proc/self/ns/$n); done";

fn pod_id(t: &Hull, pod: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(&t.ok(&["pod", "inspect", pod])).unwrap();
    v["Id"].as_str().unwrap().to_string()
}

#[test]
fn a_remapped_pod_shares_one_user_namespace_and_its_network() {
    let t = Hull::new();
    let port = 20000 + (std::process::id() % 20000) as u16 + 7;
    let publish = format!("{port}:8080");
    t.ok(&[
        "pod", "create", "--name", "rp", "--uidmap", MAP, "--gidmap", MAP, "-p", &publish,
    ]);
    let id = pod_id(&t, "rp");
    // A volume both containers write into (world-writable, so any mapped id may).
    let shared = t.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let vol = format!("{}:/shared", shared.display());
    t.ok(&[
        "run",
        "-d",
        "--pod",
        "rp",
        "--name",
        "rp-a",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo a > /shared/a && httpd -f -p 8080 -h /shared",
    ]);
    let a = ns_map(&poll_exec(&t, "rp-a", NS, "user"));
    let b_out = t.ok(&[
        "run",
        "--rm",
        "--pod",
        "rp",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        &format!(
            "{NS}; cat /proc/self/uid_map /proc/self/gid_map; echo b > /shared/b; \
                  for i in $(seq 120); do wget -qO- http://127.0.0.1:8080/a && break; sleep 0.5; done; ip -4 -o addr show eth0"
        ),
    ]);
    let b = ns_map(&b_out);
    let host_user = std::fs::read_link("/proc/self/ns/user").unwrap();
    assert_ne!(a["user"], host_user.display().to_string(), "{b_out}");
    for n in ["user", "uts", "ipc", "net"] {
        assert_eq!(a[n], b[n], "{n} not shared: {b_out}");
    }
    assert_ne!(a["mnt"], b["mnt"]);
    let maps: Vec<&str> = b_out
        .lines()
        .filter(|l| l.split_whitespace().collect::<Vec<_>>() == ["0", "100000", "65536"])
        .collect();
    assert_eq!(maps.len(), 2, "uid_map and gid_map: {b_out}");
    // Reached on 127.0.0.1, and eth0 has an address of the default bridge.
    assert!(b_out.lines().any(|l| l == "a"), "{b_out}");
    let ip = b_out
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no address on eth0: {b_out}"))
        .to_string();
    // Owned on the host by the ids the pod's root maps to.
    for f in ["a", "b"] {
        let m = std::fs::metadata(shared.join(f)).unwrap();
        assert_eq!((m.uid(), m.gid()), (100000, 100000), "/shared/{f}");
    }
    // Another container on the default bridge reaches the pod by its address; the host by
    // the published port.
    let o = t.sh(&[], &format!("wget -qO- http://{ip}:8080/b"));
    assert_eq!(o.trim(), "b");
    let o = t.sh(&[], &format!("wget -qO- http://{ip}:8080/b"));
    assert_eq!(o.trim(), "b");
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /a HTTP/1.0\r\n\r\n");
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            if body.contains("200") {
                break;
            }
        }
        assert!(Instant::now() < end, "port {port} never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The host end of the pod's veth, to be gone after removal.
    // (/sys in a remapped container is the host's, so ip is asked, not sysfs.)
    let link = poll_exec(&t, "rp-a", "ip -o link show eth0", "eth0@if");
    let peer: String = link
        .split("eth0@if")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(peer.parse::<u32>().is_ok_and(|i| i > 1), "{peer}");

    t.ok(&["pod", "rm", "-f", "rp"]);
    assert!(t.ok(&["pod", "ps", "-q"]).trim().is_empty());
    t.assert_empty();
    assert!(!t.runroot().join("netns").join(&id).exists(), "netns left");
    assert!(!t.runroot().join("pods").join(&id).exists(), "infra left");
    let nft = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&nft.stdout).contains(&format!(". {port} :")),
        "nft rule for {port} left"
    );
    // The default network of a private root goes with its last endpoint; if it is still
    // there, it has no endpoint left.
    let o = t.run(&["network", "inspect", "bridge"]);
    if o.code == 0 {
        let net: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(net[0]["Containers"], serde_json::json!({}), "lease left");
    } else {
        assert!(o.stderr.contains("no such network"), "{}", o.stderr);
    }
    // The kernel deletes it with the unpinned namespace, in the background.
    let left = || -> Vec<String> {
        std::fs::read_dir("/sys/class/net")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read_to_string(e.path().join("ifindex"))
                    .ok()
                    .as_deref()
                    .map(str::trim)
                    == Some(peer.as_str())
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(
        wait_for(30, || left().is_empty()),
        "host veth (ifindex {peer}) left: {:?}",
        left()
    );
}

#[test]
fn a_remapped_pod_survives_stop_and_start() {
    let t = Hull::new();
    t.ok(&["pod", "create", "--name", "rs", "--uidmap", MAP]);
    t.ok(&[
        "run", "-d", "--pod", "rs", "--name", "rs-a", "busybox", "sleep", "1000",
    ]);
    let first = poll_exec(&t, "rs-a", "ip -4 -o addr show eth0", "inet");
    t.ok(&["pod", "stop", "rs"]);
    t.ok(&["pod", "start", "rs"]);
    let again = poll_exec(
        &t,
        "rs-a",
        "cat /proc/self/gid_map; ip -4 -o addr show eth0",
        "inet",
    );
    assert!(again.contains("100000"), "{again}");
    assert!(first.contains("inet"), "{first}");
    t.ok(&["pod", "rm", "-f", "rs"]);
    t.assert_empty();
}

#[test]
fn bad_maps_give_one_line_and_leave_nothing() {
    let t = Hull::new();
    let o = t.run(&[
        "pod",
        "create",
        "--name",
        "bad",
        "--uidmap",
        "0:100000:1000",
        "--uidmap",
        "10:300000:5",
    ]);
    assert_ne!(o.code, 0);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("--uidmap") && o.stderr.contains("overlaps"),
        "{}",
        o.stderr
    );
    let o = t.run(&["pod", "create", "--name", "bad", "--gidmap", "0:x:5"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--gidmap"), "{}", o.stderr);
    assert!(t.ok(&["pod", "ps", "-q"]).trim().is_empty());

    t.ok(&[
        "pod",
        "create",
        "--name",
        "good",
        "--uidmap",
        MAP,
        "--network",
        "none",
    ]);
    let o = t.run(&[
        "run",
        "--rm",
        "--pod",
        "good",
        "--uidmap",
        "0:200000:65536",
        "busybox",
        "true",
    ]);
    assert_ne!(o.code, 0);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("--uidmap") && o.stderr.contains("good"),
        "{}",
        o.stderr
    );
    let o = t.run(&[
        "run", "--rm", "--pod", "good", "--userns", "host", "busybox", "true",
    ]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--userns"), "{}", o.stderr);
    assert!(t.ok(&["ps", "-a", "-q"]).trim().is_empty());
    // The same maps are accepted.
    let out = t.ok(&[
        "run",
        "--rm",
        "--pod",
        "good",
        "--uidmap",
        MAP,
        "busybox",
        "cat",
        "/proc/self/uid_map",
    ]);
    assert!(out.contains("100000"), "{out}");
    t.ok(&["pod", "rm", "-f", "good"]);
    t.assert_empty();
}
