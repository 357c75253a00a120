//! linux.resources -> v1 files. Only fields present in the spec are written; a field whose
//! controller or file the kernel lacks is an error naming the field.

use std::path::PathBuf;

use nix::errno::Errno;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::V1Manager;
use crate::error::{Error, Result};
use crate::fs::{self, set};

pub(super) fn apply(m: &V1Manager, res: &LinuxResources) -> Result<()> {
    if res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(Error::invalid(
            "unified",
            "needs cgroup v2, this host runs cgroup v1",
        ));
    }
    // Validate device rules before writing anything.
    let rules = match res.devices() {
        Some(d) => Some(crate::devices::rules(d)?),
        None => None,
    };
    if let Some(mem) = res.memory() {
        memory(m, mem)?;
    }
    if let Some(cpu) = res.cpu() {
        self::cpu(m, cpu)?;
    }
    // 0 leaves the limit as it is (runc's update and create alike); -1 is unlimited.
    if let Some(p) = res.pids().filter(|p| p.limit() != 0) {
        let dir = ctl(m, "pids", "pids.limit")?;
        let v = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".to_string()
        };
        set(&dir, "pids.max", &v, "pids.limit")?;
    }
    if let Some(b) = res.block_io() {
        blkio(m, b)?;
    }
    for h in res.hugepage_limits().iter().flatten() {
        let field = format!("hugepageLimits[{}]", h.page_size());
        let size = page_size(h.page_size(), &field)?;
        let dir = ctl(m, "hugetlb", &field)?;
        let file = format!("hugetlb.{size}.limit_in_bytes");
        set(&dir, &file, &h.limit().to_string(), &field)?;
    }
    if let Some(net) = res.network() {
        if let Some(id) = net.class_id() {
            let dir = ctl(m, "net_cls", "network.classID")?;
            set(&dir, "net_cls.classid", &id.to_string(), "network.classID")?;
        }
        for p in net.priorities().iter().flatten() {
            let dir = ctl(m, "net_prio", "network.priorities")?;
            let v = format!("{} {}", p.name(), p.priority());
            set(&dir, "net_prio.ifpriomap", &v, "network.priorities")?;
        }
    }
    for (dev, r) in res.rdma().iter().flatten() {
        let field = format!("rdma.{dev}");
        let dir = ctl(m, "rdma", &field)?;
        set(
            &dir,
            "rdma.max",
            &rdma_line(dev, r.hca_handles(), r.hca_objects()),
            &field,
        )?;
    }
    if let Some(rules) = rules {
        // As runc: start from "deny everything", then replay the rules in order; the kernel
        // keeps the v1 list itself, so later rules override earlier ones.
        let dir = ctl(m, "devices", "devices")?;
        set(&dir, "devices.deny", "a", "devices")?;
        for r in &rules {
            let file = if r.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            set(&dir, file, &r.v1_line(), "devices")?;
        }
    }
    Ok(())
}

/// The controller's directory, or "not supported" naming `field` when it is not mounted.
fn ctl(m: &V1Manager, controller: &str, field: &str) -> Result<PathBuf> {
    m.dir(controller).ok_or_else(|| Error::unsupported(field))
}

pub(crate) fn rdma_line(dev: &str, handles: Option<u32>, objects: Option<u32>) -> String {
    let mut s = dev.to_string();
    if let Some(h) = handles {
        s += &format!(" hca_handle={h}");
    }
    if let Some(o) = objects {
        s += &format!(" hca_object={o}");
    }
    s
}

/// Validate a hugepage size as used in file names ("2MB", "1GB", "64KB").
pub(crate) fn page_size<'a>(s: &'a str, field: &str) -> Result<&'a str> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !["KB", "MB", "GB"].contains(&unit)
    {
        return Err(Error::invalid(
            field,
            format!("page size {s:?} is not like \"2MB\""),
        ));
    }
    Ok(s)
}

