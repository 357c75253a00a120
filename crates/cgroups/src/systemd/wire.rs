//! Just enough of the D-Bus protocol for the systemd driver: a blocking client on the bus's
//! unix socket that authenticates with EXTERNAL, calls methods and reads their replies,
//! errors and signals. Written here rather than taken from a D-Bus crate because the driver
//! makes six calls with one body shape each, while a general client (zbus, with its
//! executor, its proxies and its type machinery) was linked into every hullrt process, also
//! the ones that never talk to systemd (see docs/systemd-cgroup.md, docs/hullrt-size.md).
//!
//! Wire format (the D-Bus specification, "Message Protocol"): a 12-byte fixed header (byte
//! order, type, flags, version 1, body length, serial), an array of header fields `a(yv)`,
//! padding to 8, then the body. Every value is aligned to its size from the message's start
//! (strings and arrays to 4, u64 and structs to 8). This client writes little-endian and
//! reads both byte orders.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The default system bus socket, when DBUS_SYSTEM_BUS_ADDRESS is not set.
pub const SYSTEM_BUS_SOCKET: &str = "/run/dbus/system_bus_socket";

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;
/// No reply wanted (used for nothing but named for the flags field's meaning).
const FLAGS: u8 = 0;
/// A message larger than this is refused (the specification's limit is 128 MiB; systemd's
/// replies to these calls are a few hundred bytes).
const MAX_MESSAGE: usize = 1 << 20;

/// A value of a message body.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    /// `s`
    Str(&'a str),
    /// `b`
    Bool(bool),
    /// `a(sv)`: systemd's property lists.
    Props(&'a [(&'a str, Variant<'a>)]),
    /// `a(sa(sv))`: StartTransientUnit's auxiliary units (always empty here).
    NoAux,
}

/// The value inside a `v`.
#[derive(Debug, Clone, PartialEq)]
pub enum Variant<'a> {
    U64(u64),
    Bool(bool),
    Str(&'a str),
    Bytes(&'a [u8]),
    U32s(&'a [u32]),
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::Bool(_) => "b",
            Arg::Props(_) => "a(sv)",
            Arg::NoAux => "a(sa(sv))",
        }
    }
}

/// Little-endian marshalling into a buffer whose offset 0 is 8-aligned in the message.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }
    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }
    fn u32(&mut self, n: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&n.to_le_bytes());
    }
    fn u64(&mut self, n: u64) {
        self.pad(8);
        self.buf.extend_from_slice(&n.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array: its byte length, padding to the elements' alignment (even when there are
    /// none), the elements.
    fn array(&mut self, elem_align: usize, f: impl FnOnce(&mut Writer)) {
        self.pad(4);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.pad(elem_align);
        let start = self.buf.len();
        f(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    fn variant(&mut self, v: &Variant<'_>) {
        match v {
            Variant::U64(n) => {
                self.sig("t");
                self.u64(*n);
            }
            Variant::Bool(b) => {
                self.sig("b");
                self.u32(u32::from(*b));
            }
            Variant::Str(s) => {
                self.sig("s");
                self.str(s);
            }
            Variant::Bytes(b) => {
                self.sig("ay");
                self.array(1, |w| w.buf.extend_from_slice(b));
            }
            Variant::U32s(ns) => {
                self.sig("au");
                self.array(4, |w| ns.iter().for_each(|n| w.u32(*n)));
            }
        }
    }
    fn arg(&mut self, a: &Arg<'_>) {
        match a {
            Arg::Str(s) => self.str(s),
            Arg::Bool(b) => self.u32(u32::from(*b)),
            Arg::Props(props) => self.array(8, |w| {
                for (name, v) in *props {
                    w.pad(8);
                    w.str(name);
                    w.variant(v);
                }
            }),
            Arg::NoAux => self.array(8, |_| {}),
        }
    }
}

/// A method call, marshalled.
pub fn method_call(
    serial: u32,
    dest: &str,
    path: &str,
    iface: &str,
    member: &str,
    args: &[Arg<'_>],
) -> Vec<u8> {
    let mut body = Writer::default();
    let mut signature = String::new();
    for a in args {
        body.arg(a);
        signature.push_str(a.signature());
    }
    let mut w = Writer::default();
    w.buf.extend_from_slice(&[b'l', METHOD_CALL, FLAGS, 1]);
    w.u32(body.buf.len() as u32);
    w.u32(serial);
    w.array(8, |w| {
        let mut field = |code: u8, typ: &str, val: &str| {
            w.pad(8);
            w.byte(code);
            w.sig(typ);
            if typ == "g" {
                w.sig(val);
            } else {
                w.str(val);
            }
        };
        field(1, "o", path);
        field(2, "s", iface);
        field(3, "s", member);
        field(6, "s", dest);
        if !signature.is_empty() {
            field(8, "g", &signature);
        }
    });
    w.pad(8);
    w.buf.extend_from_slice(&body.buf);
    w.buf
}

/// A received message: its type, the header fields this client uses, and its body.
#[derive(Debug, Default)]
pub struct Message {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub error_name: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub signature: String,
    big_endian: bool,
    body: Vec<u8>,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad D-Bus message: {what}"),
    )
}

/// Reads values at aligned offsets of a byte slice whose offset 0 is 8-aligned.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn align(&mut self, n: usize) -> io::Result<()> {
        self.pos = self.pos.div_ceil(n) * n;
        if self.pos > self.buf.len() {
            return Err(bad("truncated"));
        }
        Ok(())
    }
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| bad("length"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| bad("truncated"))?;
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> io::Result<u32> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| bad("u32"))?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn str(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| bad("string is not UTF-8"))
    }
    fn sig(&mut self) -> io::Result<String> {
        let n = self.take(1)?[0] as usize;
        let s = self.take(n)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| bad("signature"))
    }
}

