//! docker's finer run/create flags: the OOM score, extra groups, /dev/shm's size, memory
//! reservation, the OOM killer, CPU quota/period and real-time budget, block I/O weight and
//! throttles. They become the engine's `Tuning` (crates/engine/src/container/tuning.rs).

use hull_engine::container::tuning::{Throttle, Tuning};
use hull_format::parse;

use super::CmdError;

#[derive(clap::Args, Default)]
pub struct LimitFlags {
    /// Tune host's OOM preferences (-1000 to 1000).
    #[arg(long = "oom-score-adj", allow_hyphen_values = true)]
    oom_score_adj: Option<String>,
    /// Add additional groups to join.
    #[arg(long = "group-add")]
    group_add: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long = "shm-size")]
    shm_size: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    /// Disable OOM Killer.
    #[arg(long = "oom-kill-disable")]
    oom_kill_disable: bool,
    /// Limit CPU CFS (Completely Fair Scheduler) quota.
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period.
    #[arg(long = "cpu-period")]
    cpu_period: Option<String>,
    /// Limit CPU real-time runtime in microseconds.
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<String>,
    /// Limit CPU real-time period in microseconds.
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable.
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<String>,
    /// Limit read rate (bytes per second) from a device.
    #[arg(long = "device-read-bps")]
    device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device.
    #[arg(long = "device-write-bps")]
    device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device.
    #[arg(long = "device-read-iops")]
    device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device.
    #[arg(long = "device-write-iops")]
    device_write_iops: Vec<String>,
}

fn bad(flag: &str, v: &str, why: &str) -> CmdError {
    CmdError::new(format!("invalid {flag} {v:?}: {why}"))
}

fn number<T: std::str::FromStr>(flag: &str, v: &Option<String>) -> Result<Option<T>, CmdError> {
    v.as_deref()
        .map(|s| s.parse().map_err(|_| bad(flag, s, "expected a number")))
        .transpose()
}

/// `PATH:RATE`; RATE a size (bps) or a count (iops).
fn throttles(flag: &str, list: &[String], sized: bool) -> Result<Vec<Throttle>, CmdError> {
    list.iter()
        .map(|s| {
            let (path, rate) = s
                .rsplit_once(':')
                .ok_or_else(|| bad(flag, s, "expected DEVICE:RATE"))?;
            if !path.starts_with("/dev/") {
                return Err(bad(flag, s, "the device must be a path under /dev"));
            }
            let rate = if sized {
                parse::bytes(flag, rate)? as u64
            } else {
                rate.parse()
                    .map_err(|_| bad(flag, s, "the rate must be a number"))?
            };
            Ok(Throttle {
                path: path.into(),
                rate,
            })
        })
        .collect()
}

impl LimitFlags {
    pub fn tuning(&self) -> Result<Tuning, CmdError> {
        let mut t = Tuning {
            oom_score_adj: number("--oom-score-adj", &self.oom_score_adj)?,
            group_add: self.group_add.clone(),
            oom_kill_disable: self.oom_kill_disable,
            cpu_quota: number("--cpu-quota", &self.cpu_quota)?.unwrap_or(0),
            cpu_period: number("--cpu-period", &self.cpu_period)?.unwrap_or(0),
            cpu_rt_runtime: number("--cpu-rt-runtime", &self.cpu_rt_runtime)?.unwrap_or(0),
            cpu_rt_period: number("--cpu-rt-period", &self.cpu_rt_period)?.unwrap_or(0),
            blkio_weight: number("--blkio-weight", &self.blkio_weight)?.unwrap_or(0),
            device_read_bps: throttles("--device-read-bps", &self.device_read_bps, true)?,
            device_write_bps: throttles("--device-write-bps", &self.device_write_bps, true)?,
            device_read_iops: throttles("--device-read-iops", &self.device_read_iops, false)?,
            device_write_iops: throttles("--device-write-iops", &self.device_write_iops, false)?,
            ..Default::default()
        };
        if let Some(adj) = t.oom_score_adj.filter(|a| !(-1000..=1000).contains(a)) {
            return Err(bad(
                "--oom-score-adj",
                &adj.to_string(),
                "must be between -1000 and 1000",
            ));
        }
        if let Some(s) = &self.shm_size {
            t.shm_size = parse::bytes("--shm-size", s)?;
            if t.shm_size == 0 {
                return Err(bad("--shm-size", s, "must be greater than 0"));
            }
        }
        if let Some(s) = &self.memory_reservation {
            t.memory_reservation = parse::bytes("--memory-reservation", s)?;
        }
        if t.blkio_weight != 0 && !blkio_weight_supported() {
            // docker's answer on such a kernel, before it checks the range.
            eprintln!(
                "WARNING: Your kernel does not support Block I/O weight or the cgroup is not \
                 mounted. Weight discarded."
            );
            t.blkio_weight = 0;
        }
        if t.blkio_weight != 0 && !(10..=1000).contains(&t.blkio_weight) {
            return Err(bad(
                "--blkio-weight",
                &t.blkio_weight.to_string(),
                "must be between 10 and 1000",
            ));
        }
        if t.cpu_period != 0 && !(1000..=1_000_000).contains(&t.cpu_period) {
            return Err(bad(
                "--cpu-period",
                &t.cpu_period.to_string(),
                "must be between 1ms (1000) and 1s (1000000)",
            ));
        }
        if t.cpu_quota > 0 && t.cpu_quota < 1000 {
            return Err(bad(
                "--cpu-quota",
                &t.cpu_quota.to_string(),
                "must be at least 1ms (1000)",
            ));
        }
        Ok(t)
    }
}

/// Whether the host's block I/O controller takes a weight (CFQ's or BFQ's file in the v1
/// hierarchy; the io controller on cgroup v2).
fn blkio_weight_supported() -> bool {
    let v1 = std::path::Path::new("/sys/fs/cgroup/blkio");
    if v1.exists() {
        return v1.join("blkio.weight").exists() || v1.join("blkio.bfq.weight").exists();
    }
    std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .is_ok_and(|c| c.split_whitespace().any(|x| x == "io"))
}
