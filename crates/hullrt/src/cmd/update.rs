use std::io::Read;
use std::path::Path;

use hull_runtime::resources::{self, parse_bytes};
use hull_runtime::Error;
use serde_json::{json, Map, Value};

/// Change the resource limits of a created, running or paused container.
///
/// Values come from the flags, or from a LinuxResources JSON document with --resources (then
/// the other flags are ignored, as runc does). Sizes take plain bytes or units: 64M, 1g.
#[derive(clap::Args)]
pub struct Args {
    /// LinuxResources JSON file to apply; "-" reads standard input.
    #[arg(short, long, value_name = "FILE")]
    resources: Option<String>,
    /// Specifies per cgroup weight, range is from 10 to 1000.
    #[arg(long = "blkio-weight", value_name = "N", allow_hyphen_values = true)]
    blkio_weight: Option<String>,
    /// CPU CFS period to be used for hardcapping (in usecs).
    #[arg(long = "cpu-period", value_name = "N", allow_hyphen_values = true)]
    cpu_period: Option<String>,
    /// CPU CFS hardcap limit (in usecs); allowed cpu time in a given period.
    #[arg(long = "cpu-quota", value_name = "N", allow_hyphen_values = true)]
    cpu_quota: Option<String>,
    /// CPU realtime period to be used for hardcapping (in usecs).
    #[arg(long = "cpu-rt-period", value_name = "N", allow_hyphen_values = true)]
    cpu_rt_period: Option<String>,
    /// CPU realtime hardcap limit (in usecs).
    #[arg(long = "cpu-rt-runtime", value_name = "N", allow_hyphen_values = true)]
    cpu_rt_runtime: Option<String>,
    /// CPU shares (relative weight vs. other containers).
    #[arg(
        long = "cpu-share",
        visible_alias = "cpu-shares",
        value_name = "N",
        allow_hyphen_values = true
    )]
    cpu_share: Option<String>,
    /// CPU(s) to use, e.g. "0-1" or "0,2".
    #[arg(long = "cpuset-cpus", value_name = "S")]
    cpuset_cpus: Option<String>,
    /// Memory node(s) to use.
    #[arg(long = "cpuset-mems", value_name = "S")]
    cpuset_mems: Option<String>,
    /// Kernel memory limit for tcp buffers (in bytes).
    #[arg(
        long = "kernel-memory-tcp",
        value_name = "N",
        allow_hyphen_values = true
    )]
    kernel_memory_tcp: Option<String>,
    /// Memory limit (in bytes).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    memory: Option<String>,
    /// Memory reservation or soft limit (in bytes).
    #[arg(
        long = "memory-reservation",
        value_name = "N",
        allow_hyphen_values = true
    )]
    memory_reservation: Option<String>,
    /// Total memory usage (memory + swap); -1 for unlimited swap.
    #[arg(long = "memory-swap", value_name = "N", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Maximum number of pids allowed in the container.
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pids_limit: Option<String>,
    id: String,
}

fn int<T: std::str::FromStr>(flag: &str, v: &str) -> hull_runtime::Result<T> {
    v.trim().parse().map_err(|_| {
        Error::Other(format!(
            "invalid value for --{flag}: {v:?}: not a {}",
            if flag == "cpu-quota" || flag == "pids-limit" {
                "whole number"
            } else {
                "non-negative whole number"
            }
        ))
    })
}

/// The flags as a LinuxResources JSON object: only what was given.
fn from_flags(a: &Args) -> hull_runtime::Result<Value> {
    let (mut mem, mut cpu) = (Map::new(), Map::new());
    let sizes = [
        ("memory", &a.memory, "limit"),
        ("memory-reservation", &a.memory_reservation, "reservation"),
        ("memory-swap", &a.memory_swap, "swap"),
        ("kernel-memory-tcp", &a.kernel_memory_tcp, "kernelTCP"),
    ];
    for (flag, v, key) in sizes {
        if let Some(v) = v {
            mem.insert(key.into(), json!(parse_bytes(flag, v)?));
        }
    }
    let uints = [
        ("cpu-share", &a.cpu_share, "shares"),
        ("cpu-period", &a.cpu_period, "period"),
        ("cpu-rt-period", &a.cpu_rt_period, "realtimePeriod"),
    ];
    for (flag, v, key) in uints {
        if let Some(v) = v {
            cpu.insert(key.into(), json!(int::<u64>(flag, v)?));
        }
    }
    let ints = [
        ("cpu-quota", &a.cpu_quota, "quota"),
        ("cpu-rt-runtime", &a.cpu_rt_runtime, "realtimeRuntime"),
    ];
    for (flag, v, key) in ints {
        if let Some(v) = v {
            cpu.insert(key.into(), json!(int::<i64>(flag, v)?));
        }
    }
    for (v, key) in [(&a.cpuset_cpus, "cpus"), (&a.cpuset_mems, "mems")] {
        if let Some(v) = v {
            cpu.insert(key.into(), json!(v));
        }
    }
    let mut res = Map::new();
    if !mem.is_empty() {
        res.insert("memory".into(), Value::Object(mem));
    }
    if !cpu.is_empty() {
        res.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(v) = &a.pids_limit {
        res.insert(
            "pids".into(),
            json!({"limit": int::<i64>("pids-limit", v)?}),
        );
    }
    if let Some(v) = &a.blkio_weight {
        let w = int::<u16>("blkio-weight", v)?;
        // 0 leaves the weight as it is (runc's default for the flag).
        if w != 0 && !(10..=1000).contains(&w) {
            return Err(Error::Other(format!(
                "invalid value for --blkio-weight: {v:?}: must be from 10 to 1000"
            )));
        }
        res.insert("blockIO".into(), json!({ "weight": w }));
    }
    Ok(Value::Object(res))
}

/// Reads --resources, naming the offending field on a bad document.
fn from_file(path: &str) -> hull_runtime::Result<(String, Vec<u8>)> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::sys("read", "standard input", e))?;
        return Ok(("--resources -".into(), buf));
    }
    let buf = std::fs::read(path).map_err(|e| Error::sys("read", path, e))?;
    Ok((format!("--resources {path}"), buf))
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let (what, bytes) = match &a.resources {
        Some(p) => from_file(p)?,
        None => (
            "flags".into(),
            serde_json::to_vec(&from_flags(&a)?).unwrap_or_default(),
        ),
    };
    let res = resources::parse(&what, &bytes)?;
    resources::update(root, &a.id, &res)?;
    Ok(0)
}
