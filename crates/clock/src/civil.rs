//! Calendar dates <-> seconds since the epoch (proleptic Gregorian, UTC), for parsing and
//! printing the dates of `--faketime`, and RFC 3339 timestamps: the one home of that format
//! for hull (the engine's state, inspect, logs and events, image configs, the runtime's
//! `created`). Days are counted from 1970-01-01 with the usual era-of-400-years arithmetic,
//! so no table and no time zone database is needed. (hull-monitor, which is `no_std`, writes
//! its log timestamps with its own copy in crates/monitor/src/logfmt.rs; a test below keeps
//! the two agreeing.)

/// Days since 1970-01-01 of a valid (year, month, day).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) of seconds since the epoch: the form libfaketime parses.
pub fn format_utc(t: i64) -> String {
    let (date, time) = date_time(t);
    format!("{date} {time}")
}

/// `2024-05-01T10:00:00Z`: seconds since the epoch as RFC 3339, UTC, whole seconds (docker's
/// `Created` of images, networks and volumes); times before 1970 as the epoch.
pub fn format_rfc3339(secs: i64) -> String {
    let (date, s) = date_time(secs.max(0));
    format!("{date}T{s}Z")
}

/// `2024-05-01T10:00:00.123456789Z`: RFC 3339, UTC, with nine digits of nanoseconds (docker's
/// and runc's container times, log lines).
pub fn format_rfc3339_nanos(secs: i64, nanos: u32) -> String {
    let (date, s) = date_time(secs);
    format!("{date}T{s}.{nanos:09}Z")
}

/// A `SystemTime` as [`format_rfc3339_nanos`] (times before 1970 as the epoch).
pub fn format_system_time(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format_rfc3339_nanos(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}

fn date_time(secs: i64) -> (String, String) {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
    )
}

/// Seconds since the epoch and nanoseconds of an RFC 3339 time (`2024-05-01T10:00:00Z`; a
/// fraction of any length, `t` or a space for `T`, `z` or a numeric offset `+02:00`); None
/// when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in r.bytes().take(digits.min(9)).enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let o = num_in(rest, 1..3)? * 3600 + num_in(rest, 4..6)? * 60;
            if rest.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let (mo, d) = (u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    Some((
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset,
        nanos,
    ))
}

fn num_in(s: &str, r: std::ops::Range<usize>) -> Option<i64> {
    let t = s.get(r)?;
    t.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| t.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2020-12-24 20:30:00 UTC, as `date -u -d ... +%s` prints it.
        assert_eq!(
            days_from_civil(2020, 12, 24) * 86_400 + 20 * 3600 + 30 * 60,
            1_608_841_800
        );
        for z in [-1000, 0, 59, 60, 365, 11_016, 18_620, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
        assert_eq!(format_utc(1_608_841_800), "2020-12-24 20:30:00");
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn month_lengths() {
        assert_eq!(days_in_month(2020, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2021, 4), 30);
    }

    /// hull-monitor's own (no_std) copy writes the same timestamps.
    #[test]
    fn the_monitors_log_timestamps_agree() {
        for t in (-86_400 * 400..86_400 * 365 * 300).step_by(86_400 * 37 + 3_607) {
            assert_eq!(
                hull_monitor::logfmt::rfc3339_nanos(t, 123),
                format_rfc3339_nanos(t, 123)
            );
        }
    }

    #[test]
    fn rfc3339_formats_and_parses_back() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_714_557_600), "2024-05-01T10:00:00Z");
        assert_eq!(format_rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_nanos(951_782_400, 5),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            format_rfc3339_nanos(-1, 0),
            "1969-12-31T23:59:59.000000000Z"
        );
        for t in [0, 59, 951_782_400, 1_700_000_000, 4_107_542_400] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some((t, 0)));
            assert_eq!(parse_rfc3339(&format_rfc3339_nanos(t, 7)), Some((t, 7)));
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T12:00:00.123456789+02:00"),
            Some((1_714_557_600, 123_456_789))
        );
        assert_eq!(
            parse_rfc3339("2024-05-01t10:00:00.5z"),
            Some((1_714_557_600, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2024-05-01 10:00:00.1234567891234Z"),
            Some((1_714_557_600, 123_456_789))
        );
        for bad in [
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T10:00:00",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00+0200",
            "2024-05-01T1a:00:00Z",
            "2024-05-01T10:00:00+02:x0",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
