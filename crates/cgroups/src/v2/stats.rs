//! v2 usage counters from cpu.stat, memory.*, pids.*, io.stat and hugetlb.*.

use std::path::Path;

use crate::error::Result;
use crate::fs::{self, read_u64};
use crate::stats::{self, BlkioEntry, Stats, Usage};

pub(super) fn stats(dir: &Path) -> Result<Stats> {
    let mut s = Stats::default();
    let cpu = fs::read_flat_keyed(&dir.join("cpu.stat"))?;
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
    s.cpu.usage.total = us("usage_usec");
    s.cpu.usage.user = us("user_usec");
    s.cpu.usage.kernel = us("system_usec");
    s.cpu.throttling.periods = cpu.get("nr_periods").copied().unwrap_or(0);
    s.cpu.throttling.throttled_periods = cpu.get("nr_throttled").copied().unwrap_or(0);
    s.cpu.throttling.throttled_time = us("throttled_usec");

    let m = &mut s.memory;
    m.usage.usage = read_u64(&dir.join("memory.current"))?;
    m.usage.limit = read_u64(&dir.join("memory.max"))?;
    m.usage.max = read_u64(&dir.join("memory.peak"))?;
    let events = fs::read_flat_keyed(&dir.join("memory.events"))?;
    m.usage.failcnt = events.get("max").copied().unwrap_or(0);
    // Report swap as memory+swap, v1's memsw meaning, as runc does.
    if dir.join("memory.swap.current").exists() {
        let cur = read_u64(&dir.join("memory.swap.current"))?;
        let max = read_u64(&dir.join("memory.swap.max"))?;
        m.swap.usage = cur.saturating_add(m.usage.usage);
        m.swap.limit = max.saturating_add(m.usage.limit);
        m.swap.max = read_u64(&dir.join("memory.swap.peak"))?;
        let sev = fs::read_flat_keyed(&dir.join("memory.swap.events"))?;
        m.swap.failcnt = sev.get("max").copied().unwrap_or(0);
    }
    m.raw = fs::read_flat_keyed(&dir.join("memory.stat"))?;
    m.cache = m.raw.get("file").copied().unwrap_or(0);

    s.pids.current = read_u64(&dir.join("pids.current"))?;
    let max = read_u64(&dir.join("pids.max"))?;
    s.pids.limit = if max == u64::MAX { 0 } else { max };

    let io = dir.join("io.stat");
    if let Some(c) = fs::read_opt(&io)? {
        let (bytes, ios) = parse_io_stat(&io, &c)?;
        s.blkio.io_service_bytes_recursive = bytes;
        s.blkio.io_serviced_recursive = ios;
    }

    for size in stats::hugetlb_sizes(dir, ".max") {
        let f = |n: &str| dir.join(format!("hugetlb.{size}.{n}"));
        let ev = fs::read_flat_keyed(&f("events"))?;
        let h = stats::Hugetlb {
            usage: read_u64(&f("current"))?,
            max: 0,
            failcnt: ev.get("max").copied().unwrap_or(0),
        };
        s.hugetlb.insert(size, h);
    }
    Ok(s)
}

/// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device, into runc's
/// v1-shaped (bytes, ios) lists with ops "Read" and "Write".
pub(crate) fn parse_io_stat(path: &Path, s: &str) -> Result<(Vec<BlkioEntry>, Vec<BlkioEntry>)> {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for line in s.lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (major, minor) = (fs::parse_u64(path, maj)?, fs::parse_u64(path, min)?);
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: fs::parse_u64(path, v)?,
            });
        }
    }
    Ok((bytes, ios))
}

/// cpu.stat's usage_usec, in nanoseconds.
pub(super) fn cpu_ns(dir: &Path) -> Result<u64> {
    let st = fs::read_opt(&dir.join("cpu.stat"))?.unwrap_or_default();
    Ok(stats::flat_key(&st, "usage_usec")
        .unwrap_or(0)
        .saturating_mul(1000))
}

/// A stats row's counters from six files: cpu.stat, memory.current, memory.max,
/// memory.stat, pids.current and io.stat.
pub(super) fn usage(dir: &Path) -> Result<Usage> {
    let mut u = Usage {
        cpu_ns: cpu_ns(dir)?,
        memory: read_u64(&dir.join("memory.current"))?,
        memory_limit: read_u64(&dir.join("memory.max"))?,
        pids: read_u64(&dir.join("pids.current"))?,
        ..Usage::default()
    };
    let st = fs::read_opt(&dir.join("memory.stat"))?.unwrap_or_default();
    u.inactive_file = stats::flat_key(&st, "inactive_file").unwrap_or(0);
    let io = dir.join("io.stat");
    if let Some(c) = fs::read_opt(&io)? {
        for e in parse_io_stat(&io, &c)?.0 {
            u.add_blkio(&e.op, e.value);
        }
    }
    Ok(u)
}
