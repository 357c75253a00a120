//! `ADD http(s)://...`: the file downloaded as docker's builders do it: not unpacked, its
//! name the URL's last path element (when the destination is a directory), mode 0600, its
//! mtime the response's `Last-Modified`, checked against `--checksum=sha256:...` when given.
//! It is downloaded on every build and keyed by its content, as the classic builder does.

use std::io::Read;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::BuildError;

pub struct Remote {
    /// The file name the URL gives (its last path element).
    pub name: String,
    pub bytes: Vec<u8>,
    /// `Last-Modified`, seconds since the epoch (0 without one).
    pub mtime: u64,
}

pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Downloads `url` (at most 1 GiB).
pub fn fetch(url: &str, checksum: Option<&str>) -> Result<Remote, BuildError> {
    let err = |m: String| BuildError::msg(format!("ADD {url}: {m}"));
    let want = match checksum {
        None => None,
        Some(c) => Some(
            c.strip_prefix("sha256:")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| err(format!("--checksum={c}: want sha256:<64 hex digits>")))?
                .to_ascii_lowercase(),
        ),
    };
    let path = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url)
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let name = path
        .split_once('/')
        .map(|(_, p)| p.rsplit('/').next().unwrap_or(""))
        .unwrap_or("")
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| err(e.to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(err(format!("GET: {status}")));
    }
    let mtime = resp
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(http_date)
        .unwrap_or(0);
    let mut bytes = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(1 << 30)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("read body: {e}")))?;
    if let Some(w) = want {
        let got = hex::encode(Sha256::digest(&bytes));
        if got != w {
            return Err(err(format!(
                "checksum mismatch: want sha256:{w}, got sha256:{got}"
            )));
        }
    }
    Ok(Remote { name, bytes, mtime })
}

/// An HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 7231's preferred form) as seconds.
fn http_date(s: &str) -> Option<u64> {
    let w: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, hms, "GMT"] = w.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == mon)? as i64 + 1;
    let d: i64 = day.parse().ok()?;
    let y: i64 = year.parse().ok()?;
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [hh, mm, ss] = t.as_slice() else {
        return None;
    };
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    u64::try_from(days * 86400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1445412480)
        );
        assert_eq!(super::http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(super::http_date("yesterday"), None);
    }
}
