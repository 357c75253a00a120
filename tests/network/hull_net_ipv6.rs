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
