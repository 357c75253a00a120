//! Times and sizes as docker prints them: RFC 3339 timestamps in UTC, "2 hours ago", "4.26MB".
//! Formatting is humantime's; parsing takes numeric offsets too, with the clock crate's
//! civil-calendar arithmetic.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `2024-05-01T10:00:00Z` for `secs` since the epoch (times before 1970 as the epoch).
pub fn rfc3339(secs: i64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(now_secs())
}

/// Seconds since the epoch of an RFC 3339 time (`2024-05-01T10:00:00Z`, fractions and numeric
/// offsets accepted); None when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            let o = oh * 3600 + om * 60;
            if rest.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days =
        hull_clock::civil::days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// docker's "human" duration (go-units HumanDuration): "Less than a second", "About a minute",
/// "3 hours", "2 weeks".
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let minutes = secs / 60;
    let hours = (secs as f64 / 3600.0).round() as i64;
    if secs < 1 {
        "Less than a second".into()
    } else if secs == 1 {
        "1 second".into()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

/// "2 hours ago" for an RFC 3339 time; the input itself when it does not parse.
pub fn ago(rfc3339_time: &str) -> String {
    match parse_rfc3339(rfc3339_time) {
        Some(t) => format!("{} ago", human_duration(now_secs() - t)),
        None => rfc3339_time.to_string(),
    }
}

/// `prec` significant digits, trailing zeros dropped, as Go's `%.4g` for the magnitudes sizes
/// have (below 10^prec).
fn sig(v: f64, prec: i32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32 + 1;
    let decimals = (prec - digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn scaled(bytes: f64, base: f64, prec: i32, units: &[&str]) -> String {
    let mut v = bytes;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    // A value that rounds up to the base moves to the next unit.
    if sig(v, prec) == sig(base, prec) && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    format!("{}{}", sig(v, prec), units[i])
}

/// Decimal size with four significant digits (go-units HumanSize): "0B", "4.261MB".
pub fn human_size(bytes: u64) -> String {
    human_size_prec(bytes, 4)
}

/// Decimal size with `prec` significant digits; `docker images` uses 3: "4.26MB".
pub fn human_size_prec(bytes: u64, prec: i32) -> String {
    scaled(
        bytes as f64,
        1000.0,
        prec,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB"],
    )
}

/// Binary size as docker stats prints memory: "1.5MiB", "7.64GiB".
pub fn bytes_size(bytes: u64) -> String {
    scaled(
        bytes as f64,
        1024.0,
        4,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_557_600), "2024-05-01T10:00:00Z");
        for t in [0, 951_782_400, 1_714_557_600, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T12:00:00.123456789+02:00"),
            Some(1_714_557_600)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(70), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3700), "About an hour");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(3 * 86_400), "3 days");
        assert_eq!(human_duration(20 * 86_400), "2 weeks");
        assert_eq!(human_duration(90 * 86_400), "3 months");
        assert_eq!(human_duration(800 * 86_400), "2 years");
    }

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(4_261_000), "4.261MB");
        assert_eq!(human_size(1_234_567_890), "1.235GB");
        assert_eq!(human_size(999_999), "1MB");
        assert_eq!(human_size_prec(4_261_000, 3), "4.26MB");
        assert_eq!(human_size_prec(1_995_000, 3), "2MB");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(64 * 1024 * 1024), "64MiB");
        assert_eq!(bytes_size(8_200_000_000), "7.637GiB");
    }
}
