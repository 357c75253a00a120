//! v1 usage counters, spread over the cpu, cpuacct, memory, pids, blkio and hugetlb
//! hierarchies. A controller that is not mounted leaves its part of the stats empty.

use std::path::Path;

use super::V1Manager;
use crate::error::Result;
use crate::fs::{self, read_u64};
use crate::stats::{self, BlkioEntry, MemoryEntry, Stats, Usage};

pub(super) fn stats(m: &V1Manager) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(d) = m.dir("cpuacct") {
        cpuacct(&d, &mut s)?;
    }
    if let Some(d) = m.dir("cpu") {
        let st = fs::read_flat_keyed(&d.join("cpu.stat"))?;
        let t = &mut s.cpu.throttling;
        t.periods = st.get("nr_periods").copied().unwrap_or(0);
        t.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        t.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(d) = m.dir("memory") {
        memory(&d, &mut s)?;
    }
    if let Some(d) = m.dir("pids") {
        s.pids.current = read_u64(&d.join("pids.current"))?;
        let max = read_u64(&d.join("pids.max"))?;
        s.pids.limit = if max == u64::MAX { 0 } else { max };
    }
    if let Some(d) = m.dir("blkio") {
        blkio(&d, &mut s)?;
    }
    if let Some(d) = m.dir("hugetlb") {
        for size in stats::hugetlb_sizes(&d, ".limit_in_bytes") {
            let f = |n: &str| read_u64(&d.join(format!("hugetlb.{size}.{n}")));
            let h = stats::Hugetlb {
                usage: f("usage_in_bytes")?,
                max: f("max_usage_in_bytes")?,
                failcnt: f("failcnt")?,
            };
            s.hugetlb.insert(size, h);
        }
    }
    Ok(s)
}

/// USER_HZ, the unit of cpuacct.stat.
fn clock_ticks() -> u64 {
    let t = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK);
    t.ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

fn cpuacct(d: &Path, s: &mut Stats) -> Result<()> {
    let u = &mut s.cpu.usage;
    u.total = read_u64(&d.join("cpuacct.usage"))?;
    let list = |name: &str| -> Result<Vec<u64>> {
        let p = d.join(name);
        Ok(match fs::read_opt(&p)? {
            Some(c) => fs::parse_u64_list(&p, &c)?,
            None => Vec::new(),
        })
    };
    u.percpu = list("cpuacct.usage_percpu")?;
    u.percpu_kernel = list("cpuacct.usage_percpu_sys")?;
    u.percpu_user = list("cpuacct.usage_percpu_user")?;
    // cpuacct.stat is in USER_HZ ticks; runc reports nanoseconds.
    let st = fs::read_flat_keyed(&d.join("cpuacct.stat"))?;
    let ns = 1_000_000_000 / clock_ticks();
    u.user = st.get("user").copied().unwrap_or(0) * ns;
    u.kernel = st.get("system").copied().unwrap_or(0) * ns;
    Ok(())
}

fn entry(d: &Path, prefix: &str) -> Result<MemoryEntry> {
    let f = |n: &str| read_u64(&d.join(format!("{prefix}.{n}")));
    Ok(MemoryEntry {
        limit: f("limit_in_bytes")?,
        usage: f("usage_in_bytes")?,
        max: f("max_usage_in_bytes")?,
        failcnt: f("failcnt")?,
    })
}

fn memory(d: &Path, s: &mut Stats) -> Result<()> {
    let mem = &mut s.memory;
    mem.usage = entry(d, "memory")?;
    mem.swap = entry(d, "memory.memsw")?;
    mem.kernel = entry(d, "memory.kmem")?;
    mem.kernel_tcp = entry(d, "memory.kmem.tcp")?;
    mem.raw = fs::read_flat_keyed(&d.join("memory.stat"))?;
    mem.cache = mem.raw.get("cache").copied().unwrap_or(0);
    Ok(())
}

