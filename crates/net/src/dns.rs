//! Name resolution between containers: a small DNS responder, one per user-created network,
//! listening on the network's gateway address.
//!
//! Why a responder and not only /etc/hosts: a container's resolver decides by its image's
//! nsswitch.conf, and glibc without one uses `dns [!UNAVAIL=return] files`, so a reachable
//! DNS server answering NXDOMAIN hides /etc/hosts; a server that knows the peers is right
//! whatever the image. It answers A and AAAA (a dual-stack network's IPv6 addresses; empty
//! on an IPv4-only one) for the names in a hosts-format file the
//! engine rewrites as containers join and leave (read again whenever it changes), and
//! forwards every other query to the host's resolvers, relaying the answer. One thread, two
//! sockets and poll: no async runtime, no thread per query.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;
/// Short: names come and go with containers.
const TTL: u32 = 10;
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Names to addresses, names lowercased without the final dot; and the container each
/// address is leased to, where the file says (for the trace).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Records {
    names: HashMap<String, Vec<IpAddr>>,
    owners: HashMap<IpAddr, String>,
}

impl Records {
    /// Reads hosts-file lines: `ADDRESS NAME [ALIAS...]` (IPv4 or IPv6), `#` comments.
    /// A comment that is a 64-hex-digit container id (the engine writes one) names the
    /// address's owner.
    pub fn parse(text: &str) -> Records {
        let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
        let mut owners = HashMap::new();
        for line in text.lines() {
            let (line, comment) = line.split_once('#').unwrap_or((line, ""));
            let mut words = line.split_whitespace();
            let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
                continue;
            };
            let comment = comment.trim();
            if comment.len() == 64 && comment.bytes().all(|b| b.is_ascii_hexdigit()) {
                owners.insert(ip, comment.to_string());
            }
            for name in words {
                let e = map
                    .entry(name.trim_end_matches('.').to_ascii_lowercase())
                    .or_default();
                if !e.contains(&ip) {
                    e.push(ip);
                }
            }
        }
        map.entry("localhost".into())
            .or_insert_with(|| vec![Ipv4Addr::LOCALHOST.into()]);
        Records { names: map, owners }
    }

    pub fn get(&self, name: &str) -> Option<&[IpAddr]> {
        self.names
            .get(&name.trim_end_matches('.').to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// The container `ip` is leased to ("" when the file does not say).
    pub fn owner(&self, ip: &IpAddr) -> &str {
        self.owners.get(ip).map_or("", String::as_str)
    }
}

/// The name a query asks for, for the trace.
fn asked(q: &[u8]) -> String {
    question(q).map(|(name, _, _)| name).unwrap_or_default()
}

/// The question of a query: name, type, and where the question section ends.
fn question(q: &[u8]) -> Option<(String, u16, usize)> {
    if q.len() < 12 || q[2] & 0x80 != 0 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // compression is not used in questions
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).into_owned());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let qclass = u16::from_be_bytes([*q.get(i + 2)?, *q.get(i + 3)?]);
    if qclass != CLASS_IN {
        return None;
    }
    Some((labels.join("."), qtype, i + 4))
}

/// The local answer to `query`, or None when it is not ours to answer (forward it).
pub fn answer(query: &[u8], records: &Records) -> Option<Vec<u8>> {
    let (name, qtype, end) = question(query)?;
    let all = records.get(&name)?;
    // A name without an address of the family asked: NOERROR, no answer.
    let ips: Vec<IpAddr> = match qtype {
        TYPE_A => all.iter().filter(|ip| ip.is_ipv4()).copied().collect(),
        TYPE_AAAA => all.iter().filter(|ip| ip.is_ipv6()).copied().collect(),
        TYPE_ANY => all.to_vec(),
        _ => return None,
    };
    let mut r = Vec::with_capacity(end + 16 * ips.len());
    r.extend_from_slice(&query[..2]); // id
                                      // QR, opcode 0, AA, RD as asked; RA; rcode 0.
    r.push(0x84 | (query[2] & 0x01));
    r.push(0x80);
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&(ips.len() as u16).to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]); // no authority, no additional (EDNS dropped)
    r.extend_from_slice(&query[12..end]);
    for ip in ips {
        let (ty, data) = match ip {
            IpAddr::V4(a) => (TYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (TYPE_AAAA, a.octets().to_vec()),
        };
        r.extend_from_slice(&[0xc0, 12]); // pointer to the question's name
        r.extend_from_slice(&ty.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&TTL.to_be_bytes());
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(&data);
    }
    Some(r)
}

