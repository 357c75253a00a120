//! Healthchecks, docker's: the test (`--health-cmd` or the image's `HEALTHCHECK`) runs in the
//! container every interval; its results make the status `starting`, `healthy` or
//! `unhealthy`. hull has no daemon, so the container's hull-monitor keeps the timer: with
//! `--health-interval NS` on its command line it runs `hull internal-hook health ID 0` one
//! interval after the start and one interval after each check ends. That hook runs the test
//! through the runtime's exec (probe.rs), applies docker's rules (`record`) and writes the
//! state to `<container dir>/health.json`, beside the container's other files; `inspect`,
//! `ps` and `--filter health=` read it. A container without a healthcheck costs nothing.

mod probe;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::container::Container;
use crate::engine::Engine;
use crate::Paths;

/// docker's defaults (daemon/health.go).
const DEFAULT_INTERVAL: i64 = 30_000_000_000;
const DEFAULT_TIMEOUT: i64 = 30_000_000_000;
const DEFAULT_RETRIES: u32 = 3;
/// docker keeps the last five results, each output cut at 4096 bytes.
const MAX_LOG: usize = 5;
pub(crate) const MAX_OUTPUT: usize = 4096;
/// docker's smallest duration (`MinimumDuration`).
const MIN_DURATION: i64 = 1_000_000;

/// docker's `Config.Healthcheck` (the image config's and the API's shape), durations in
/// nanoseconds, 0 meaning the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    /// `[]`: inherit the image's; `["NONE"]`: none; `["CMD", args...]`; `["CMD-SHELL", cmd]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub retries: u32,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

impl HealthConfig {
    /// A test that runs something (not empty, not NONE).
    pub fn is_active(&self) -> bool {
        matches!(
            self.test.first().map(String::as_str),
            Some("CMD" | "CMD-SHELL")
        )
    }

    pub fn interval(&self) -> i64 {
        nonzero(self.interval, DEFAULT_INTERVAL)
    }

    pub fn timeout(&self) -> i64 {
        nonzero(self.timeout, DEFAULT_TIMEOUT)
    }

    pub fn retries(&self) -> u32 {
        if self.retries == 0 {
            DEFAULT_RETRIES
        } else {
            self.retries
        }
    }

    /// The command the test runs: CMD's arguments, or CMD-SHELL's line under `/bin/sh -c`.
    pub fn args(&self) -> Vec<String> {
        match self.test.first().map(String::as_str) {
            Some("CMD-SHELL") => {
                let line = self.test[1..].join(" ");
                vec!["/bin/sh".into(), "-c".into(), line]
            }
            Some("CMD") => self.test[1..].to_vec(),
            _ => Vec::new(),
        }
    }

    /// The image's healthcheck under the command line's: the test, and each duration, from
    /// the command line when given there (docker's merge).
    pub fn merge(image: Option<&HealthConfig>, user: Option<&HealthConfig>) -> Option<Self> {
        let (img, user) = match (image, user) {
            (None, None) => return None,
            (Some(i), None) => return Some(i.clone()),
            (None, Some(u)) => return Some(u.clone()),
            (Some(i), Some(u)) => (i, u),
        };
        let pick = |u: i64, i: i64| if u != 0 { u } else { i };
        Some(HealthConfig {
            test: if user.test.is_empty() {
                img.test.clone()
            } else {
                user.test.clone()
            },
            interval: pick(user.interval, img.interval),
            timeout: pick(user.timeout, img.timeout),
            start_period: pick(user.start_period, img.start_period),
            retries: if user.retries != 0 {
                user.retries
            } else {
                img.retries
            },
        })
    }

    /// docker's daemon checks (daemon/container.go): each duration 0 or at least 1ms.
    pub fn validate(&self) -> Result<(), String> {
        for (what, v) in [
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
        ] {
            if v != 0 && v < MIN_DURATION {
                return Err(format!("{what} in Healthcheck cannot be less than 1ms"));
            }
        }
        Ok(())
    }
}

