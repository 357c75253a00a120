//! `hull logs`: the container's json-file (or k8s-file) log back as stdout and stderr, with
//! --tail and --timestamps; -f follows the file (inotify) until the monitor reports the exit.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;

use hull_monitor::proto;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::container::stop;
use crate::container::Container;
use crate::engine::Engine;

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("configured logging driver \"none\" does not support reading")]
    NoDriver,
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Default, Clone, Copy)]
pub struct Opts {
    pub follow: bool,
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Entries before this time (nanoseconds since the epoch) are skipped (`--since`).
    pub since: Option<i128>,
    /// Entries after this time end the output, and following (`--until`).
    pub until: Option<i128>,
    /// docker's `--details`: each line after the entry's attributes (none here) and a space.
    pub details: bool,
}

/// Drops the entries outside `--since`/`--until`; true when one was past `--until`.
fn window(entries: &mut Vec<(u8, String, String)>, o: &Opts) -> bool {
    let t = |e: &(u8, String, String)| crate::time::since::rfc3339_nanos(&e.1).unwrap_or(0);
    let past = o.until.and_then(|u| entries.iter().position(|e| t(e) > u));
    if let Some(p) = past {
        entries.truncate(p);
    }
    if let Some(s) = o.since {
        entries.retain(|e| t(e) >= s);
    }
    past.is_some()
}

/// One log entry: (stream 1|2, time, text).
fn parse_line(line: &str, k8s: bool) -> Option<(u8, String, String)> {
    if k8s {
        let mut it = line.splitn(4, ' ');
        let (time, stream, tag, text) =
            (it.next()?, it.next()?, it.next()?, it.next().unwrap_or(""));
        let nl = if tag == "F" { "\n" } else { "" };
        return Some((
            if stream == "stderr" { 2 } else { 1 },
            time.into(),
            format!("{text}{nl}"),
        ));
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let stream = if v["stream"] == "stderr" { 2 } else { 1 };
    Some((
        stream,
        v["time"].as_str()?.into(),
        v["log"].as_str()?.into(),
    ))
}

fn emit(entries: &[(u8, String, String)], timestamps: bool, details: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for (s, t, text) in entries {
        let w: &mut dyn Write = if *s == 2 { &mut err } else { &mut out };
        if timestamps {
            let _ = write!(w, "{t} ");
        }
        if details {
            let _ = w.write_all(b" ");
        }
        let _ = w.write_all(text.as_bytes());
    }
    let _ = out.flush();
}

/// Reads complete lines from `offset` on; returns the entries and the new offset.
fn read_from(file: &mut std::fs::File, offset: u64, k8s: bool) -> (Vec<(u8, String, String)>, u64) {
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(offset)).is_err() || file.read_to_end(&mut buf).is_err() {
        return (Vec::new(), offset);
    }
    let end = buf
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..end]);
    let entries = text.lines().filter_map(|l| parse_line(l, k8s)).collect();
    (entries, offset + end as u64)
}

pub fn logs(eng: &Engine, c: &Container, o: Opts) -> Result<(), LogsError> {
    let driver = c.config.log_driver();
    if driver == "none" {
        return Err(LogsError::NoDriver);
    }
    let k8s = driver == "k8s-file";
    let path = eng.paths.log_file(&c.id);
    // Connect first, so an exit after our read is still seen.
    let sock = if o.follow && c.status.is_live() {
        stop::connect(eng, &c.id).and_then(|mut s| {
            proto::write_frame(&mut s, proto::HELLO, &[0])
                .ok()
                .map(|_| s)
        })
    } else {
        None
    };
    let inotify = if sock.is_some() {
        Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()
    } else {
        None
    };
    if let Some(i) = &inotify {
        if !path.exists() {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path);
        }
        let _ = i.add_watch(&path, AddWatchFlags::IN_MODIFY);
    }
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LogsError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    let (mut entries, mut offset) = read_from(&mut file, 0, k8s);
    if let Some(n) = o.tail {
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    let done = window(&mut entries, &o) || o.until.is_some_and(|u| u <= crate::time::since::now());
    emit(&entries, o.timestamps, o.details);
    let (Some(mut sock), Some(inotify), false) = (sock, inotify, done) else {
        return Ok(());
    };
    loop {
        let mut fds = [
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
        ];
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let sock_ready = fds[1].revents().is_some_and(|r| !r.is_empty());
        let _ = inotify.read_events();
        let (mut more, off) = read_from(&mut file, offset, k8s);
        offset = off;
        let done = window(&mut more, &o);
        emit(&more, o.timestamps, o.details);
        if done {
            return Ok(());
        }
        if sock_ready {
            match proto::read_frame(&mut sock) {
                Ok(Some((proto::EXIT, _))) | Ok(None) | Err(_) => {
                    let (mut more, _) = read_from(&mut file, offset, k8s);
                    window(&mut more, &o);
                    emit(&more, o.timestamps, o.details);
                    return Ok(());
                }
                Ok(Some(_)) => {}
            }
        }
    }
}

impl Engine {
    /// `logs`: the container's log written to stdout/stderr as `o` asks (following it while
    /// the container runs with `o.follow`).
    pub fn logs(&self, key: &str, o: Opts) -> crate::Result<()> {
        let c = self.lookup(key)?;
        Ok(logs(self, &c, o)?)
    }
}
