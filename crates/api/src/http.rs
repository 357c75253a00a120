//! HTTP/1.1 over one unix stream: the request head parsed by httparse (hyper's parser), the
//! body read whole (Content-Length or chunked), answers written with a length, chunked for a
//! stream, or as docker's hijack (101 UPGRADED, then the raw connection is the handler's).
//!
//! Blocking on purpose: every engine verb and the monitor's attach protocol are blocking
//! calls, and a hijacked connection is just the stream itself; a thread per connection on a
//! local socket costs less than an async runtime bridged to them.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

/// Largest request head and body accepted (docker's JSON requests are small; a bigger body
/// is a broken or hostile client).
const MAX_HEAD: usize = 64 << 10;
const MAX_BODY: usize = 256 << 20;

/// One request: method, path (without the query), the query's pairs (decoded), the headers
/// (names lowercased) and the whole body.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter (the last one given).
    pub fn param(&self, name: &str) -> Option<&str> {
        // The first of repeated ones, as dockerd's `r.Form.Get` (the Python SDK's build sends
        // `dockerfile` twice: the name in the context, then its text).
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// docker's booleans in a query: 1/true/True (anything else, or absent: false).
    pub fn flag(&self, name: &str) -> bool {
        self.flag_or(name, false)
    }

    /// A boolean that is `default` when absent or not one (Go's strconv.ParseBool forms:
    /// the Python SDK sends `True`/`False`).
    pub fn flag_or(&self, name: &str, default: bool) -> bool {
        match self.param(name) {
            Some("1" | "t" | "T" | "true" | "True" | "TRUE") => true,
            Some("0" | "f" | "F" | "false" | "False" | "FALSE") => false,
            _ => default,
        }
    }

    /// The client asked to take the connection over (`Upgrade: tcp`).
    pub fn wants_upgrade(&self) -> bool {
        self.header("upgrade").is_some()
    }

    fn keep_alive(&self) -> bool {
        !self
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A connection: a buffered reader for requests and the stream answers are written to.
pub struct Conn {
    pub reader: BufReader<UnixStream>,
    pub stream: UnixStream,
}

impl Conn {
    pub fn new(stream: UnixStream) -> io::Result<Conn> {
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        })
    }

    /// The next request; None when the client closed the connection between requests.
    pub fn read_request(&mut self) -> io::Result<Option<Request>> {
        let mut head = Vec::new();
        loop {
            let n = self.reader.read_until(b'\n', &mut head)?;
            if n == 0 {
                return match head.is_empty() {
                    true => Ok(None),
                    false => Err(bad("connection closed inside a request head")),
                };
            }
            if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                break;
            }
            if head.len() > MAX_HEAD {
                return Err(bad("request head too large"));
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return Err(bad("incomplete request head")),
            Err(e) => return Err(bad(&format!("request head: {e}"))),
        }
        let target = req.path.unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut out = Request {
            method: req.method.unwrap_or("GET").to_string(),
            path: decode(path, false),
            query: parse_query(query),
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            body: Vec::new(),
        };
        out.body = self.read_body(&out)?;
        Ok(Some(out))
    }

    fn read_body(&mut self, req: &Request) -> io::Result<Vec<u8>> {
        if req
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            return self.read_chunked();
        }
        let len: usize = match req.header("content-length") {
            Some(v) => v.trim().parse().map_err(|_| bad("bad Content-Length"))?,
            None => 0,
        };
        if len > MAX_BODY {
            return Err(bad("request body too large"));
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body)?;
        Ok(body)
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    line.clear();
                    if self.reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("request body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            line.clear();
            self.reader.read_line(&mut line)?;
        }
    }

    /// Serves requests until the client closes, a handler takes the connection over, or an
    /// answer asks to close.
    pub fn serve(mut self, mut handle: impl FnMut(&Request, &mut Conn) -> Outcome) {
        loop {
            let req = match self.read_request() {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    let body = serde_json::json!({ "message": e.to_string() }).to_string();
                    let _ = self.respond(400, "application/json", &[], body.as_bytes(), false);
                    return;
                }
            };
            let keep = req.keep_alive();
            match handle(&req, &mut self) {
                Outcome::Done if keep => continue,
                Outcome::Done | Outcome::Close => return,
            }
        }
    }

    /// A whole answer with its length.
    pub fn respond(
        &mut self,
        status: u16,
        content_type: &str,
        extra: &[(&str, String)],
        body: &[u8],
        with_body: bool,
    ) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            reason(status),
            body.len()
        );
        push_headers(&mut head, extra);
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if with_body {
            out.extend_from_slice(body);
        }
        self.stream.write_all(&out)
    }

    /// The head of a chunked answer; the body goes through the returned writer, ended by
    /// [`Chunked::finish`] (or by closing the connection).
    pub fn chunked(
        &mut self,
        status: u16,
        content_type: &str,
        extra: &[(&str, String)],
    ) -> io::Result<Chunked> {
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n",
            reason(status)
        );
        push_headers(&mut head, extra);
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes())?;
        Ok(Chunked {
            w: self.stream.try_clone()?,
        })
    }

    /// docker's hijack: `101 UPGRADED` when the client asked to upgrade (`200 OK` for an old
    /// client that did not), then the connection carries the raw stream both ways.
    pub fn hijack(&mut self, req: &Request, content_type: &str) -> io::Result<()> {
        let head = match req.wants_upgrade() {
            true => format!(
                "HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
            ),
            false => format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n"),
        };
        self.stream.write_all(head.as_bytes())
    }
}

