//! Resource usage in the JSON shape of runc's `types.Stats` (the `data` object printed by
//! `runc events --stats`), so tools that parse runc's output parse ours. Go's `omitempty` on
//! numbers and slices maps to `skip_serializing_if`; Go always prints nested structs.

use std::collections::BTreeMap;

use serde::Serialize;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Everything `stats()` reports.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    /// Keyed by page size as the kernel names it in file names ("2MB", "1GB").
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// CPU time, all in nanoseconds.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    /// v1: memory.memsw.* (memory+swap). v2: memory.swap.* plus memory.* so the meaning
    /// matches v1, as runc reports it.
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// memory.stat as is.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 when unlimited ("max"), as runc reports it.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "ioQueueRecursive")]
    pub io_queued_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_merged_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// Page sizes for which `dir` has a hugetlb file ending in `suffix`
/// ("hugetlb.2MB.limit_in_bytes" -> "2MB"); sorted.
pub(crate) fn hugetlb_sizes(dir: &std::path::Path, suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix("hugetlb.")?;
            let size = rest.strip_suffix(suffix)?;
            (!size.contains('.')).then(|| size.to_string())
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_matches_runc() {
        let mut s = Stats::default();
        s.cpu.usage.total = 5;
        s.cpu.usage.percpu = vec![2, 3];
        s.memory.usage.limit = 10;
        s.pids.current = 1;
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cpu"]["usage"]["total"], 5);
        assert_eq!(v["cpu"]["usage"]["percpu"][1], 3);
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert!(v["cpu"]["throttling"].as_object().unwrap().is_empty());
        assert_eq!(v["memory"]["usage"]["limit"], 10);
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert!(v["memory"]["kernelTCP"].is_object());
        assert!(v["memory"].get("raw").is_none());
        assert_eq!(v["pids"]["current"], 1);
        assert!(v["pids"].get("limit").is_none());
        assert!(v["blkio"].as_object().unwrap().is_empty());
        assert!(v["hugetlb"].as_object().unwrap().is_empty());
    }
}

/// The counters a `docker stats` row shows, read from the few files that hold them
/// ([`crate::Manager::usage`]); [`Stats`] is everything, read from a few dozen files.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// CPU time, nanoseconds.
    pub cpu_ns: u64,
    /// Memory charged to the cgroup (v1 memory.usage_in_bytes, v2 memory.current).
    pub memory: u64,
    /// Its limit (u64::MAX or the kernel's "unlimited" value when none is set).
    pub memory_limit: u64,
    /// Inactive page cache: memory.stat's total_inactive_file (v1) or inactive_file (v2).
    pub inactive_file: u64,
    /// Block I/O bytes read and written, all devices.
    pub blk_read: u64,
    pub blk_write: u64,
    /// Tasks in the cgroup.
    pub pids: u64,
}

impl Usage {
    /// The same figures from a full [`Stats`] (for managers without a cheaper reading).
    pub fn of(s: &Stats) -> Usage {
        let raw = &s.memory.raw;
        let mut u = Usage {
            cpu_ns: s.cpu.usage.total,
            memory: s.memory.usage.usage,
            memory_limit: s.memory.usage.limit,
            inactive_file: raw
                .get("total_inactive_file")
                .or_else(|| raw.get("inactive_file"))
                .copied()
                .unwrap_or(0),
            pids: s.pids.current,
            ..Usage::default()
        };
        for e in &s.blkio.io_service_bytes_recursive {
            u.add_blkio(&e.op, e.value);
        }
        u
    }

    /// Counts one blkio line: "Read" and "Write" (any case); others (Sync, Total...) not.
    pub(crate) fn add_blkio(&mut self, op: &str, value: u64) {
        if op.eq_ignore_ascii_case("read") {
            self.blk_read += value;
        } else if op.eq_ignore_ascii_case("write") {
            self.blk_write += value;
        }
    }
}

/// The value of `key` in a flat keyed file's text ("key value" lines), without building a
/// map of the others (memory.stat has ~40 lines, of which a stats row needs one).
pub(crate) fn flat_key(s: &str, key: &str) -> Option<u64> {
    s.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}
