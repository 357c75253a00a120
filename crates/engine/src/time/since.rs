//! docker's time arguments (`logs --since/--until`, `events --since/--until`): a duration
//! before now (`10m`, `1h30m`, `1.5s`), a Unix time (`1700000000`, `1700000000.5`), or an
//! RFC 3339 time or date (`2024-05-01T10:00:00Z`, `2024-05-01T10:00:00`, `2024-05-01`; no
//! zone means UTC here, docker's host-local zone). Times are nanoseconds since the epoch; a
//! duration gives whole seconds, as docker's client computes it.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Nanoseconds of an RFC 3339 time with optional fraction (`...05.123456789Z`).
pub fn rfc3339_nanos(s: &str) -> Option<i128> {
    let (secs, nanos) = hull_clock::civil::parse_rfc3339(s)?;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// Go's time.ParseDuration for the units docker users type: `300ms`, `10m`, `1h30m`, `1.5h`.
pub fn duration_nanos(s: &str) -> Option<i128> {
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += v * scale;
        rest = &rest[u..];
    }
    Some(total as i128)
}

/// `spec` as a time, relative durations counted back from `now`.
pub fn parse(spec: &str, now: i128) -> Result<i128, String> {
    let bad =
        || format!("invalid time {spec:?}: want a duration (10m), a Unix time or an RFC 3339 time");
    // docker's client turns a duration into whole seconds (time.Unix()).
    if let Some(d) = duration_nanos(spec) {
        return Ok((now - d).div_euclid(1_000_000_000) * 1_000_000_000);
    }
    if let Some(t) = rfc3339_nanos(spec) {
        return Ok(t);
    }
    if spec.len() >= 19 && spec.as_bytes().get(10) == Some(&b'T') {
        return rfc3339_nanos(&format!("{spec}Z")).ok_or_else(bad);
    }
    if spec.len() == 10 && spec.as_bytes()[4] == b'-' {
        return rfc3339_nanos(&format!("{spec}T00:00:00Z")).ok_or_else(bad);
    }
    let (secs, frac) = spec.split_once('.').unwrap_or((spec, ""));
    let secs: i128 = secs.parse().map_err(|_| bad())?;
    let mut nanos: i128 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += i128::from(c.to_digit(10).ok_or_else(bad)?) * 10i128.pow(8 - i as u32);
    }
    Ok(secs * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_forms() {
        let now = 1_700_000_000_000_000_000;
        assert_eq!(parse("0s", now + 999).unwrap(), now);
        assert_eq!(parse("10m", now).unwrap(), now - 600_000_000_000);
        assert_eq!(parse("1h30m", now).unwrap(), now - 5_400_000_000_000);
        assert_eq!(parse("1.5s", now).unwrap(), now - 2_000_000_000);
        assert_eq!(parse("1700000000", now).unwrap(), now);
        assert_eq!(parse("1700000000.25", now).unwrap(), now + 250_000_000);
        assert_eq!(parse("2023-11-14T22:13:20Z", now).unwrap(), now);
        assert_eq!(parse("2023-11-14T22:13:20", now).unwrap(), now);
        assert_eq!(
            parse("2023-11-14T22:13:20.5+00:00", now).unwrap(),
            now + 500_000_000
        );
        assert_eq!(parse("2023-11-14", now).unwrap(), now - 80_000_000_000_000);
        assert!(parse("yesterday", now).is_err());
        assert!(parse("10x", now).is_err());
    }
}