fn nonzero(v: i64, default: i64) -> i64 {
    if v == 0 {
        default
    } else {
        v
    }
}

/// docker's `State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: String,
    pub failing_streak: u32,
    pub log: Vec<Probe>,
}

/// One check's result (docker's `HealthcheckResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Probe {
    pub start: String,
    pub end: String,
    /// 0 healthy, 1 unhealthy, -1 when it could not run or timed out (docker's).
    pub exit_code: i32,
    pub output: String,
}

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

impl Health {
    /// Applies one result as docker does (daemon/health.go handleProbeResult): success makes
    /// it healthy; a failure counts toward `retries` unless the container has never been
    /// healthy and the check started within the start period. True when the status changed.
    pub fn record(&mut self, p: Probe, cfg: &HealthConfig, started_at: Option<i128>) -> bool {
        let before = self.status.clone();
        if p.exit_code == 0 {
            self.failing_streak = 0;
            self.status = HEALTHY.into();
        } else {
            let in_start_period = self.status == STARTING
                && match (crate::time::since::rfc3339_nanos(&p.start), started_at) {
                    (Some(s), Some(t)) => s - t < i128::from(cfg.start_period),
                    _ => false,
                };
            if !in_start_period {
                self.failing_streak += 1;
                if self.failing_streak >= cfg.retries() {
                    self.status = UNHEALTHY.into();
                }
            }
        }
        self.log.push(p);
        if self.log.len() > MAX_LOG {
            let cut = self.log.len() - MAX_LOG;
            self.log.drain(..cut);
        }
        self.status != before
    }
}

fn file(paths: &Paths, id: &str) -> PathBuf {
    paths.container_dir(id).join("health.json")
}

/// The container's health as last recorded; None when it has no healthcheck or never ran
/// with one.
pub fn load(paths: &Paths, c: &Container) -> Option<Health> {
    if !c
        .config
        .healthcheck
        .as_ref()
        .is_some_and(HealthConfig::is_active)
    {
        return None;
    }
    let data = std::fs::read(file(paths, &c.id)).ok()?;
    serde_json::from_slice(&data).ok()
}

fn save(paths: &Paths, id: &str, h: &Health) {
    let path = file(paths, id);
    let tmp = path.with_extension("json.tmp");
    let data = serde_json::to_vec(h).expect("health serializes");
    if std::fs::write(&tmp, data).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
}

/// At each start: `starting` again, the streak cleared, the log kept (docker's
/// initHealthMonitor).
pub fn reset(paths: &Paths, c: &Container) {
    if !c
        .config
        .healthcheck
        .as_ref()
        .is_some_and(HealthConfig::is_active)
    {
        return;
    }
    let mut h = load(paths, c).unwrap_or_default();
    h.status = STARTING.into();
    h.failing_streak = 0;
    save(paths, &c.id, &h);
}

/// The monitor's `--health-interval` for a container: its interval in nanoseconds, or None.
pub fn monitor_interval(c: &Container) -> Option<i64> {
    c.config
        .healthcheck
        .as_ref()
        .filter(|h| h.is_active())
        .map(HealthConfig::interval)
}

/// The text `ps` adds after "Up 3 seconds": " (healthy)", " (health: starting)".
pub fn status_suffix(h: &Health) -> String {
    match h.status.as_str() {
        STARTING => " (health: starting)".into(),
        "" => String::new(),
        s => format!(" ({s})"),
    }
}

/// `ps --filter health=S`: starting, healthy, unhealthy, or none (no healthcheck).
pub fn filter_matches(c: &Container, want: &str) -> bool {
    match &c.health {
        Some(h) => h.status == want,
        None => want == "none",
    }
}

