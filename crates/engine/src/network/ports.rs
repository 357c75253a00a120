//! Published host ports reserved for the container's life, as docker-proxy does by listening
//! on each (hull forwards with nftables DNAT, not a proxy, so nothing is ever accepted).
//!
//! The sockets are bound while the container is wired, so a port a host process already
//! listens on is refused (`address already in use`, docker's words) before any rule is
//! written. They are held in this process until `hull start`/`run` spawns the container's
//! monitor, which inherits them (`hull-monitor --hold FD`) and keeps them until it exits with
//! the container: the monitor already lives exactly as long as the container runs, so no
//! extra process is needed (docs/networking.md says why not a holder of its own).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use hull_net::firewall::Proto;

/// Sockets bound by [`bind`], by container id, until the monitor takes them.
static HELD: Mutex<Vec<(String, Vec<OwnedFd>)>> = Mutex::new(Vec::new());

/// Binds `ip:port/proto` (every address when `ip` is None; a kernel-chosen port when `port`
/// is None) and returns the port with the socket. A TCP socket listens, so that no other
/// socket, even one with SO_REUSEADDR, can take the port meanwhile.
pub fn bind(
    ip: Option<Ipv4Addr>,
    port: Option<u16>,
    proto: Proto,
) -> Result<(u16, OwnedFd), String> {
    let addr = SocketAddr::from((ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port.unwrap_or(0)));
    let res = match proto {
        Proto::Tcp => TcpListener::bind(addr).and_then(|l| Ok((l.local_addr()?.port(), l.into()))),
        Proto::Udp => UdpSocket::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), s.into()))),
    };
    res.map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EADDRINUSE) => "address already in use".to_string(),
            Some(libc::EADDRNOTAVAIL) => "cannot assign requested address".to_string(),
            Some(libc::EACCES) => "permission denied".to_string(),
            _ => e.to_string(),
        };
        format!("listen {proto}4 {addr}: bind: {why}")
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_refused_and_the_holder_keeps_it() {
        let (port, fd) = bind(Some(Ipv4Addr::LOCALHOST), None, Proto::Tcp).unwrap();
        let e = bind(Some(Ipv4Addr::LOCALHOST), Some(port), Proto::Tcp).unwrap_err();
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
        let (uport, u) = bind(Some(Ipv4Addr::LOCALHOST), None, Proto::Udp).unwrap();
        hold("c2", vec![u]);
        assert!(bind(Some(Ipv4Addr::LOCALHOST), Some(uport), Proto::Udp).is_err());
        release("c2");
        bind(Some(Ipv4Addr::LOCALHOST), Some(uport), Proto::Udp).unwrap();
    }
}