/// A SERVFAIL answer to `query` (forwarding impossible).
fn servfail(query: &[u8]) -> Option<Vec<u8>> {
    let (_, _, end) = question(query)?;
    let mut r = query[..end].to_vec();
    r[2] = 0x80 | (query[2] & 0x01);
    r[3] = 0x82;
    r[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    Some(r)
}

/// The host's resolvers from resolv.conf text, loopback ones left out (a container cannot
/// reach the host's 127.0.0.53 or dnsmasq on 127.0.0.1).
pub fn upstreams_from_resolv(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| w.next()).flatten()
        })
        .filter_map(|a| a.parse::<Ipv4Addr>().ok())
        .filter(|ip| !ip.is_loopback())
        .map(|ip| SocketAddr::from((ip, 53)))
        .collect()
}

struct Pending {
    client: SocketAddr,
    id: [u8; 2],
    since: Instant,
}

pub struct Responder {
    sock: UdpSocket,
    up: UdpSocket,
    upstreams: Vec<SocketAddr>,
    records_path: PathBuf,
    records: Records,
    /// What the records file looked like when last read: mtime, size and inode.
    seen: Option<(SystemTime, u64, u64)>,
    pending: HashMap<u16, Pending>,
    next_id: u16,
}

impl Responder {
    /// `sock` is bound where containers ask (gateway:53); its namespace is where the
    /// forwarding socket is made too, so both must be created in the host's namespace.
    pub fn new(
        sock: UdpSocket,
        records_path: &Path,
        upstreams: Vec<SocketAddr>,
    ) -> io::Result<Self> {
        let up = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        let mut r = Responder {
            sock,
            up,
            upstreams,
            records_path: records_path.into(),
            records: Records::default(),
            seen: None,
            pending: HashMap::new(),
            next_id: 1,
        };
        r.refresh();
        Ok(r)
    }

    /// Re-reads the records file when it changed (a missing file means no names). Its mtime
    /// alone is not enough: a rewrite in place (truncate, then write) can land within one tick
    /// of the file system's clock, and a read between the two would then stick with an empty
    /// file; size and inode change with the write and with a rename over it.
    fn refresh(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let seen = std::fs::metadata(&self.records_path)
            .and_then(|m| Ok((m.modified()?, m.len(), m.ino())))
            .ok();
        if seen != self.seen || seen.is_none() {
            let text = std::fs::read_to_string(&self.records_path).unwrap_or_default();
            self.records = Records::parse(&text);
            self.seen = seen;
        }
    }

    /// Serves until `stop` is set (checked at least every half second).
    pub fn serve(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let (a, b) = {
                let mut fds = [
                    PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.up.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::from(500u16)) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]))
            };
            if a {
                if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                    self.query(&buf[..n], from);
                }
            }
            if b {
                if let Ok((n, _)) = self.up.recv_from(&mut buf) {
                    self.reply(&mut buf[..n]);
                }
            }
            let now = Instant::now();
            self.pending
                .retain(|_, p| now.duration_since(p.since) < FORWARD_TIMEOUT);
        }
        Ok(())
    }

    fn query(&mut self, q: &[u8], from: SocketAddr) {
        self.refresh();
        // Each query in a span naming the asking container, as every hop of the chain does.
        let _span = tracing::debug_span!("query", id = self.records.owner(&from.ip())).entered();
        if let Some(r) = answer(q, &self.records) {
            tracing::debug!(name = %asked(q), %from, "answered");
            let _ = self.sock.send_to(&r, from);
            return;
        }
        if q.len() < 12 || self.upstreams.is_empty() {
            tracing::debug!(name = %asked(q), %from, "no upstream: servfail");
            if let Some(r) = servfail(q) {
                let _ = self.sock.send_to(&r, from);
            }
            return;
        }
        // Our own id on the forwarding socket, so two clients' equal ids cannot mix.
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.pending.insert(
            id,
            Pending {
                client: from,
                id: [q[0], q[1]],
                since: Instant::now(),
            },
        );
        tracing::debug!(name = %asked(q), %from, "forwarded");
        let mut fwd = q.to_vec();
        fwd[..2].copy_from_slice(&id.to_be_bytes());
        for up in &self.upstreams {
            let _ = self.up.send_to(&fwd, up);
        }
    }

    fn reply(&mut self, r: &mut [u8]) {
        if r.len() < 12 {
            return;
        }
        let id = u16::from_be_bytes([r[0], r[1]]);
        if let Some(p) = self.pending.remove(&id) {
            r[..2].copy_from_slice(&p.id);
            let _ = self.sock.send_to(r, p.client);
        }
    }
}