impl Engine {
    /// One check of the running container `key` (the monitor's hook): runs the test, records
    /// the result, and on a change of status appends docker's `health_status: S` event.
    pub fn run_healthcheck(&self, key: &str) -> crate::Result<()> {
        let c = self.lookup(key)?;
        let Some(cfg) = c.config.healthcheck.clone().filter(|h| h.is_active()) else {
            return Ok(());
        };
        if c.status != crate::container::Status::Running {
            return Ok(());
        }
        let p = probe::run(self, &c, &cfg);
        let mut h = load(&self.paths, &c).unwrap_or_else(|| Health {
            status: STARTING.into(),
            ..Default::default()
        });
        let started = c
            .started_at
            .as_deref()
            .and_then(crate::time::since::rfc3339_nanos);
        if h.record(p, &cfg, started) {
            let action = format!("health_status: {}", h.status);
            crate::events::container(&self.paths, &c, &action, &[]);
        }
        save(&self.paths, &c.id, &h);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(retries: u32, start_period_s: i64) -> HealthConfig {
        HealthConfig {
            test: vec!["CMD".into(), "true".into()],
            retries,
            start_period: start_period_s * 1_000_000_000,
            ..Default::default()
        }
    }

    fn probe(at: &str, code: i32) -> Probe {
        Probe {
            start: at.into(),
            end: at.into(),
            exit_code: code,
            output: String::new(),
        }
    }

    const T0: &str = "2026-12-02T08:00:00Z";
    const T5: &str = "2026-12-02T08:00:05Z";
    const T20: &str = "2026-12-02T08:00:20Z";

    fn started() -> Option<i128> {
        crate::time::since::rfc3339_nanos(T0)
    }

    #[test]
    fn failures_count_to_retries_then_success_heals() {
        let c = cfg(2, 0);
        let mut h = Health {
            status: STARTING.into(),
            ..Default::default()
        };
        assert!(!h.record(probe(T5, 1), &c, started()));
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 1));
        assert!(h.record(probe(T5, -1), &c, started()));
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        assert!(h.record(probe(T5, 0), &c, started()));
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
    }

    #[test]
    fn failures_in_the_start_period_do_not_count_until_healthy_once() {
        let c = cfg(1, 10);
        let mut h = Health {
            status: STARTING.into(),
            ..Default::default()
        };
        h.record(probe(T5, 1), &c, started());
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        h.record(probe(T5, 0), &c, started());
        h.record(probe(T5, 1), &c, started());
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 1));
        h.status = STARTING.into();
        h.failing_streak = 0;
        h.record(probe(T20, 1), &c, started());
        assert_eq!(h.status, UNHEALTHY);
    }

    #[test]
    fn the_log_keeps_the_last_five() {
        let c = cfg(0, 0);
        let mut h = Health::default();
        for i in 0..7 {
            h.record(probe(T0, i), &c, None);
        }
        let codes: Vec<i32> = h.log.iter().map(|p| p.exit_code).collect();
        assert_eq!(codes, [2, 3, 4, 5, 6]);
    }

    #[test]
    fn merge_takes_each_field_from_the_command_line_when_given() {
        let img = HealthConfig {
            test: vec!["CMD".into(), "a".into()],
            interval: 5,
            retries: 7,
            ..Default::default()
        };
        let user = HealthConfig {
            interval: 9,
            ..Default::default()
        };
        let m = HealthConfig::merge(Some(&img), Some(&user)).unwrap();
        assert_eq!(
            (m.test.clone(), m.interval, m.retries),
            (img.test.clone(), 9, 7)
        );
        let none = HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        };
        assert!(!HealthConfig::merge(Some(&img), Some(&none))
            .unwrap()
            .is_active());
        assert_eq!(
            HealthConfig {
                test: vec!["CMD-SHELL".into(), "exit 3".into()],
                ..Default::default()
            }
            .args(),
            ["/bin/sh", "-c", "exit 3"]
        );
        assert_eq!(
            HealthConfig {
                interval: 5,
                ..Default::default()
            }
            .validate()
            .unwrap_err(),
            "Interval in Healthcheck cannot be less than 1ms"
        );
    }
}
