//! `events`: runc's event stream, one JSON object per line: `{"type":"stats","id":..,"data":..}`
//! every interval and `{"type":"oom","id":..}` when the OOM killer strikes in the container's
//! cgroup. Also the OOM check `run` makes before it deletes a container killed by SIGKILL.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use hull_cgroups::{Manager, Stats};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::state::{Saved, Status};

/// How often the loop looks at the OOM counter and the container's liveness between stats.
const POLL: Duration = Duration::from_millis(100);

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    typ: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Stats>,
}

fn cg_err(e: hull_cgroups::Error) -> Error {
    Error::Cgroup(e.to_string())
}

fn emit(out: &mut impl Write, ev: &Event<'_>) -> Result<()> {
    let line = serde_json::to_string(ev).map_err(|e| Error::Other(e.to_string()))?;
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::call("write event", e))
}

fn live(root: &Path, id: &str) -> Result<(Saved, Box<dyn Manager>)> {
    let saved = Saved::load(root, id)?;
    if saved.status(root) == Status::Stopped {
        return Err(Error::State {
            id: id.into(),
            reason: "container not running".into(),
        });
    }
    let cg = crate::cgroup::for_saved(&saved)?;
    Ok((saved, cg))
}

/// The container's usage counters, in runc's `events --stats` shape.
pub fn stats(root: &Path, id: &str) -> Result<Stats> {
    live(root, id)?.1.stats().map_err(cg_err)
}

/// Prints one stats event.
pub fn print_stats(root: &Path, id: &str, out: &mut impl Write) -> Result<()> {
    let s = stats(root, id)?;
    emit(
        out,
        &Event {
            typ: "stats",
            id,
            data: Some(&s),
        },
    )
}

/// Prints a stats event every `interval` and an oom event whenever the cgroup's OOM-kill
/// counter grows, until the container stops. Polling keeps this one plain loop: the counter
/// is what both cgroup versions expose, and a 100 ms delay is well inside runc's own.
pub fn stream(root: &Path, id: &str, interval: Duration, out: &mut impl Write) -> Result<()> {
    let (saved, cg) = live(root, id)?;
    let mut ooms = cg.oom_kill_count().unwrap_or(0);
    let mut next_stats = Instant::now() + interval;
    loop {
        // The counter first: an OOM kill of init also ends the container, and its event
        // must come out before we leave.
        if let Ok(n) = cg.oom_kill_count() {
            for _ in ooms..n {
                emit(
                    out,
                    &Event {
                        typ: "oom",
                        id,
                        data: None,
                    },
                )?;
            }
            ooms = ooms.max(n);
        }
        if !saved.alive() {
            return Ok(());
        }
        if Instant::now() >= next_stats {
            next_stats += interval;
            match cg.stats() {
                Ok(s) => emit(
                    out,
                    &Event {
                        typ: "stats",
                        id,
                        data: Some(&s),
                    },
                )?,
                Err(e) => eprintln!("warning: stats for {id}: {e}"),
            }
        }
        let now = Instant::now();
        std::thread::sleep(
            POLL.min(next_stats.saturating_duration_since(now))
                .max(Duration::from_millis(1)),
        );
    }
}

/// Whether the OOM killer has killed anything in the container's cgroup.
pub fn oom_killed(saved: &Saved) -> bool {
    crate::cgroup::for_saved(saved)
        .and_then(|cg| cg.oom_kill_count().map_err(cg_err))
        .is_ok_and(|n| n > 0)
}

/// A Go duration as runc's `--interval` takes it: "5s", "100ms", "1m30s", "1.5s", "2h".
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || {
        Error::Other(format!(
            "invalid value for --interval: {s:?}: not a duration like \"5s\" or \"100ms\""
        ))
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let v: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += v * secs;
        rest = &rest[u..];
    }
    if total <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        for bad in ["", "5", "s", "5x", "0s", "-1s"] {
            let e = parse_duration(bad).unwrap_err().to_string();
            assert!(e.contains("--interval"), "{e}");
        }
    }

    #[test]
    fn event_shape() {
        let ev = Event {
            typ: "oom",
            id: "c1",
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"type":"oom","id":"c1"}"#
        );
    }
}