impl Message {
    /// Parses one whole message (fixed header, fields, padding, body).
    fn parse(raw: Vec<u8>) -> io::Result<Message> {
        let big_endian = match raw.first() {
            Some(b'l') => false,
            Some(b'B') => true,
            _ => return Err(bad("byte order")),
        };
        let mut m = Message {
            kind: raw[1],
            big_endian,
            ..Message::default()
        };
        let mut r = Reader {
            buf: &raw,
            pos: 4,
            big_endian,
        };
        let body_len = r.u32()? as usize;
        r.u32()?; // serial
        let fields_len = r.u32()? as usize;
        let fields_end = r.pos + fields_len;
        while r.pos < fields_end {
            r.align(8)?;
            let code = r.take(1)?[0];
            let typ = r.sig()?;
            let (s, n) = match typ.as_str() {
                "s" | "o" => (Some(r.str()?), None),
                "g" => (Some(r.sig()?), None),
                "u" => (None, Some(r.u32()?)),
                _ => return Err(bad("header field type")),
            };
            match code {
                2 => m.interface = s,
                3 => m.member = s,
                4 => m.error_name = s,
                5 => m.reply_serial = n,
                8 => m.signature = s.unwrap_or_default(),
                _ => {}
            }
        }
        r.align(8)?;
        m.body = r.take(body_len)?.to_vec();
        Ok(m)
    }

    /// The body's values, for the simple signatures systemd's replies and signals have
    /// (`s`, `o`, `u` only); anything else is an error.
    pub fn args(&self) -> io::Result<Vec<Value>> {
        let mut r = Reader {
            buf: &self.body,
            pos: 0,
            big_endian: self.big_endian,
        };
        self.signature
            .chars()
            .map(|c| match c {
                's' | 'o' => r.str().map(Value::Str),
                'u' => r.u32().map(Value::U32),
                _ => Err(bad("unexpected body type")),
            })
            .collect()
    }

    /// The first string of the body (an error's message, a reply's object path).
    pub fn first_str(&self) -> Option<String> {
        match self.args().ok()?.into_iter().next()? {
            Value::Str(s) => Some(s),
            Value::U32(_) => None,
        }
    }
}

/// A value read from a body.
#[derive(Debug, PartialEq)]
pub enum Value {
    Str(String),
    U32(u32),
}