fn memory(m: &V1Manager, mem: &LinuxMemory) -> Result<()> {
    let need = |field: &str| ctl(m, "memory", field);
    // 0 means "unset" for these three, as in runc (writing 0 would mean "no memory at all").
    let limit = mem.limit().filter(|v| *v != 0);
    let swap = mem.swap().filter(|v| *v != 0);
    if let Some(r) = mem.reservation().filter(|v| *v != 0) {
        set(
            &need("memory.reservation")?,
            "memory.soft_limit_in_bytes",
            &r.to_string(),
            "memory.reservation",
        )?;
    }
    let set_limit = |v: i64| {
        set(
            &need("memory.limit")?,
            "memory.limit_in_bytes",
            &v.to_string(),
            "memory.limit",
        )
    };
    // memory.memsw.limit_in_bytes is memory+swap, the spec's own meaning of "swap".
    let set_swap = |v: i64| {
        set(
            &need("memory.swap")?,
            "memory.memsw.limit_in_bytes",
            &v.to_string(),
            "memory.swap",
        )
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            if s != -1 && l != -1 && s < l {
                return Err(Error::invalid(
                    "memory.swap",
                    format!("{s} is below memory.limit {l}; swap is memory+swap"),
                ));
            }
            // The kernel keeps memsw >= limit at every step: raising both means memsw first,
            // lowering both means limit first.
            let dir = need("memory.limit")?;
            let cur = fs::read_u64(&dir.join("memory.limit_in_bytes"))?;
            let raising = l == -1 || s == -1 || cur < l.unsigned_abs();
            if raising {
                set_swap(s)?;
                set_limit(l)?;
            } else {
                set_limit(l)?;
                set_swap(s)?;
            }
        }
        (Some(l), None) => set_limit(l)?,
        (None, Some(s)) => set_swap(s)?,
        (None, None) => {}
    }
    // linux.resources.memory.kernel: kernel memory limits (memory.kmem.limit_in_bytes) are
    // deprecated and gone from new kernels; runc ignores the field, and so do we.
    if let Some(t) = mem.kernel_tcp().filter(|t| *t != 0) {
        set(
            &need("memory.kernelTCP")?,
            "memory.kmem.tcp.limit_in_bytes",
            &t.to_string(),
            "memory.kernelTCP",
        )?;
    }
    if let Some(s) = mem.swappiness() {
        if s > 100 {
            return Err(Error::invalid(
                "memory.swappiness",
                format!("{s} is above 100"),
            ));
        }
        set(
            &need("memory.swappiness")?,
            "memory.swappiness",
            &s.to_string(),
            "memory.swappiness",
        )?;
    }
    if mem.disable_oom_killer() == Some(true) {
        set(
            &need("memory.disableOOMKiller")?,
            "memory.oom_control",
            "1",
            "memory.disableOOMKiller",
        )?;
    }
    if let Some(h) = mem.use_hierarchy() {
        let v = if h { "1" } else { "0" };
        set(
            &need("memory.useHierarchy")?,
            "memory.use_hierarchy",
            v,
            "memory.useHierarchy",
        )?;
    }
    Ok(())
}

/// Write `first` then `second`; if `first` is refused with EINVAL (the pair is checked
/// against the other's current value), write them the other way round.
fn pair(
    dir: &std::path::Path,
    first: (&str, String, &str),
    second: Option<(&str, String, &str)>,
) -> Result<()> {
    match set(dir, first.0, &first.1, first.2) {
        Err(Error::Write {
            errno: Errno::EINVAL,
            ..
        }) if second.is_some() => {
            let s = second.as_ref().map(|s| (s.0, s.1.as_str(), s.2));
            if let Some((f, v, field)) = s {
                set(dir, f, v, field)?;
            }
            set(dir, first.0, &first.1, first.2)
        }
        Err(e) => Err(e),
        Ok(()) => match second {
            Some((f, v, field)) => set(dir, f, &v, field),
            None => Ok(()),
        },
    }
}

