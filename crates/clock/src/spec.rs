//! `--faketime SPEC`: what the user asks for (`model.rs` turns it into a clock).
//!
//! hull's syntax differs from libfaketime's on purpose: a plain date is a clock that keeps
//! running from there and `@date` is a frozen clock (libfaketime has it the other way round).
//! A running date is not a date to restart from in each process: every process would restart
//! the clock at that date when it starts. It is turned into an offset from the real clock when
//! the container starts (and at each update), so every process, however late it starts, reads
//! the same running clock.

use std::fmt;

use crate::civil::{days_from_civil, days_in_month};

/// The largest offset or rate accepted: far enough for any test, small enough that no
/// arithmetic on it overflows.
const MAX_SECS: i64 = 10_000 * 366 * 86_400;
const MAX_RATE: f64 = 1_000_000.0;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("--faketime {spec:?}: {why}")]
    FakeTime { spec: String, why: String },
    #[error("--time-offset {spec:?}: {why}")]
    TimeOffset { spec: String, why: String },
}

fn bad(spec: &str, why: impl Into<String>) -> SpecError {
    SpecError::FakeTime {
        spec: spec.to_string(),
        why: why.into(),
    }
}

/// Which clock the container gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Starts at this instant (seconds since the epoch) and keeps running.
    Running(i64),
    /// The real clock shifted by this many seconds.
    Offset(i64),
    /// Stands still at this instant.
    Frozen(i64),
}

/// A parsed `--faketime` value. Serialized as the text the user gave.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTime {
    text: String,
    clock: Clock,
    rate: Option<f64>,
}

impl FakeTime {
    /// Parses `2020-12-24 20:30:00` (also `2020-12-24`, `2020-12-24T20:30:00Z`, `+02:00`),
    /// `-10d`/`+2h`/`+90m`/`-30s`/`+1y`/`+1w`, `@DATE` (frozen), each but `@` with an optional
    /// rate ` x2`/` x0.5`. Dates without a zone are UTC.
    pub fn parse(spec: &str) -> Result<FakeTime, SpecError> {
        let text = spec.trim();
        if text.is_empty() {
            return Err(bad(
                spec,
                "empty; give a date, an offset like -10d, or @DATE",
            ));
        }
        let (body, rate) = match text.rsplit_once(char::is_whitespace) {
            Some((b, r)) if r.starts_with(['x', 'X']) => {
                (b.trim_end(), Some(parse_rate(spec, &r[1..])?))
            }
            _ => (text, None),
        };
        let clock = if let Some(date) = body.strip_prefix('@') {
            if rate.is_some() {
                return Err(bad(spec, "a frozen clock (@) takes no rate"));
            }
            Clock::Frozen(parse_date(spec, date.trim())?)
        } else if body.starts_with(['+', '-']) {
            Clock::Offset(parse_offset(body).map_err(|why| bad(spec, why))?)
        } else {
            Clock::Running(parse_date(spec, body)?)
        };
        Ok(FakeTime {
            text: text.to_string(),
            clock,
            rate,
        })
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for FakeTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for FakeTime {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FakeTime::parse(s)
    }
}

impl serde::Serialize for FakeTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for FakeTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        FakeTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn parse_rate(spec: &str, r: &str) -> Result<f64, SpecError> {
    match r.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_RATE && !r.starts_with('+') => Ok(v),
        _ => Err(bad(
            spec,
            format!(
                "rate \"x{r}\" must be a number above 0 and at most {MAX_RATE}, e.g. x2 or x0.5"
            ),
        )),
    }
}

/// `+N`/`-N` with an optional fraction and unit s, m, h, d, w or y (365 days, as
/// libfaketime counts it): seconds, rounded. Shared with `--time-offset`.
pub(crate) fn parse_offset(s: &str) -> Result<i64, String> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let (num, unit) = match rest.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if num.is_empty() || num.starts_with('.') {
        return Err(format!(
            "offset {s:?}: expected a number after the sign, e.g. -10d"
        ));
    }
    let per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => {
            return Err(format!(
                "offset {s:?}: unknown unit {unit:?} (use s, m, h, d, w or y, e.g. -10d)"
            ))
        }
    };
    let n: f64 = match num.parse() {
        Ok(n) => n,
        _ => {
            return Err(format!(
                "offset {s:?}: expected a number after the sign, e.g. -10d"
            ))
        }
    };
    let secs = sign * n * per as f64;
    if secs.abs() > MAX_SECS as f64 {
        return Err(format!("offset {s:?}: more than 10000 years"));
    }
    Ok(secs.round() as i64)
}

