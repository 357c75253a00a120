//! The container's log lines: docker's json-file format (one JSON object per line:
//! `{"log":"..","stream":"stdout","time":".."}`), or k8s-file (`TIME stream F|P text`), or
//! none. Output is cut into lines; a line longer than 16 KiB is written in pieces, as docker.
//! Times are RFC 3339 in UTC with nanoseconds.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The longest line written whole; longer ones are cut into pieces of this size.
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    JsonFile,
    K8sFile,
    None,
}

impl Driver {
    /// `--log-driver`'s value; anything unknown is json-file (docker's default).
    pub fn from_name(name: &str) -> Driver {
        match name {
            "k8s-file" => Driver::K8sFile,
            "none" => Driver::None,
            _ => Driver::JsonFile,
        }
    }
}

/// Cuts the container's output into log lines. Stream 0 is stdout, 1 stderr.
pub struct Framer {
    driver: Driver,
    /// Unfinished lines of stdout and stderr.
    pending: [Vec<u8>; 2],
}

impl Framer {
    pub fn new(driver: Driver) -> Framer {
        Framer {
            driver,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// Appends to `out` the log lines that `data` completes, stamped `time`; keeps the rest.
    pub fn push(&mut self, stream: usize, data: &[u8], time: &str, out: &mut Vec<u8>) {
        if self.driver == Driver::None {
            return;
        }
        let mut buf = core::mem::take(&mut self.pending[stream]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl + 1;
            self.line(stream, &buf[start..end], false, time, out);
            start = end;
        }
        while buf.len() - start >= MAX_LINE {
            self.line(stream, &buf[start..start + MAX_LINE], true, time, out);
            start += MAX_LINE;
        }
        buf.drain(..start);
        self.pending[stream] = buf;
    }

    /// Appends the unfinished lines (at the container's exit) to `out`.
    pub fn flush(&mut self, time: &str, out: &mut Vec<u8>) {
        for s in 0..2 {
            let rest = core::mem::take(&mut self.pending[s]);
            if !rest.is_empty() {
                self.line(s, &rest, true, time, out);
            }
        }
    }

    fn line(&self, stream: usize, line: &[u8], partial: bool, time: &str, out: &mut Vec<u8>) {
        let name = if stream == 0 { "stdout" } else { "stderr" };
        match self.driver {
            Driver::JsonFile => {
                out.extend_from_slice(b"{\"log\":\"");
                escape_json(&String::from_utf8_lossy(line), out);
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
            Driver::None => {}
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

/// `secs.nanos` since the Unix epoch as RFC 3339 in UTC with nine digits of nanoseconds:
/// `2026-11-24T00:17:59.000000123Z`.
pub fn rfc3339_nanos(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = String::with_capacity(30);
    let _ = write!(
        s,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
    s
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01. Counts in
/// 400-year cycles of 146097 days, with years starting on March 1st so that the leap day is
/// the last day of a year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Days since 0000-03-01.
    let z = days + 719_468;
    let cycle = z.div_euclid(146_097);
    let day_of_cycle = z.rem_euclid(146_097);
    // Years into the cycle: remove the leap days (every 4 years, not every 100, every 400).
    let year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36_524 - day_of_cycle / 146_096) / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    // Months from March, of 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31 and 28/29 days.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_cycle + cycle * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(rfc3339_nanos(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_nanos(951_782_400, 5),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            rfc3339_nanos(951_868_799, 999_999_999),
            "2000-02-29T23:59:59.999999999Z"
        );
        assert_eq!(
            rfc3339_nanos(1_795_479_679, 123_456_789),
            "2026-11-24T00:21:19.123456789Z"
        );
        assert_eq!(
            rfc3339_nanos(4_107_542_400, 0),
            "2100-03-01T00:00:00.000000000Z"
        );
        assert_eq!(rfc3339_nanos(-1, 0), "1969-12-31T23:59:59.000000000Z");
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_previous() {
        let mut prev = civil_from_days(-1);
        for d in 0..146_097 {
            let cur = civil_from_days(d);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                cur == next_day || cur == next_month || cur == next_year,
                "{prev:?} {cur:?}"
            );
            let leap = cur.0 % 4 == 0 && (cur.0 % 100 != 0 || cur.0 % 400 == 0);
            if cur.1 == 3 && cur.2 == 1 {
                assert_eq!(prev.2, if leap { 29 } else { 28 }, "{cur:?}");
            }
            prev = cur;
        }
    }

    fn framed(driver: Driver, chunks: &[(usize, &[u8])]) -> String {
        let mut f = Framer::new(driver);
        let mut out = Vec::new();
        for (s, d) in chunks {
            f.push(*s, d, "T", &mut out);
        }
        f.flush("E", &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_lines_are_cut_at_newlines_and_escaped() {
        let got = framed(
            Driver::JsonFile,
            &[
                (0, b"a\"b\\"),
                (0, b"c\n\td\x01\n"),
                (1, b"err"),
                (0, b"tail"),
            ],
        );
        assert_eq!(
            got,
            "{\"log\":\"a\\\"b\\\\c\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n\
             {\"log\":\"\\td\\u0001\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n\
             {\"log\":\"tail\",\"stream\":\"stdout\",\"time\":\"E\"}\n\
             {\"log\":\"err\",\"stream\":\"stderr\",\"time\":\"E\"}\n"
        );
    }

    #[test]
    fn k8s_lines_mark_partial_pieces() {
        let long = [b'x'; MAX_LINE + 3];
        let got = framed(Driver::K8sFile, &[(1, b"one\ntw"), (1, b"o\n"), (0, &long)]);
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines[0], "T stderr F one");
        assert_eq!(lines[1], "T stderr F two");
        assert_eq!(lines[2].len(), "T stdout P ".len() + MAX_LINE);
        assert!(lines[2].starts_with("T stdout P xxx"));
        assert_eq!(lines[3], "E stdout P xxx");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn no_driver_writes_nothing() {
        assert_eq!(framed(Driver::None, &[(0, b"a\nb")]), "");
        assert_eq!(Driver::from_name("k8s-file"), Driver::K8sFile);
        assert_eq!(Driver::from_name("json-file"), Driver::JsonFile);
        assert_eq!(Driver::from_name("none"), Driver::None);
    }
}