/// What the connection does after a handler.
pub enum Outcome {
    /// Answered in full: the next request may follow.
    Done,
    /// The connection was taken over or its answer ran to the close.
    Close,
}

/// A chunked body being written.
pub struct Chunked {
    w: UnixStream,
}

impl Chunked {
    pub fn finish(mut self) -> io::Result<()> {
        self.w.write_all(b"0\r\n\r\n")
    }
}

impl Write for Chunked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut out = format!("{:x}\r\n", buf.len()).into_bytes();
        out.extend_from_slice(buf);
        out.extend_from_slice(b"\r\n");
        self.w.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn push_headers(head: &mut String, extra: &[(&str, String)]) {
    for (k, v) in extra {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "Unknown",
    }
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k, true), decode(v, true))
        })
        .collect()
}

/// `%XX` decoded, and in a query `+` (a space); bad escapes kept as written.
fn decode(s: &str, query: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if query => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Whether the client closed its end of `s` (or reset it): a read would find end of file
/// now. Bytes of a next request waiting are not a hang-up.
pub fn hung_up(s: &UnixStream) -> bool {
    use nix::sys::socket::{recv, MsgFlags};
    use std::os::fd::AsRawFd;
    let mut b = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(
        recv(s.as_raw_fd(), &mut b, flags),
        Ok(0) | Err(nix::errno::Errno::ECONNRESET)
    )
}

/// Waits for `finished` (a message: `Some(Some(..))`; its sender dropped: `Some(None)`)
/// while the client of `s` is there; None once the client hangs up, looked at every 200 ms.
/// The answer comes the moment it is sent, not at the next look.
pub fn until_hung_up<T>(
    s: &UnixStream,
    finished: &std::sync::mpsc::Receiver<T>,
) -> Option<Option<T>> {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        match finished.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(v) => return Some(Some(v)),
            Err(RecvTimeoutError::Disconnected) => return Some(None),
            Err(RecvTimeoutError::Timeout) if hung_up(s) => return None,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Runs `f` on a thread of its own and returns what it returns, or None as soon as the
/// client of `s` hangs up (the thread then ends on its own, unwaited): a request that
/// waits on something else (a container's exit) must not hold a connection and a thread
/// for a client that has gone, as dockerd ends a request with its client.
pub fn unless_hung_up<T: Send + 'static>(
    s: &UnixStream,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    until_hung_up(s, &rx).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(raw: &[u8]) -> Request {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(raw).unwrap();
        drop(a);
        let mut c = Conn::new(b).unwrap();
        c.read_request().unwrap().unwrap()
    }

    #[test]
    fn a_chunked_body_and_the_query_are_decoded() {
        let r = roundtrip(
            b"POST /v1.50/containers/create?name=a%2Fb&x=1+2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext\r\nde\r\n0\r\n\r\n",
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1.50/containers/create");
        assert_eq!(r.param("name"), Some("a/b"));
        assert_eq!(r.param("x"), Some("1 2"));
        assert_eq!(r.body, b"abcde");
    }

    #[test]
    fn a_content_length_body_is_read_exactly() {
        let r = roundtrip(b"POST /x HTTP/1.1\r\nContent-Length: 2\r\nUpgrade: tcp\r\n\r\n{}");
        assert_eq!(r.body, b"{}");
        assert!(r.wants_upgrade());
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(decode("%7B%22a%22%7D", true), "{\"a\"}");
        assert_eq!(decode("100%", true), "100%");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("%zz", true), "%zz");
    }
}