/// A method call's failure: the bus's error (name and message), or the connection's.
#[derive(Debug)]
pub enum CallError {
    Method { name: String, message: String },
    Io(io::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Method { name, message } => write!(f, "{name}: {message}"),
            CallError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for CallError {
    fn from(e: io::Error) -> Self {
        CallError::Io(e)
    }
}

/// A connection to a message bus.
pub struct Bus {
    sock: UnixStream,
    serial: u32,
    /// Signals read while waiting for a reply, kept for `next_signal`.
    signals: VecDeque<Message>,
}

impl Bus {
    /// The system bus: DBUS_SYSTEM_BUS_ADDRESS's first `unix:path=` entry, or the default
    /// socket.
    pub fn system() -> io::Result<Bus> {
        let addr = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok();
        let path = match &addr {
            Some(a) => a
                .split(';')
                .find_map(|e| {
                    e.strip_prefix("unix:")?
                        .split(',')
                        .find_map(|kv| kv.strip_prefix("path="))
                })
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "DBUS_SYSTEM_BUS_ADDRESS {a:?}: no unix:path= address"
                    ))
                })?
                .to_string(),
            None => SYSTEM_BUS_SOCKET.to_string(),
        };
        Bus::connect(Path::new(&path))
    }

    /// Connects to the bus at `path`, authenticates as our uid and says Hello.
    pub fn connect(path: &Path) -> io::Result<Bus> {
        let sock = UnixStream::connect(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        // The uid in ASCII decimal, hex-encoded, as the EXTERNAL mechanism wants it.
        let uid: String = nix::unistd::geteuid()
            .as_raw()
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        (&sock).write_all(format!("\0AUTH EXTERNAL {uid}\r\n").as_bytes())?;
        let line = read_line(&sock)?;
        if !line.starts_with("OK ") {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("D-Bus authentication refused: {line:?}"),
            ));
        }
        (&sock).write_all(b"BEGIN\r\n")?;
        let mut bus = Bus {
            sock,
            serial: 0,
            signals: VecDeque::new(),
        };
        bus.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
        )
        .map_err(|e| match e {
            CallError::Io(e) => e,
            e => io::Error::other(e.to_string()),
        })?;
        Ok(bus)
    }

    /// Calls a method and waits for its reply (signals read meanwhile are kept).
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        args: &[Arg<'_>],
    ) -> Result<Message, CallError> {
        self.serial += 1;
        let serial = self.serial;
        let msg = method_call(serial, dest, path, iface, member, args);
        (&self.sock).write_all(&msg)?;
        self.sock.set_read_timeout(None)?;
        loop {
            let m = self.read()?;
            match m.kind {
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m),
                ERROR if m.reply_serial == Some(serial) => {
                    return Err(CallError::Method {
                        name: m.error_name.clone().unwrap_or_default(),
                        message: m.first_str().unwrap_or_default(),
                    })
                }
                SIGNAL => self.signals.push_back(m),
                _ => {}
            }
        }
    }

    /// The next signal (of those the bus routes to us), or None once `deadline` passes.
    pub fn next_signal(&mut self, deadline: Instant) -> io::Result<Option<Message>> {
        if let Some(m) = self.signals.pop_front() {
            return Ok(Some(m));
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.read() {
                Ok(m) if m.kind == SIGNAL => return Ok(Some(m)),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One whole message from the socket.
    fn read(&mut self) -> io::Result<Message> {
        let mut fixed = [0u8; 16];
        (&self.sock).read_exact(&mut fixed)?;
        let be = fixed[0] == b'B';
        let word = |i: usize| {
            let b: [u8; 4] = fixed[i..i + 4].try_into().unwrap_or_default();
            (if be {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }) as usize
        };
        let (body, fields) = (word(4), word(12));
        let total = (16 + fields).div_ceil(8) * 8 + body;
        if total > MAX_MESSAGE {
            return Err(bad("too large"));
        }
        let mut raw = vec![0u8; total];
        raw[..16].copy_from_slice(&fixed);
        (&self.sock).read_exact(&mut raw[16..])?;
        Message::parse(raw)
    }
}

/// The server's one-line answer during authentication, read a byte at a time so nothing of
/// what follows is consumed.
fn read_line(mut sock: &UnixStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if line.len() > 512 {
            return Err(bad("authentication line too long"));
        }
        sock.read_exact(&mut b)?;
        line.push(b[0]);
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshals_a_call_as_the_specification_lays_it_out() {
        let m = method_call(
            7,
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StopUnit",
            &[Arg::Str("a.scope"), Arg::Str("replace")],
        );
        assert_eq!(&m[..4], &[b'l', 1, 0, 1]);
        let body_len = u32::from_le_bytes(m[4..8].try_into().unwrap()) as usize;
        assert_eq!(u32::from_le_bytes(m[8..12].try_into().unwrap()), 7);
        let fields = u32::from_le_bytes(m[12..16].try_into().unwrap()) as usize;
        let body_at = (16 + fields).div_ceil(8) * 8;
        assert_eq!(m.len(), body_at + body_len);
        // "a.scope": length 7, bytes, NUL; padded to 4; "replace".
        let mut want = vec![7, 0, 0, 0];
        want.extend_from_slice(b"a.scope\0");
        want.extend_from_slice(&[7, 0, 0, 0]);
        want.extend_from_slice(b"replace\0");
        assert_eq!(&m[body_at..], &want[..]);
        let parsed = Message::parse(m).unwrap();
        assert_eq!(parsed.member.as_deref(), Some("StopUnit"));
        assert_eq!(parsed.signature, "ss");
        assert_eq!(
            parsed.args().unwrap(),
            vec![Value::Str("a.scope".into()), Value::Str("replace".into())]
        );
    }

    #[test]
    fn variants_are_aligned_from_the_message_start() {
        let mut w = Writer::default();
        w.arg(&Arg::Props(&[
            ("Delegate", Variant::Bool(true)),
            ("MemoryMax", Variant::U64(1 << 20)),
            ("PIDs", Variant::U32s(&[42])),
            ("AllowedCPUs", Variant::Bytes(&[3])),
        ]));
        let b = &w.buf;
        // Array length, then the first struct at 8: "Delegate", variant "b", true.
        assert_eq!(&b[8..12], &8u32.to_le_bytes());
        assert_eq!(&b[12..21], b"Delegate\0");
        assert_eq!(&b[21..24], &[1, b'b', 0]);
        assert_eq!(&b[24..28], &1u32.to_le_bytes());
        // Second struct at 32: "MemoryMax", variant "t" with its u64 at an 8-aligned offset.
        assert_eq!(&b[32..36], &9u32.to_le_bytes());
        assert_eq!(&b[36..46], b"MemoryMax\0");
        assert_eq!(&b[46..49], &[1, b't', 0]);
        assert_eq!(&b[56..64], &(1u64 << 20).to_le_bytes());
        let len = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
        assert_eq!(len, b.len() - 8);
    }

    #[test]
    fn an_empty_array_of_structs_is_padded_to_8() {
        let mut w = Writer::default();
        w.str("x"); // 6 bytes
        w.arg(&Arg::NoAux);
        assert_eq!(w.buf.len(), 16, "{:?}", w.buf);
        assert_eq!(&w.buf[8..12], &[0, 0, 0, 0]);
    }

    /// Against a real dbus-daemon (skipped where there is none): it checks every message
    /// it is sent against its signature and drops a client that sends a malformed one.
    #[test]
    fn talks_to_a_real_daemon() {
        let Ok(daemon) = which("dbus-daemon") else {
            eprintln!("skipped: no dbus-daemon");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("bus");
        let conf = dir.path().join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\
                 <busconfig><type>custom</type><listen>unix:path={}</listen>\
                 <auth>EXTERNAL</auth><policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
                 <allow eavesdrop=\"true\"/><allow own=\"*\"/><allow user=\"*\"/></policy></busconfig>",
                sock.display()
            ),
        )
        .unwrap();
        let mut child = std::process::Command::new(daemon)
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let res = std::panic::catch_unwind(|| {
            let mut bus = Bus::connect(&sock).unwrap();
            // The daemon tells each new client its name with a NameAcquired signal.
            let sig = bus
                .next_signal(Instant::now() + Duration::from_secs(5))
                .unwrap()
                .expect("NameAcquired");
            assert_eq!(sig.member.as_deref(), Some("NameAcquired"));
            let dbus = ("org.freedesktop.DBus", "/org/freedesktop/DBus");
            let owner = bus
                .call(dbus.0, dbus.1, dbus.0, "GetNameOwner", &[Arg::Str(dbus.0)])
                .unwrap();
            assert_eq!(owner.first_str().as_deref(), Some("org.freedesktop.DBus"));
            match bus.call(
                dbus.0,
                dbus.1,
                dbus.0,
                "GetNameOwner",
                &[Arg::Str("no.such.name")],
            ) {
                Err(CallError::Method { name, .. }) => {
                    assert_eq!(name, "org.freedesktop.DBus.Error.NameHasNoOwner")
                }
                r => panic!("{r:?}"),
            }
            // StartTransientUnit's body shape, every variant type in it: the daemon checks it
            // and answers that it has no such method (a malformed one would cut us off).
            let props = [
                ("Description", Variant::Str("x")),
                ("Delegate", Variant::Bool(true)),
                ("MemoryMax", Variant::U64(1 << 30)),
                ("PIDs", Variant::U32s(&[1, 2])),
                ("AllowedCPUs", Variant::Bytes(&[1, 0, 1])),
            ];
            let args = [
                Arg::Str("x.scope"),
                Arg::Str("replace"),
                Arg::Props(&props),
                Arg::NoAux,
            ];
            match bus.call(dbus.0, dbus.1, dbus.0, "StartTransientUnit", &args) {
                Err(CallError::Method { name, .. }) => {
                    assert_eq!(name, "org.freedesktop.DBus.Error.UnknownMethod")
                }
                r => panic!("{r:?}"),
            }
            let args = [Arg::Str("x.scope"), Arg::Bool(true), Arg::Props(&props)];
            assert!(matches!(
                bus.call(dbus.0, dbus.1, dbus.0, "SetUnitProperties", &args),
                Err(CallError::Method { .. })
            ));
            // Still connected after all that.
            bus.call(dbus.0, dbus.1, dbus.0, "GetId", &[]).unwrap();
        });
        let _ = child.kill();
        let _ = child.wait();
        if let Err(p) = res {
            std::panic::resume_unwind(p);
        }
    }

    fn which(name: &str) -> Result<std::path::PathBuf, ()> {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .ok_or(())
    }
}
