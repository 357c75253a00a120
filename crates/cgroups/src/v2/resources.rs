//! linux.resources -> v2 files, with runc's conversions from the v1-shaped spec values.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use crate::error::{Error, Result};
use crate::fs::{self, set};
use crate::v1::resources::{page_size, rdma_line};

pub(super) fn apply(dir: &Path, res: &LinuxResources) -> Result<()> {
    let rules = match res.devices() {
        Some(d) => Some(crate::devices::rules(d)?),
        None => None,
    };
    if let Some(mem) = res.memory() {
        memory(dir, mem)?;
    }
    if let Some(c) = res.cpu() {
        cpu(dir, c)?;
    }
    // 0 leaves the limit as it is (runc's update and create alike); -1 is unlimited.
    if let Some(p) = res.pids().filter(|p| p.limit() != 0) {
        let v = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".to_string()
        };
        set(dir, "pids.max", &v, "pids.limit")?;
    }
    if let Some(b) = res.block_io() {
        io(dir, b)?;
    }
    for h in res.hugepage_limits().iter().flatten() {
        let field = format!("hugepageLimits[{}]", h.page_size());
        let size = page_size(h.page_size(), &field)?;
        set(
            dir,
            &format!("hugetlb.{size}.max"),
            &h.limit().to_string(),
            &field,
        )?;
    }
    if let Some(net) = res.network() {
        // net_cls and net_prio exist only in v1.
        if net.class_id().is_some() {
            return Err(Error::unsupported("network.classID"));
        }
        if net.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(Error::unsupported("network.priorities"));
        }
    }
    for (dev, r) in res.rdma().iter().flatten() {
        let field = format!("rdma.{dev}");
        set(
            dir,
            "rdma.max",
            &rdma_line(dev, r.hca_handles(), r.hca_objects()),
            &field,
        )?;
    }
    if let Some(rules) = rules {
        crate::bpf::apply(dir, &rules)?;
    }
    // Last, so explicit unified keys win over values converted above (as runc does).
    if let Some(u) = res.unified() {
        let mut keys: Vec<_> = u.iter().collect();
        keys.sort();
        for (k, v) in keys {
            let field = format!("unified.{k}");
            if k.contains('/') || k.starts_with('.') || k.is_empty() {
                return Err(Error::invalid(
                    field,
                    "must be a file name in the cgroup directory",
                ));
            }
            set(dir, k, v, &field)?;
        }
    }
    Ok(())
}

/// runc's memory.swap.max from the spec's memory+swap value (-1 = unlimited).
pub(crate) fn swap_max(swap: i64, limit: Option<i64>) -> Result<String> {
    if swap == -1 {
        return Ok("max".to_string());
    }
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return Err(Error::invalid(
            "memory.swap",
            "needs a positive memory.limit on cgroup v2 (swap is memory+swap)",
        ));
    };
    if swap < limit {
        return Err(Error::invalid(
            "memory.swap",
            format!("{swap} is below memory.limit {limit}; swap is memory+swap"),
        ));
    }
    Ok((swap - limit).to_string())
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

fn memory(dir: &Path, mem: &LinuxMemory) -> Result<()> {
    // 0 means "unset" for limit, swap and reservation, as in runc.
    let limit = mem.limit().filter(|v| *v != 0);
    let swap = mem.swap().filter(|v| *v != 0);
    if let Some(r) = mem.reservation().filter(|v| *v != 0) {
        set(dir, "memory.low", &max_or(r), "memory.reservation")?;
    }
    // Unlimited memory with swap unset means unlimited swap too, as runc does for v1 compat.
    let swap_v = match (swap, limit) {
        (Some(s), l) => Some(swap_max(s, l)?),
        (None, Some(-1)) if dir.join("memory.swap.max").exists() => Some("max".to_string()),
        _ => None,
    };
    // memory.max and memory.swap.max are independent in v2, so the order does not matter.
    if let Some(l) = limit {
        set(dir, "memory.max", &max_or(l), "memory.limit")?;
    }
    if let Some(s) = swap_v {
        set(dir, "memory.swap.max", &s, "memory.swap")?;
    }
    // linux.resources.memory.kernel: kernel memory limits are deprecated and have no v2
    // file; runc ignores the field, and so do we.
    if mem.kernel_tcp().is_some_and(|t| t != 0) {
        return Err(Error::unsupported("memory.kernelTCP"));
    }
    if mem.swappiness().is_some() {
        return Err(Error::unsupported("memory.swappiness"));
    }
    if mem.disable_oom_killer() == Some(true) {
        return Err(Error::invalid(
            "memory.disableOOMKiller",
            "cgroup v2 cannot disable the oom killer",
        ));
    }
    if mem.use_hierarchy() == Some(false) {
        return Err(Error::invalid(
            "memory.useHierarchy",
            "cgroup v2 is always hierarchical",
        ));
    }
    Ok(())
}

