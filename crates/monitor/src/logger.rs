//! The container's log: docker's json-file format (one JSON object per line:
//! `{"log":"..","stream":"stdout","time":".."}`), or k8s-file (`TIME stream F|P text`), or
//! none. Output is cut into lines; a line longer than 16 KiB is written in pieces, as docker.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::SystemTime;

const MAX_LINE: usize = 16 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    JsonFile,
    K8sFile,
    None,
}

pub struct Logger {
    file: Option<File>,
    driver: Driver,
    /// Unfinished lines of stdout and stderr.
    pending: [Vec<u8>; 2],
}

impl Logger {
    pub fn open(path: &str, driver: &str) -> Logger {
        let driver = match driver {
            "k8s-file" => Driver::K8sFile,
            "none" => Driver::None,
            _ => Driver::JsonFile,
        };
        let file = if driver == Driver::None || path.is_empty() {
            None
        } else {
            OpenOptions::new().create(true).append(true).open(path).ok()
        };
        Logger {
            file,
            driver,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// Logs output of stream 0 (stdout) or 1 (stderr).
    pub fn write(&mut self, stream: usize, data: &[u8]) {
        if self.file.is_none() {
            return;
        }
        let mut buf = std::mem::take(&mut self.pending[stream]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl + 1;
            self.emit(stream, &buf[start..end], false);
            start = end;
        }
        while buf.len() - start >= MAX_LINE {
            self.emit(stream, &buf[start..start + MAX_LINE], true);
            start += MAX_LINE;
        }
        buf.drain(..start);
        self.pending[stream] = buf;
    }

    /// Writes out unfinished lines (at the container's exit).
    pub fn flush(&mut self) {
        for s in 0..2 {
            let rest = std::mem::take(&mut self.pending[s]);
            if !rest.is_empty() {
                self.emit(s, &rest, true);
            }
        }
    }

    fn emit(&mut self, stream: usize, line: &[u8], partial: bool) {
        let name = if stream == 0 { "stdout" } else { "stderr" };
        let time = now();
        let mut out = Vec::with_capacity(line.len() + 64);
        match self.driver {
            Driver::JsonFile => {
                out.extend_from_slice(b"{\"log\":\"");
                escape_json(&String::from_utf8_lossy(line), &mut out);
                out.extend_from_slice(b"\",\"stream\":\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\",\"time\":\"");
                out.extend_from_slice(time.as_bytes());
                out.extend_from_slice(b"\"}\n");
            }
            Driver::K8sFile => {
                let text = line.strip_suffix(b"\n").unwrap_or(line);
                let tag = if partial { "P" } else { "F" };
                out.extend_from_slice(format!("{time} {name} {tag} ").as_bytes());
                out.extend_from_slice(text);
                out.push(b'\n');
            }
            Driver::None => return,
        }
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(&out);
        }
    }
}

fn escape_json(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

/// Now as RFC 3339 with nanoseconds, UTC.
fn now() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}
