//! docker's finer run settings that have no home of their own: the OOM score, extra groups,
//! /dev/shm's size, memory reservation and the OOM killer, CPU quota/period and real-time
//! budget, block I/O weight and throttles. Kept in `RunConfig::tuning`; `apply` writes them
//! into the OCI spec, `host_config` gives inspect's HostConfig keys.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxThrottleDevice, LinuxThrottleDeviceBuilder, Spec,
};

use crate::bundle::spec::{invalid, process_mut, resources_mut, Ctx, SpecError};

/// A block device's rate (`--device-read-bps /dev/sda:1mb`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttle {
    pub path: String,
    pub rate: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tuning {
    pub oom_score_adj: Option<i32>,
    /// --group-add: names (from the container's /etc/group) or numbers.
    pub group_add: Vec<String>,
    /// Bytes; 0: docker's 64 MiB.
    pub shm_size: i64,
    pub memory_reservation: i64,
    pub oom_kill_disable: bool,
    pub cpu_quota: i64,
    pub cpu_period: u64,
    pub cpu_rt_runtime: i64,
    pub cpu_rt_period: u64,
    pub blkio_weight: u16,
    pub device_read_bps: Vec<Throttle>,
    pub device_write_bps: Vec<Throttle>,
    pub device_read_iops: Vec<Throttle>,
    pub device_write_iops: Vec<Throttle>,
}

/// docker's default /dev/shm size.
pub const DEFAULT_SHM: i64 = 64 << 20;

impl Tuning {
    pub fn shm_size(&self) -> i64 {
        if self.shm_size > 0 {
            self.shm_size
        } else {
            DEFAULT_SHM
        }
    }
}

/// The settings into config.json (after process, resources).
pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<(), SpecError> {
    let t = &ctx.c.config.tuning;
    let process = process_mut(spec);
    if let Some(adj) = t.oom_score_adj {
        process.set_oom_score_adj(Some(adj));
    }
    if !t.group_add.is_empty() {
        let group = std::fs::read_to_string(ctx.rootfs.join("etc/group")).unwrap_or_default();
        let mut gids = process.user().additional_gids().clone().unwrap_or_default();
        for g in &t.group_add {
            let gid = group_id(&group, g).ok_or_else(|| {
                SpecError::Invalid(format!(
                    "unable to find group {g}: no matching entries in group file"
                ))
            })?;
            if !gids.contains(&gid) {
                gids.push(gid);
            }
        }
        process.user_mut().set_additional_gids(Some(gids));
    }
    let r = resources_mut(spec);
    if t.memory_reservation > 0 || t.oom_kill_disable {
        let mut mem = r.memory().unwrap_or_default();
        if t.memory_reservation > 0 {
            mem.set_reservation(Some(t.memory_reservation));
        }
        if t.oom_kill_disable {
            mem.set_disable_oom_killer(Some(true));
        }
        r.set_memory(Some(mem));
    }
    let mut cpu = r.cpu().clone().unwrap_or_default();
    let nonzero = |v: i64| (v != 0).then_some(v);
    if let Some(q) = nonzero(t.cpu_quota) {
        cpu.set_quota(Some(q));
    }
    if t.cpu_period != 0 {
        cpu.set_period(Some(t.cpu_period));
    }
    if let Some(rt) = nonzero(t.cpu_rt_runtime) {
        cpu.set_realtime_runtime(Some(rt));
    }
    if t.cpu_rt_period != 0 {
        cpu.set_realtime_period(Some(t.cpu_rt_period));
    }
    if cpu != LinuxCpu::default() {
        r.set_cpu(Some(cpu));
    }
    let mut blkio = r.block_io().clone().unwrap_or_default();
    if t.blkio_weight > 0 {
        blkio.set_weight(Some(t.blkio_weight));
    }
    let throttles = |list: &[Throttle]| -> Result<Option<Vec<LinuxThrottleDevice>>, SpecError> {
        if list.is_empty() {
            return Ok(None);
        }
        list.iter()
            .map(|d| {
                let (major, minor) = block_device(&d.path)?;
                LinuxThrottleDeviceBuilder::default()
                    .major(major as i64)
                    .minor(minor as i64)
                    .rate(d.rate)
                    .build()
                    .map_err(invalid)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    if let Some(l) = throttles(&t.device_read_bps)? {
        blkio.set_throttle_read_bps_device(Some(l));
    }
    if let Some(l) = throttles(&t.device_write_bps)? {
        blkio.set_throttle_write_bps_device(Some(l));
    }
    if let Some(l) = throttles(&t.device_read_iops)? {
        blkio.set_throttle_read_iops_device(Some(l));
    }
    if let Some(l) = throttles(&t.device_write_iops)? {
        blkio.set_throttle_write_iops_device(Some(l));
    }
    if blkio != LinuxBlockIo::default() {
        r.set_block_io(Some(blkio));
    }
    Ok(())
}

/// A group's id from /etc/group's text, or the number itself.
fn group_id(group: &str, g: &str) -> Option<u32> {
    g.parse().ok().or_else(|| {
        group
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 3 && f[0] == g)
            .and_then(|f| f[2].parse().ok())
    })
}

/// The major and minor numbers of the block device at `path` on the host.
pub fn block_device(path: &str) -> Result<(u64, u64), SpecError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata(path).map_err(|source| SpecError::Io {
        path: path.into(),
        source,
    })?;
    if !m.file_type().is_block_device() {
        return Err(SpecError::Invalid(format!("{path}: not a block device")));
    }
    let rdev = m.rdev();
    Ok((nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev)))
}

/// inspect's HostConfig keys for these settings, in docker's names.
pub fn host_config(t: &Tuning) -> Value {
    let throttles = |l: &[Throttle]| -> Value {
        l.iter()
            .map(|d| json!({"Path": d.path, "Rate": d.rate}))
            .collect()
    };
    json!({
        "OomScoreAdj": t.oom_score_adj.unwrap_or(0),
        "GroupAdd": if t.group_add.is_empty() { Value::Null } else { json!(t.group_add) },
        "ShmSize": t.shm_size(),
        "MemoryReservation": t.memory_reservation,
        "OomKillDisable": t.oom_kill_disable,
        "CpuQuota": t.cpu_quota,
        "CpuPeriod": t.cpu_period,
        "CpuRealtimeRuntime": t.cpu_rt_runtime,
        "CpuRealtimePeriod": t.cpu_rt_period,
        "BlkioWeight": t.blkio_weight,
        "BlkioDeviceReadBps": throttles(&t.device_read_bps),
        "BlkioDeviceWriteBps": throttles(&t.device_write_bps),
        "BlkioDeviceReadIOps": throttles(&t.device_read_iops),
        "BlkioDeviceWriteIOps": throttles(&t.device_write_iops),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_by_name_or_number() {
        let g = "root:x:0:\naudio:x:29:\n";
        assert_eq!(group_id(g, "audio"), Some(29));
        assert_eq!(group_id(g, "1234"), Some(1234));
        assert_eq!(group_id(g, "video"), None);
    }
}