/// Parse blkio "8:0 Read 4096" lines; "Total N" summary lines are dropped as runc does.
pub(crate) fn parse_blkio(path: &Path, s: &str) -> Result<Vec<BlkioEntry>> {
    let mut out = Vec::new();
    for line in s.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (dev, op, val) = match f.as_slice() {
            [dev, op, val] => (*dev, *op, *val),
            [dev, val] if dev.contains(':') => (*dev, "", *val),
            _ => continue,
        };
        let Some((maj, min)) = dev.split_once(':') else {
            continue;
        };
        out.push(BlkioEntry {
            major: fs::parse_u64(path, maj)?,
            minor: fs::parse_u64(path, min)?,
            op: op.to_string(),
            value: fs::parse_u64(path, val)?,
        });
    }
    Ok(out)
}

fn blkio(d: &Path, s: &mut Stats) -> Result<()> {
    let read = |name: &str| -> Result<Vec<BlkioEntry>> {
        let p = d.join(name);
        match fs::read_opt(&p)? {
            Some(c) => parse_blkio(&p, &c),
            None => Ok(Vec::new()),
        }
    };
    // CFQ files first, then BFQ, then the throttle counters every kernel has (runc's order).
    for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
        let bytes = read(&format!("{prefix}io_service_bytes_recursive"))?;
        let ios = read(&format!("{prefix}io_serviced_recursive"))?;
        if bytes.is_empty() && ios.is_empty() {
            continue;
        }
        s.blkio.io_service_bytes_recursive = bytes;
        s.blkio.io_serviced_recursive = ios;
        if prefix == "blkio." {
            s.blkio.io_queued_recursive = read("blkio.io_queued_recursive")?;
            s.blkio.io_service_time_recursive = read("blkio.io_service_time_recursive")?;
            s.blkio.io_wait_time_recursive = read("blkio.io_wait_time_recursive")?;
            s.blkio.io_merged_recursive = read("blkio.io_merged_recursive")?;
            s.blkio.io_time_recursive = read("blkio.time_recursive")?;
            s.blkio.sectors_recursive = read("blkio.sectors_recursive")?;
        }
        break;
    }
    Ok(())
}

/// cpuacct.usage: the cgroup's CPU time in nanoseconds.
pub(super) fn cpu_ns(m: &V1Manager) -> Result<u64> {
    match m.dir("cpuacct") {
        Some(d) => read_u64(&d.join("cpuacct.usage")),
        None => Ok(0),
    }
}

/// A stats row's counters from six files: cpuacct.usage, memory.usage_in_bytes,
/// memory.limit_in_bytes, memory.stat, the first blkio io_service_bytes_recursive with lines
/// (in [`stats`]' order) and pids.current.
pub(super) fn usage(m: &V1Manager) -> Result<Usage> {
    let mut u = Usage {
        cpu_ns: cpu_ns(m)?,
        ..Usage::default()
    };
    if let Some(d) = m.dir("memory") {
        u.memory = read_u64(&d.join("memory.usage_in_bytes"))?;
        u.memory_limit = read_u64(&d.join("memory.limit_in_bytes"))?;
        let st = fs::read_opt(&d.join("memory.stat"))?.unwrap_or_default();
        u.inactive_file = stats::flat_key(&st, "total_inactive_file").unwrap_or(0);
    }
    if let Some(d) = m.dir("pids") {
        u.pids = read_u64(&d.join("pids.current"))?;
    }
    if let Some(d) = m.dir("blkio") {
        for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
            let p = d.join(format!("{prefix}io_service_bytes_recursive"));
            let lines = match fs::read_opt(&p)? {
                Some(c) => parse_blkio(&p, &c)?,
                None => continue,
            };
            if lines.is_empty() {
                continue;
            }
            for e in &lines {
                u.add_blkio(&e.op, e.value);
            }
            break;
        }
    }
    Ok(u)
}