fn cpu(m: &V1Manager, cpu: &LinuxCpu) -> Result<()> {
    let need = |field: &str| ctl(m, "cpu", field);
    if let Some(s) = cpu.shares().filter(|s| *s != 0) {
        set(
            &need("cpu.shares")?,
            "cpu.shares",
            &s.to_string(),
            "cpu.shares",
        )?;
    }
    let period = cpu.period().filter(|p| *p != 0);
    let quota = cpu.quota().filter(|q| *q != 0);
    if period.is_some() || quota.is_some() {
        let dir = need("cpu.period")?;
        let p = period.map(|p| ("cpu.cfs_period_us", p.to_string(), "cpu.period"));
        let q = quota.map(|q| ("cpu.cfs_quota_us", q.to_string(), "cpu.quota"));
        match (p, q) {
            (Some(p), q) => pair(&dir, p, q)?,
            (None, Some(q)) => pair(&dir, q, None)?,
            (None, None) => {}
        }
    }
    if let Some(b) = cpu.burst() {
        set(
            &need("cpu.burst")?,
            "cpu.cfs_burst_us",
            &b.to_string(),
            "cpu.burst",
        )?;
    }
    let rt_period = cpu.realtime_period().filter(|p| *p != 0);
    let rt_runtime = cpu.realtime_runtime().filter(|r| *r != 0);
    if rt_period.is_some() || rt_runtime.is_some() {
        let dir = need("cpu.realtimePeriod")?;
        let p = rt_period.map(|p| ("cpu.rt_period_us", p.to_string(), "cpu.realtimePeriod"));
        let r = rt_runtime.map(|r| ("cpu.rt_runtime_us", r.to_string(), "cpu.realtimeRuntime"));
        match (p, r) {
            (Some(p), r) => pair(&dir, p, r)?,
            (None, Some(r)) => pair(&dir, r, None)?,
            (None, None) => {}
        }
    }
    if let Some(i) = cpu.idle() {
        set(&need("cpu.idle")?, "cpu.idle", &i.to_string(), "cpu.idle")?;
    }
    if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        set(&ctl(m, "cpuset", "cpu.cpus")?, "cpuset.cpus", c, "cpu.cpus")?;
    }
    if let Some(c) = cpu.mems().as_deref().filter(|c| !c.is_empty()) {
        set(&ctl(m, "cpuset", "cpu.mems")?, "cpuset.mems", c, "cpu.mems")?;
    }
    Ok(())
}

fn blkio(m: &V1Manager, b: &LinuxBlockIo) -> Result<()> {
    let need = |field: &str| ctl(m, "blkio", field);
    // runc treats a zero weight and leaf weight as unset, and docker always sends
    // `weight: 0` (the kernel answers ERANGE to a 0 written to either file).
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let dir = need("blockIO.weight")?;
        // CFQ is gone from new kernels; BFQ exposes the same knob under its own name.
        let file = if dir.join("blkio.weight").exists() {
            "blkio.weight"
        } else {
            "blkio.bfq.weight"
        };
        set(&dir, file, &w.to_string(), "blockIO.weight")?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        set(
            &need("blockIO.leafWeight")?,
            "blkio.leaf_weight",
            &w.to_string(),
            "blockIO.leafWeight",
        )?;
    }
    for d in b.weight_device().iter().flatten() {
        let dir = need("blockIO.weightDevice")?;
        if let Some(w) = d.weight() {
            let file = if dir.join("blkio.weight_device").exists() {
                "blkio.weight_device"
            } else {
                "blkio.bfq.weight_device"
            };
            let v = format!("{}:{} {w}", d.major(), d.minor());
            set(&dir, file, &v, "blockIO.weightDevice")?;
        }
        if let Some(w) = d.leaf_weight() {
            let v = format!("{}:{} {w}", d.major(), d.minor());
            set(
                &dir,
                "blkio.leaf_weight_device",
                &v,
                "blockIO.weightDevice.leafWeight",
            )?;
        }
    }
    let throttles = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (devs, file, field) in throttles {
        for d in devs.iter().flatten() {
            let v = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            set(&need(field)?, file, &v, field)?;
        }
    }
    Ok(())
}
