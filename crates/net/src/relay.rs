//! A userland relay for published ports reached over IPv6 when the container has only an
//! IPv4 address: nftables cannot translate between the two families, so, as docker-proxy
//! does for docker 20.10's `:::PORT` bindings, a process accepts on the host's IPv6 socket
//! and copies each connection (or each client's datagrams) to the container's IPv4 address.
//!
//! The listening sockets are bound by the engine (the port's reservation, refused when in
//! use) and handed to the relay process, which holds them until it is stopped.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::firewall::Proto;

/// A UDP client's flow is forgotten after this long without a reply (docker-proxy: 90 s).
const UDP_IDLE: Duration = Duration::from_secs(90);

/// One relayed port: a bound socket of the host and where its traffic goes.
pub enum Route {
    Tcp(TcpListener, SocketAddr),
    Udp(UdpSocket, SocketAddr),
}

impl Route {
    pub fn proto(&self) -> Proto {
        match self {
            Route::Tcp(..) => Proto::Tcp,
            Route::Udp(..) => Proto::Udp,
        }
    }
}

/// Relays every route until the process is killed; returns only when a listener fails.
pub fn serve(routes: Vec<Route>) -> io::Result<()> {
    let handles: Vec<_> = routes
        .into_iter()
        .map(|r| {
            thread::spawn(move || match r {
                Route::Tcp(l, to) => serve_tcp(l, to),
                Route::Udp(s, to) => serve_udp(s, to),
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| io::Error::other("relay thread panicked"))??;
    }
    Ok(())
}

fn serve_tcp(l: TcpListener, to: SocketAddr) -> io::Result<()> {
    loop {
        let (client, _) = match l.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
            Err(e) => return Err(e),
        };
        thread::spawn(move || {
            // The container refusing or unreachable: the client sees its connection closed.
            if let Ok(upstream) = TcpStream::connect_timeout(&to, Duration::from_secs(10)) {
                let _ = splice_both(client, upstream);
            }
        });
    }
}

/// Copies both ways until both sides are done; an end of input is passed on as a
/// half-close, so a request-then-EOF protocol works through the relay.
fn splice_both(a: TcpStream, b: TcpStream) -> io::Result<()> {
    let (a2, b2) = (a.try_clone()?, b.try_clone()?);
    let t = thread::spawn(move || copy_half(a2, b2));
    copy_half(b, a);
    let _ = t.join();
    Ok(())
}

fn copy_half(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Each client address gets a socket of its own towards the container, whose replies a
/// thread sends back from the listening socket.
fn serve_udp(s: UdpSocket, to: SocketAddr) -> io::Result<()> {
    let s = Arc::new(s);
    let flows: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, client) = match s.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let up = {
            let mut f = flows.lock().unwrap_or_else(|e| e.into_inner());
            match f.get(&client) {
                Some(u) => u.clone(),
                None => {
                    let unspecified: SocketAddr = match to {
                        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
                        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
                    };
                    let u = Arc::new(UdpSocket::bind(unspecified)?);
                    u.connect(to)?;
                    u.set_read_timeout(Some(UDP_IDLE))?;
                    f.insert(client, u.clone());
                    let (u2, s2, flows2) = (u.clone(), s.clone(), flows.clone());
                    thread::spawn(move || {
                        let mut b = vec![0u8; 65536];
                        while let Ok(n) = u2.recv(&mut b) {
                            let _ = s2.send_to(&b[..n], client);
                        }
                        flows2
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&client);
                    });
                    u
                }
            }
        };
        let _ = up.send(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::Ipv6Addr;

    #[test]
    fn tcp_and_udp_are_relayed_from_v6_to_v4() {
        // The "container": a v4 echo on loopback.
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let echo_addr = echo.local_addr().unwrap();
        thread::spawn(move || {
            let (mut c, _) = echo.accept().unwrap();
            let mut s = String::new();
            c.read_to_string(&mut s).unwrap();
            c.write_all(format!("got {s}").as_bytes()).unwrap();
        });
        let uecho = UdpSocket::bind("127.0.0.1:0").unwrap();
        let uecho_addr = uecho.local_addr().unwrap();
        thread::spawn(move || {
            let mut b = [0u8; 64];
            let (n, from) = uecho.recv_from(&mut b).unwrap();
            uecho.send_to(&b[..n], from).unwrap();
        });
        let Ok(l) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) else {
            return; // no IPv6 on this host
        };
        let laddr = l.local_addr().unwrap();
        let u = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
        let uaddr = u.local_addr().unwrap();
        thread::spawn(move || serve(vec![Route::Tcp(l, echo_addr), Route::Udp(u, uecho_addr)]));
        let mut c = TcpStream::connect(laddr).unwrap();
        c.write_all(b"ping").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        assert_eq!(s, "got ping");
        let uc = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
        uc.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        uc.send_to(b"hello", uaddr).unwrap();
        let mut b = [0u8; 16];
        let n = uc.recv(&mut b).unwrap();
        assert_eq!(&b[..n], b"hello");
    }
}
