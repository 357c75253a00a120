//! Time formats and clocks: `--since`/`--until` values, nanosecond times, the daemon's
//! durations. RFC 3339 itself is hull_clock::civil's; docker's client-side forms ("2 hours
//! ago", sizes) are hull_format::human's.

use std::time::{SystemTime, UNIX_EPOCH};

pub mod nanotime;
pub mod since;

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Now as RFC 3339 in whole seconds (docker's `CreatedAt` of volumes and networks).
pub fn now_rfc3339() -> String {
    hull_clock::civil::format_rfc3339(now_secs())
}

/// docker's "human" duration (go-units HumanDuration): "Less than a second", "About a minute",
/// "3 hours", "2 weeks". The daemon writes a container's `Status` with it ("Up 3 hours",
/// `inspect::status_text`), which the API's list gives as it is; the CLI's "2 hours ago"
/// (`hull_format::human::ago`) uses it too.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn now_is_whole_seconds_rfc3339() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && !t.contains('.'), "{t}");
        let (secs, _) = hull_clock::civil::parse_rfc3339(&t).unwrap();
        assert!((now_secs() - secs).abs() <= 1);
    }
}