/// /etc/hosts for a container: localhost, its own names, then its peers and `--add-host`s.
pub fn hosts_file(own: &[(IpAddr, Vec<String>)], extra: &[(String, String)]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    for (ip, names) in own {
        s.push_str(&format!("{ip}\t{}\n", names.join(" ")));
    }
    for (name, ip) in extra {
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    s
}

/// /etc/resolv.conf for a container: `nameservers` when given (--dns, or the network's
/// responder), otherwise the host's minus loopback ones; `search` replaces the host's search
/// line when not empty, and `options` (--dns-option) the host's options lines.
pub fn resolv_conf(
    host: &str,
    nameservers: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut out = String::new();
    let mut ns: Vec<String> = nameservers.to_vec();
    if ns.is_empty() {
        ns = upstreams_from_resolv(host)
            .iter()
            .map(|a| a.ip().to_string())
            .collect();
    }
    let host_search: Vec<&str> = host
        .lines()
        .filter(|l| l.starts_with("search ") || l.starts_with("domain "))
        .flat_map(|l| l.split_whitespace().skip(1))
        .collect();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    } else if !host_search.is_empty() {
        out.push_str(&format!("search {}\n", host_search.join(" ")));
    }
    for n in ns {
        out.push_str(&format!("nameserver {n}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
        return out;
    }
    for l in host.lines().filter(|l| l.starts_with("options ")) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    #[test]
    fn answers_known_names_only() {
        let r = Records::parse(
            "# peers\n10.1.0.2 web web.net1 # comment\n10.1.0.3\tdb\nfd00::1 v6only\n\
             fd00::2 db\n",
        );
        let v4 = |a, b, c, d| IpAddr::from(Ipv4Addr::new(a, b, c, d));
        let db6: IpAddr = "fd00::2".parse().unwrap();
        assert_eq!(r.get("WEB."), Some(&[v4(10, 1, 0, 2)][..]));
        assert_eq!(r.get("localhost"), Some(&[v4(127, 0, 0, 1)][..]));
        assert_eq!(r.get("db"), Some(&[v4(10, 1, 0, 3), db6][..]));
        // AAAA of a dual-stack name: its IPv6 address only; A: its IPv4 one only.
        let a6 = answer(&query("db", TYPE_AAAA), &r).unwrap();
        assert_eq!(u16::from_be_bytes([a6[6], a6[7]]), 1);
        assert_eq!(
            &a6[a6.len() - 16..],
            &"fd00::2".parse::<std::net::Ipv6Addr>().unwrap().octets()
        );
        let a4 = answer(&query("db", TYPE_A), &r).unwrap();
        assert_eq!(u16::from_be_bytes([a4[6], a4[7]]), 1);
        assert_eq!(&a4[a4.len() - 4..], &[10, 1, 0, 3]);
        // An IPv6-only name asked for A: the name exists, no answer.
        let none = answer(&query("v6only", TYPE_A), &r).unwrap();
        assert_eq!(u16::from_be_bytes([none[6], none[7]]), 0);

        let q = query("Web", TYPE_A);
        let a = answer(&q, &r).unwrap();
        assert_eq!(&a[..2], &[0x12, 0x34]);
        assert_eq!(a[2] & 0x80, 0x80); // response
        assert_eq!(a[3] & 0x0f, 0); // NOERROR
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1);
        assert_eq!(&a[a.len() - 4..], &[10, 1, 0, 2]);
        let a6 = answer(&query("web", TYPE_AAAA), &r).unwrap();
        assert_eq!(u16::from_be_bytes([a6[6], a6[7]]), 0);
        assert!(answer(&query("example.com", TYPE_A), &r).is_none());
        assert!(answer(&query("web", 16), &r).is_none()); // TXT: forwarded
        assert!(answer(&q[..10], &r).is_none());
        let sf = servfail(&q).unwrap();
        assert_eq!(sf[3] & 0x0f, 2);
    }

    #[test]
    fn resolv_and_hosts() {
        let host = "# x\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n";
        assert_eq!(
            upstreams_from_resolv(host),
            vec![SocketAddr::from(([192, 0, 2, 53], 53))]
        );
        assert_eq!(
            resolv_conf(host, &[], &[], &[]),
            "search corp.example\nnameserver 192.0.2.53\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(host, &["10.1.0.1".into()], &["a.test".into()], &[]),
            "search a.test\nnameserver 10.1.0.1\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(host, &[], &[], &["ndots:2".into(), "timeout:1".into()]),
            "search corp.example\nnameserver 192.0.2.53\noptions ndots:2 timeout:1\n"
        );
        let h = hosts_file(
            &[(
                Ipv4Addr::new(10, 1, 0, 2).into(),
                vec!["web".into(), "abc123".into()],
            )],
            &[("db".into(), "10.9.9.9".into())],
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(
            h.contains("10.1.0.2\tweb abc123\n") && h.ends_with("10.9.9.9\tdb\n"),
            "{h}"
        );
    }
}
