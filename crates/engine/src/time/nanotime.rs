//! Timestamps with nanoseconds, as docker writes them in logs and inspect:
//! `2024-01-02T03:04:05.123456789Z` (UTC), formatted by hull_clock::civil.

use std::time::SystemTime;

/// Now, as `2024-01-02T03:04:05.123456789Z`.
pub fn now_nanos() -> String {
    rfc3339(SystemTime::now())
}

pub fn rfc3339(t: SystemTime) -> String {
    hull_clock::civil::format_system_time(t)
}

/// Seconds and nanoseconds since the epoch as RFC 3339 (UTC).
pub fn format_unix(secs: i64, nanos: u32) -> String {
    hull_clock::civil::format_rfc3339_nanos(secs, nanos)
}
