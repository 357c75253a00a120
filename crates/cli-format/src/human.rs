//! docker's client-side forms of times and sizes: "2 hours ago", "4.26MB", "1.5MiB" (the
//! docker CLI's go-units calls). The duration words are the engine's
//! (`hull_engine::time::human_duration`: the daemon writes a container's Status with them).

use hull_engine::time::{human_duration, now_secs};

/// "2 hours ago" for an RFC 3339 time; the input itself when it does not parse.
pub fn ago(rfc3339_time: &str) -> String {
    match hull_clock::civil::parse_rfc3339(rfc3339_time) {
        Some((t, _)) => format!("{} ago", human_duration(now_secs() - t)),
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
    fn ago_reads_like_docker() {
        let an_hour_ago = hull_clock::civil::format_rfc3339(now_secs() - 3700);
        assert_eq!(ago(&an_hour_ago), "About an hour ago");
        assert_eq!(ago("yesterday"), "yesterday");
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