/// runc's cpu.shares (2..262144) -> cpu.weight (1..10000).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

fn cpu(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        set(
            dir,
            "cpu.weight",
            &shares_to_weight(s).to_string(),
            "cpu.shares",
        )?;
    }
    let quota = c.quota().filter(|q| *q != 0);
    let period = c.period().filter(|p| *p != 0);
    if quota.is_some() || period.is_some() {
        let field = if quota.is_some() {
            "cpu.quota"
        } else {
            "cpu.period"
        };
        let q = match quota {
            Some(q) if q > 0 => q.to_string(),
            Some(_) => "max".to_string(),
            // Period alone: keep the current quota instead of resetting it to "max".
            None => fs::read_opt(&dir.join("cpu.max"))?
                .and_then(|s| s.split_whitespace().next().map(str::to_string))
                .unwrap_or_else(|| "max".to_string()),
        };
        let v = match period {
            Some(p) => format!("{q} {p}"),
            None => q,
        };
        set(dir, "cpu.max", &v, field)?;
    }
    if let Some(b) = c.burst() {
        set(dir, "cpu.max.burst", &b.to_string(), "cpu.burst")?;
    }
    if c.realtime_runtime().is_some_and(|v| v != 0) {
        return Err(Error::unsupported("cpu.realtimeRuntime"));
    }
    if c.realtime_period().is_some_and(|v| v != 0) {
        return Err(Error::unsupported("cpu.realtimePeriod"));
    }
    if let Some(i) = c.idle() {
        set(dir, "cpu.idle", &i.to_string(), "cpu.idle")?;
    }
    if let Some(v) = c.cpus().as_deref().filter(|v| !v.is_empty()) {
        set(dir, "cpuset.cpus", v, "cpu.cpus")?;
    }
    if let Some(v) = c.mems().as_deref().filter(|v| !v.is_empty()) {
        set(dir, "cpuset.mems", v, "cpu.mems")?;
    }
    Ok(())
}

/// runc's blkio weight (10..1000) -> io.weight (1..10000).
pub(crate) fn blkio_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

fn io(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    // BFQ's io.bfq.weight takes the v1 range as is; io.weight needs the conversion.
    let bfq = dir.join("io.bfq.weight").exists();
    let weight = |w: u16| {
        if bfq {
            w.to_string()
        } else {
            blkio_to_io_weight(w).to_string()
        }
    };
    let wfile = if bfq { "io.bfq.weight" } else { "io.weight" };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        set(dir, wfile, &weight(w), "blockIO.weight")?;
    }
    if b.leaf_weight().is_some_and(|w| w != 0) {
        return Err(Error::unsupported("blockIO.leafWeight"));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let v = format!("{}:{} {}", d.major(), d.minor(), weight(w));
            set(dir, wfile, &v, "blockIO.weightDevice")?;
        }
        if d.leaf_weight().is_some() {
            return Err(Error::unsupported("blockIO.weightDevice.leafWeight"));
        }
    }
    let throttles = [
        (
            b.throttle_read_bps_device(),
            "rbps",
            "blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "wbps",
            "blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "riops",
            "blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "wiops",
            "blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (devs, key, field) in throttles {
        for d in devs.iter().flatten() {
            // v1 takes 0 as "no limit"; v2 spells that "max".
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            let v = format!("{}:{} {key}={rate}", d.major(), d.minor());
            set(dir, "io.max", &v, field)?;
        }
    }
    Ok(())
}
