//! Published host ports reserved for the container's life, as docker-proxy does by listening
//! on each (hull forwards IPv4 with nftables DNAT, not a proxy, so nothing is ever accepted
//! there), and the relay of the IPv6 bindings (see below).
//!
//! The sockets are bound while the container is wired, so a port a host process already
//! listens on is refused (`address already in use`, docker's words) before any rule is
//! written. They are held in this process until `hull start`/`run` spawns the container's
//! monitor, which inherits them (`hull-monitor --hold FD`) and keeps them until it exits with
//! the container: the monitor already lives exactly as long as the container runs, so no
//! extra process is needed (docs/networking.md says why not a holder of its own).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use hull_net::firewall::{self, FirewallDriver, PortMapping, Proto};
use hull_net::relay;

use super::endpoint::{ep_err, NetRequest};
use super::{host, Network};
use crate::Paths;

/// Sockets bound by [`bind`], by container id, until the monitor takes them.
static HELD: Mutex<Vec<(String, Vec<OwnedFd>)>> = Mutex::new(Vec::new());

/// Binds `ip:port/proto` (every IPv4 address when `ip` is None; a kernel-chosen port when
/// `port` is None) and returns the port with the socket. A TCP socket listens, so that no
/// other socket, even one with SO_REUSEADDR, can take the port meanwhile. An IPv6 socket is
/// IPv6-only: `::` and `0.0.0.0` are two reservations, as docker's two docker-proxies.
pub fn bind(ip: Option<IpAddr>, port: Option<u16>, proto: Proto) -> Result<(u16, OwnedFd), String> {
    let addr = SocketAddr::from((
        ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        port.unwrap_or(0),
    ));
    let family = if addr.is_ipv6() { "6" } else { "4" };
    bind_addr(addr, proto).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EADDRINUSE) => "address already in use".to_string(),
            Some(libc::EADDRNOTAVAIL) => "cannot assign requested address".to_string(),
            Some(libc::EACCES) => "permission denied".to_string(),
            _ => e.to_string(),
        };
        format!("listen {proto}{family} {addr}: bind: {why}")
    })
}

