//! Pinned network namespaces and reading the kernel's tables, as root.

use std::net::Ipv4Addr;
use std::process::Command;

use hull_net::ipam::{self, Subnet};
use hull_net::netlink::Netlink;
use hull_net::netns::{self, NetnsError};

fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn pinned_namespace_outlives_processes_and_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let p = netns::create(dir.path(), "pinned").unwrap();
    assert_eq!(p, netns::path(dir.path(), "pinned"));
    assert!(netns::is_pinned(&p));
    // A new namespace: not the test's own.
    assert_ne!(inode(&p), inode(std::path::Path::new("/proc/self/ns/net")));

    // State set by one process is seen by the next: the namespace lives on the mount.
    let nsenter = |cmd: &str| {
        Command::new("nsenter")
            .arg(format!("--net={}", p.display()))
            .args(["sh", "-c", cmd])
            .output()
            .unwrap()
    };
    assert!(nsenter("ip link add hnt-brx type bridge").status.success());
    let out = nsenter("ip -o link");
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("hnt-brx") && !s.contains("eth0"), "{s}");

    // The netlink client opened inside sees the same.
    let mut nl = Netlink::in_netns(&p).unwrap();
    let names: Vec<_> = nl.links().unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(names, vec!["lo".to_string(), "hnt-brx".to_string()]);

    // Pinning a process's namespace: the same namespace, another name.
    let mut child = Command::new("nsenter")
        .arg(format!("--net={}", p.display()))
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let pid = child.id() as i32;
    while inode(std::path::Path::new(&format!("/proc/{pid}/ns/net"))) != inode(&p) {
        assert!(std::time::Instant::now() < deadline, "nsenter never joined");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let p2 = netns::pin_pid(dir.path(), "by-pid", pid).unwrap();
    assert_eq!(inode(&p2), inode(&p));
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(netns::list(dir.path()), vec!["by-pid", "pinned"]);
    assert!(matches!(
        netns::create(dir.path(), "pinned"),
        Err(NetnsError::Exists { .. })
    ));
    assert!(matches!(
        netns::create(dir.path(), "../x"),
        Err(NetnsError::BadName(_))
    ));
    assert!(matches!(
        netns::create(dir.path(), ""),
        Err(NetnsError::BadName(_))
    ));

    netns::remove(&p).unwrap();
    netns::remove(&p2).unwrap();
    assert!(!p.exists() && !p2.exists());
    assert!(netns::list(dir.path()).is_empty());
    // Removing twice is fine.
    netns::remove(&p).unwrap();
}

#[test]
fn subnet_choice_reads_the_namespace_routes() {
    let dir = tempfile::tempdir().unwrap();
    let p = netns::create(dir.path(), "routes").unwrap();
    let mut nl = Netlink::in_netns(&p).unwrap();
    let lo = nl.index("lo").unwrap();
    nl.set_up(lo, true).unwrap();
    let sh = |cmd: &str| {
        assert!(Command::new("nsenter")
            .arg(format!("--net={}", p.display()))
            .args(["sh", "-c", cmd])
            .status()
            .unwrap()
            .success());
    };
    sh("ip link add hnt-d0 type bridge && ip link set hnt-d0 up && ip addr add 172.17.0.1/16 dev hnt-d0 && ip route add 172.18.4.0/24 dev hnt-d0");
    let routes = nl.routes().unwrap();
    let routed = ipam::routed_subnets(&routes);
    assert!(
        routed.contains(&"172.17.0.0/16".parse::<Subnet>().unwrap()),
        "{routed:?}"
    );
    let got = ipam::choose_subnet(ipam::default_candidates(16), &routed, &[]).unwrap();
    assert_eq!(got.to_string(), "172.19.0.0/16");
    let addrs = nl.addresses().unwrap();
    assert!(addrs
        .iter()
        .any(|a| a.ip == Ipv4Addr::new(172, 17, 0, 1) && a.prefix == 16));
    netns::remove(&p).unwrap();
}