/// A date and optional time and zone: seconds since the epoch.
fn parse_date(spec: &str, s: &str) -> Result<i64, SpecError> {
    let fail = |why: &str| bad(spec, format!("date {s:?}: {why}"));
    let shape = "expected YYYY-MM-DD[ hh:mm[:ss]][Z|+hh:mm], an offset like -10d, or @DATE";
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(fail(shape));
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, SpecError> {
        let t = s.get(r).ok_or_else(|| fail(shape))?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().map_err(|_| fail(shape))
        } else {
            Err(fail(shape))
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1970..=9999).contains(&y) {
        return Err(fail("year must be from 1970 to 9999"));
    }
    if !(1..=12).contains(&mo) {
        return Err(fail("month must be 01 to 12"));
    }
    if d < 1 || d > days_in_month(i64::from(y), mo) {
        return Err(fail("no such day in that month"));
    }
    let mut rest = &s[10..];
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    if let Some(t) = rest.strip_prefix([' ', 'T', 't']) {
        let t = t.trim_start();
        let tb = t.as_bytes();
        if tb.len() < 5 || tb[2] != b':' {
            return Err(fail(shape));
        }
        let two = |r: std::ops::Range<usize>| -> Result<u32, SpecError> {
            let v = t.get(r).ok_or_else(|| fail(shape))?;
            if v.bytes().all(|c| c.is_ascii_digit()) {
                v.parse().map_err(|_| fail(shape))
            } else {
                Err(fail(shape))
            }
        };
        h = two(0..2)?;
        mi = two(3..5)?;
        rest = &t[5..];
        if let Some(r) = rest.strip_prefix(':') {
            sec = two(6..8)?;
            rest = &r[2.min(r.len())..];
        }
        if h > 23 || mi > 59 || sec > 59 {
            return Err(fail("hour, minute or second out of range"));
        }
    }
    let zone = parse_zone(rest.trim_start()).ok_or_else(|| fail(shape))?;
    let days = days_from_civil(i64::from(y), mo, d);
    Ok(days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - zone)
}

/// "", `Z`, `UTC`, `+hh:mm`, `-hhmm`, `+hh`: the zone's offset east of UTC in seconds.
fn parse_zone(z: &str) -> Option<i64> {
    if z.is_empty() || z.eq_ignore_ascii_case("z") || z.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let sign = match z.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let h: i64 = digits[0..2].parse().ok()?;
    let m: i64 = if digits.len() == 4 {
        digits[2..4].parse().ok()?
    } else {
        0
    };
    (h <= 14 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XMAS: i64 = 1_608_841_800; // 2020-12-24 20:30:00 UTC

    #[test]
    fn absolute_dates_run_from_there() {
        for s in [
            "2020-12-24 20:30:00",
            "2020-12-24T20:30:00Z",
            " 2020-12-24 20:30 ",
            "2020-12-24T21:30:00+01:00",
            "2020-12-24 15:30:00 -0500",
        ] {
            assert_eq!(
                FakeTime::parse(s).unwrap().clock(),
                Clock::Running(XMAS),
                "{s}"
            );
        }
        assert_eq!(
            FakeTime::parse("2020-12-24").unwrap().clock(),
            Clock::Running(XMAS - 20 * 3600 - 30 * 60)
        );
        let ft = FakeTime::parse("2020-12-24 20:30:00").unwrap();
        assert_eq!(ft.to_string(), "2020-12-24 20:30:00");
    }

    #[test]
    fn offsets_and_rates() {
        let cases = [
            ("-10d", -864_000),
            ("+2h", 7200),
            ("+90m", 5400),
            ("-30s", -30),
            ("+1y", 365 * 86_400),
            ("+1.5h", 5400),
            ("+1w", 604_800),
            ("-45", -45),
        ];
        for (s, secs) in cases {
            assert_eq!(
                FakeTime::parse(s).unwrap().clock(),
                Clock::Offset(secs),
                "{s}"
            );
        }
        let ft = FakeTime::parse("+2h x2").unwrap();
        assert_eq!(ft.rate(), Some(2.0));
        let ft = FakeTime::parse("2020-12-24 20:30:00 x0.5").unwrap();
        assert_eq!(ft.rate(), Some(0.5));
    }

    #[test]
    fn frozen_is_at_sign() {
        let ft = FakeTime::parse("@2020-12-24 20:30:00").unwrap();
        assert_eq!(ft.clock(), Clock::Frozen(XMAS));
        let ft = FakeTime::parse("@2020-12-24T21:30:00+01:00").unwrap();
        assert_eq!(ft.clock(), Clock::Frozen(XMAS));
    }

    #[test]
    fn invalid_specs_say_what_is_wrong() {
        let cases = [
            ("", "empty"),
            ("tomorrow", "expected YYYY-MM-DD"),
            ("2020-13-01", "month"),
            ("2021-02-29", "no such day"),
            ("2020-12-24 25:00:00", "out of range"),
            ("1969-12-31", "year"),
            ("+10x", "unknown unit"),
            ("-d", "expected a number"),
            ("+2h x0", "rate"),
            ("+2h x-1", "rate"),
            ("+2h xfast", "rate"),
            ("@2020-12-24 x2", "no rate"),
            ("2020-12-24 20:30:00 PST", "expected YYYY-MM-DD"),
            ("+99999999y", "10000 years"),
        ];
        for (s, want) in cases {
            let e = FakeTime::parse(s).unwrap_err().to_string();
            assert!(e.starts_with("--faketime "), "{s}: {e}");
            assert!(e.contains(want), "{s}: {e}");
            assert!(!e.contains('\n'), "{s}: {e}");
        }
    }

    #[test]
    fn serializes_as_its_text() {
        let ft = FakeTime::parse("@2020-12-24 20:30:00").unwrap();
        let j = serde_json::to_string(&ft).unwrap();
        assert_eq!(j, "\"@2020-12-24 20:30:00\"");
        let back: FakeTime = serde_json::from_str(&j).unwrap();
        assert_eq!(back, ft);
        assert!(serde_json::from_str::<FakeTime>("\"nope\"").is_err());
    }
}