fn bind_addr(addr: SocketAddr, proto: Proto) -> std::io::Result<(u16, OwnedFd)> {
    use nix::sys::socket::{self as sock, sockopt, AddressFamily, SockFlag, SockType};
    let (family, ty) = (
        if addr.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        },
        match proto {
            Proto::Tcp => SockType::Stream,
            Proto::Udp => SockType::Datagram,
        },
    );
    let fd = sock::socket(family, ty, SockFlag::SOCK_CLOEXEC, None)?;
    if addr.is_ipv6() {
        sock::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    if proto == Proto::Tcp {
        // As std's TcpListener and Go's listeners: a port in TIME_WAIT can be taken again.
        sock::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    sock::bind(fd.as_raw_fd(), &sock::SockaddrStorage::from(addr))?;
    if proto == Proto::Tcp {
        sock::listen(
            &fd,
            sock::Backlog::new(128).unwrap_or(sock::Backlog::MAXCONN),
        )?;
    }
    let local: sock::SockaddrStorage = sock::getsockname(fd.as_raw_fd())?;
    let port = local
        .as_sockaddr_in()
        .map(|a| a.port())
        .or_else(|| local.as_sockaddr_in6().map(|a| a.port()))
        .unwrap_or(0);
    Ok((port, fd))
}

/// The relay of a container's IPv6 bindings (`-p 8080:80` also binds `[::]:8080`, as docker
/// 20.10 does; `-p [::1]:8080:80` only that): the container has an IPv4 address only, and
/// NAT cannot cross families, so a process of its own (`hull network port-relay ID ROUTE...`)
/// binds them, which is also their reservation, and copies each connection to the
/// container, as docker-proxy. It reports `ready` on stdout once every socket is bound, or
/// the bind's error on stderr; teardown stops it by its pid file.
pub fn spawn_relay(paths: &Paths, id: &str, maps: &[&PortMapping]) -> Result<(), String> {
    if maps.is_empty() {
        return Ok(());
    }
    let pidfile = relay_pidfile(paths, id);
    let dir = pidfile.parent().expect("pid file has a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("port relay: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(&paths.root)
        .arg("--runroot")
        .arg(&paths.runroot)
        .args(["network", "port-relay", id])
        .args(maps.iter().map(|m| route_arg(m)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: a ^C of a foreground `hull run` is not for it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| format!("start port relay: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    if line.trim() == "ready" {
        let written = std::fs::write(&pidfile, child.id().to_string())
            .map_err(|e| format!("{}: {e}", pidfile.display()));
        crate::children::leave(child);
        return written;
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let _ = child.kill();
    let _ = child.wait();
    let err = err.trim().trim_start_matches("hull: ");
    Err(if err.is_empty() {
        "port relay did not start".to_string()
    } else {
        err.to_string()
    })
}

/// Stops container `id`'s relay, if it has one (its sockets close with it).
pub fn stop_relay(paths: &Paths, id: &str) -> Result<(), String> {
    hull_net::proc::stop(&relay_pidfile(paths, id), &relay_marker(id))
        .map(|_| ())
        .map_err(|e| format!("stop port relay: {e}"))
}

/// The relay itself (`hull network port-relay ID ROUTE...`): binds every route, says
/// `ready`, relays until killed.
pub fn serve_relay(routes: &[String]) -> Result<(), String> {
    let mut out = Vec::new();
    for r in routes {
        let bad = || format!("port relay route {r:?}: expected PROTO=HOST_ADDR:PORT=TO_ADDR:PORT");
        let mut it = r.splitn(3, '=');
        let (Some(proto), Some(host), Some(to)) = (it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        let host: SocketAddr = host.parse().map_err(|_| bad())?;
        let to: SocketAddr = to.parse().map_err(|_| bad())?;
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => return Err(bad()),
        };
        let (_, fd) = bind(Some(host.ip()), Some(host.port()), proto)?;
        out.push(match proto {
            Proto::Tcp => relay::Route::Tcp(fd.into(), to),
            Proto::Udp => relay::Route::Udp(fd.into(), to),
        });
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")
        .and_then(|_| stdout.flush())
        .map_err(|e| format!("port relay: stdout: {e}"))?;
    relay::serve(out).map_err(|e| format!("port relay: {e}"))
}

fn route_arg(m: &PortMapping) -> String {
    let host = SocketAddr::from((
        m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        m.host_port,
    ));
    let to = match m.container_ip6 {
        Some(ip6) => SocketAddr::from((ip6, m.container_port)),
        None => SocketAddr::from((m.container_ip, m.container_port)),
    };
    format!("{}={host}={to}", m.proto)
}

fn relay_pidfile(paths: &Paths, id: &str) -> PathBuf {
    super::run_dir(paths)
        .join("relays")
        .join(format!("{id}.pid"))
}

fn relay_marker(id: &str) -> String {
    format!("port-relay {id}")
}

/// Keeps `fds` for container `id` until [`take`] or [`release`].
pub fn hold(id: &str, fds: Vec<OwnedFd>) {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|(i, _)| i != id);
    if !fds.is_empty() {
        held.push((id.to_string(), fds));
    }
}

/// The sockets held for `id`, for its monitor to inherit.
pub fn take(id: &str) -> Vec<OwnedFd> {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    match held.iter().position(|(i, _)| i == id) {
        Some(n) => held.swap_remove(n).1,
        None => Vec::new(),
    }
}

/// Closes the sockets held for `id` (a start that failed, a teardown).
pub fn release(id: &str) {
    drop(take(id));
}

/// Publishes the container's `-p`/`-P` ports on network `net`, where it has the address
/// `ip4` (and `ip6` on a dual-stack network: its IPv6 bindings are then DNATed to it as the
/// IPv4 ones, not relayed).
pub(super) fn publish(
    paths: &Paths,
    id: &str,
    req: &NetRequest,
    net: &Network,
    ip4: Ipv4Addr,
    ip6: Option<Ipv6Addr>,
) -> super::Result<()> {
    let mut specs = Vec::new();
    for p in &req.publish {
        specs.extend(firewall::parse_publish(p).map_err(|e| ep_err(id, e))?);
    }
    if req.publish_all {
        for e in &req.exposed {
            let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            specs.extend(
                firewall::parse_publish(&format!("{port}/{proto}")).map_err(|e| ep_err(id, e))?,
            );
        }
    }
    if specs.is_empty() {
        return Ok(());
    }
    if net.internal {
        return Err(ep_err(
            id,
            format!(
                "network {} is internal: ports cannot be published",
                net.name
            ),
        ));
    }
    // Each host port is bound first (docker's refusal of a port in use, and the reservation
    // the monitor keeps); a port left to the engine is the one the kernel bound. Every
    // address (`-p 8080:80`) is two bindings, as docker 20.10's: `0.0.0.0` DNATed by nftables
    // and `::` relayed to the container's IPv4 address (ports::spawn_relay).
    let mut maps = Vec::new();
    let mut fds = Vec::new();
    let v6_any = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    for s in specs {
        let v4_ip = match s.host_ip {
            Some(IpAddr::V6(_)) => None,
            Some(ip) if ip.is_unspecified() => Some(None),
            ip => Some(ip),
        };
        let mut host_port = s.host_port;
        if let Some(ip) = v4_ip {
            let (port, fd) = bind(ip, host_port, s.proto)
                .map_err(|e| ep_err(id, published_by(paths, &s).unwrap_or(e)))?;
            fds.push(fd);
            host_port = Some(port);
            maps.push(PortMapping {
                host_ip: ip,
                host_port: port,
                container_port: s.container_port,
                proto: s.proto,
                container_ip: ip4,
                network: net.name.clone(),
                container_ip6: None,
            });
        }
        let v6 = match s.host_ip {
            Some(ip @ IpAddr::V6(_)) => Some(ip),
            None if host_has_ipv6() => Some(v6_any),
            _ => None,
        };
        if let Some(ip) = v6 {
            // Checked here: a port in use is refused before anything is published. DNATed
            // alone (a container with IPv6, a specific address), the socket is the
            // reservation the monitor keeps, as for IPv4; relayed (also `::` to a container
            // with IPv6: its `::1` connections), the relay binds it for good once every
            // check passed.
            let (port, fd) = bind(Some(ip), host_port, s.proto).map_err(|e| ep_err(id, e))?;
            let m = PortMapping {
                host_ip: Some(ip),
                host_port: port,
                container_port: s.container_port,
                proto: s.proto,
                container_ip: ip4,
                network: net.name.clone(),
                container_ip6: ip6,
            };
            if !m.is_relayed() {
                fds.push(fd);
            }
            maps.push(m);
        }
    }
    host::firewall(paths)
        .add_ports(id, &maps)
        .map_err(|e| ep_err(id, e))?;
    let relayed: Vec<&PortMapping> = maps.iter().filter(|m| m.is_relayed()).collect();
    spawn_relay(paths, id, &relayed).map_err(|e| ep_err(id, e))?;
    hold(id, fds);
    Ok(())
}

/// Whether the host has IPv6 at all (not disabled by `ipv6.disable=1` or the sysctl):
/// without it, `-p 8080:80` binds IPv4 alone, as docker's.
fn host_has_ipv6() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/lo/disable_ipv6")
        .is_ok_and(|v| v.trim() == "0")
}

/// Why a port that cannot be bound is taken, when another container of hull's publishes it
/// (more telling than the kernel's `address already in use`).
fn published_by(paths: &Paths, s: &firewall::PortSpec) -> Option<String> {
    let state = host::firewall(paths).state().ok()?;
    let port = s.host_port?;
    let want = s.host_ip.filter(|ip| ip.is_ipv6() || !ip.is_unspecified());
    state.ports.iter().find_map(|(owner, maps)| {
        maps.iter()
            .any(|m| {
                m.proto == s.proto && m.host_port == port && firewall::ips_clash(m.host_ip, want)
            })
            .then(|| {
                firewall::FirewallError::PortInUse {
                    host_ip: want.map_or("0.0.0.0".into(), |ip| ip.to_string()),
                    port,
                    proto: s.proto,
                    owner: owner.clone(),
                }
                .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_refused_and_the_holder_keeps_it() {
        let lo = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let (port, fd) = bind(lo, None, Proto::Tcp).unwrap();
        let e = bind(lo, Some(port), Proto::Tcp).unwrap_err();
        assert_eq!(
            e,
            format!("listen tcp4 127.0.0.1:{port}: bind: address already in use")
        );
        hold("c1", vec![fd]);
        assert!(bind(None, Some(port), Proto::Tcp).is_err());
        assert_eq!(take("c1").len(), 1);
        assert!(take("c1").is_empty());
        // Taken and dropped: free again.
        bind(None, Some(port), Proto::Tcp).unwrap();
        let (uport, u) = bind(lo, None, Proto::Udp).unwrap();
        hold("c2", vec![u]);
        assert!(bind(lo, Some(uport), Proto::Udp).is_err());
        release("c2");
        bind(lo, Some(uport), Proto::Udp).unwrap();
    }

    #[test]
    fn the_v6_reservation_is_its_own_and_refuses_a_port_in_use() {
        let any6 = Some(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
        let (port, _v4) = bind(None, None, Proto::Tcp).unwrap();
        // `::` beside `0.0.0.0` on one port: IPv6-only, so both hold.
        let Ok((p6, _v6)) = bind(any6, Some(port), Proto::Tcp) else {
            return; // no IPv6 on this host
        };
        assert_eq!(p6, port);
        let lo6 = Some(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
        let e = bind(lo6, Some(port), Proto::Tcp).unwrap_err();
        assert_eq!(
            e,
            format!("listen tcp6 [::1]:{port}: bind: address already in use")
        );
    }
}
