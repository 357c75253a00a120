//! `linux.resources` as systemd unit properties, the ones systemd knows, as runc sets them.
//! The same resources are written through cgroupfs afterwards (systemd has no property for
//! most of them, and its values are rounded); these make systemd keep them on reload.
//!
//! Device rules are not sent: systemd's DeviceAllow takes paths and names that cannot say
//! every OCI rule, and a second, stricter filter of its own would deny what the container's
//! rules allow. The cgroupfs layer enforces them (the v2 BPF filter, v1 devices.*).

use oci_spec::runtime::LinuxResources;

use crate::CgroupVersion;

/// A property value, in the D-Bus type systemd declares for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `t`
    U64(u64),
    /// `b`
    Bool(bool),
    /// `s`
    Str(String),
    /// `ay` (a CPU or NUMA node mask)
    Bytes(Vec<u8>),
    /// `au` (PIDs)
    U32s(Vec<u32>),
}

pub type Prop = (&'static str, Value);

/// systemd's "infinity" for the `t` limits.
const INFINITY: u64 = u64::MAX;

/// The properties of a new transient unit: what it is, where, delegated to us, with `pid`
/// in it, plus the resources.
pub fn for_start(
    description: &str,
    slice: &str,
    pid: u32,
    is_scope: bool,
    version: CgroupVersion,
    res: Option<&LinuxResources>,
) -> Vec<Prop> {
    let mut p: Vec<Prop> = vec![
        ("Description", Value::Str(description.to_string())),
        // Not ordered against shutdown.target and friends: the container's life is ours.
        ("DefaultDependencies", Value::Bool(false)),
    ];
    // A slice's place comes from its name, and systemd refuses Slice (and Delegate) for one.
    if is_scope {
        p.push(("Slice", Value::Str(slice.to_string())));
        p.push(("Delegate", Value::Bool(true)));
    }
    p.extend([
        ("MemoryAccounting", Value::Bool(true)),
        ("CPUAccounting", Value::Bool(true)),
        ("TasksAccounting", Value::Bool(true)),
    ]);
    p.push(match version {
        CgroupVersion::V2 => ("IOAccounting", Value::Bool(true)),
        CgroupVersion::V1 => ("BlockIOAccounting", Value::Bool(true)),
    });
    if is_scope {
        p.push(("PIDs", Value::U32s(vec![pid])));
    }
    if let Some(res) = res {
        p.extend(resources(version, res));
    }
    p
}

/// The resource properties systemd knows, for a new unit or SetUnitProperties (update).
pub fn resources(version: CgroupVersion, res: &LinuxResources) -> Vec<Prop> {
    let v2 = version == CgroupVersion::V2;
    let mut p: Vec<Prop> = Vec::new();
    if let Some(m) = res.memory() {
        if let Some(limit) = m.limit() {
            let name = if v2 { "MemoryMax" } else { "MemoryLimit" };
            p.push((name, Value::U64(limit_or_infinity(limit))));
        }
        if v2 {
            if let Some(r) = m.reservation().filter(|r| *r > 0) {
                p.push(("MemoryLow", Value::U64(r as u64)));
            }
            // OCI's swap is memory+swap; systemd's MemorySwapMax is the swap alone.
            match (m.swap(), m.limit()) {
                (Some(-1), _) => p.push(("MemorySwapMax", Value::U64(INFINITY))),
                (Some(s), Some(l)) if s > 0 && l > 0 && s >= l => {
                    p.push(("MemorySwapMax", Value::U64((s - l) as u64)))
                }
                _ => {}
            }
        }
    }
    if let Some(c) = res.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s > 0) {
            if v2 {
                p.push(("CPUWeight", Value::U64(shares_to_weight(shares))));
            } else {
                p.push(("CPUShares", Value::U64(shares)));
            }
        }
        let period = c.period().filter(|p| *p > 0);
        if let (Some(per), true) = (period, v2) {
            p.push(("CPUQuotaPeriodUSec", Value::U64(per)));
        }
        match c.quota() {
            Some(q) if q > 0 => {
                let per = period.unwrap_or(100_000);
                p.push((
                    "CPUQuotaPerSecUSec",
                    Value::U64(quota_per_sec(q as u64, per)),
                ));
            }
            Some(-1) => p.push(("CPUQuotaPerSecUSec", Value::U64(INFINITY))),
            _ => {}
        }
        // Sent on v1 too, as runc does: systemd keeps them on the unit (and applies them
        // on v2 only); the cpuset files are written through cgroupfs either way.
        if let Some(mask) = c.cpus().as_deref().and_then(list_to_mask) {
            p.push(("AllowedCPUs", Value::Bytes(mask)));
        }
        if let Some(mask) = c.mems().as_deref().and_then(list_to_mask) {
            p.push(("AllowedMemoryNodes", Value::Bytes(mask)));
        }
    }
    if let Some(pids) = res.pids() {
        let max = if pids.limit() > 0 {
            pids.limit() as u64
        } else {
            INFINITY
        };
        p.push(("TasksMax", Value::U64(max)));
    }
    if let Some(w) = res.block_io().as_ref().and_then(|b| b.weight()) {
        if w > 0 {
            if v2 {
                p.push(("IOWeight", Value::U64(blkio_to_io_weight(w.into()))));
            } else {
                p.push(("BlockIOWeight", Value::U64(w.into())));
            }
        }
    }
    p
}

fn limit_or_infinity(v: i64) -> u64 {
    if v > 0 {
        v as u64
    } else {
        INFINITY
    }
}

/// cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000), the kernel's and runc's map.
pub fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// blkio.weight (10..1000) to io.weight (1..10000), runc's map.
pub fn blkio_to_io_weight(w: u64) -> u64 {
    let w = w.clamp(10, 1000);
    1 + ((w - 10) * 9999) / 990
}

/// quota/period as systemd's per-second quota, rounded up to its 10 ms granularity (as runc
/// does: rounding down would give the container less than it asked for).
pub fn quota_per_sec(quota: u64, period: u64) -> u64 {
    let per_sec = quota.saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// A cpuset list ("0-2,4") as systemd's mask: byte i bit j is CPU (or node) 8*i+j. None for
/// a list it cannot parse (the cgroupfs write reports that one, naming the field).
pub fn list_to_mask(list: &str) -> Option<Vec<u8>> {
    let mut mask = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let a = part.parse::<usize>().ok()?;
                (a, a)
            }
        };
        if a > b || b >= 8192 {
            return None;
        }
        for i in a..=b {
            if mask.len() <= i / 8 {
                mask.resize(i / 8 + 1, 0);
            }
            mask[i / 8] |= 1 << (i % 8);
        }
    }
    (!mask.is_empty()).then_some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn get<'a>(p: &'a [Prop], name: &str) -> Option<&'a Value> {
        p.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(quota_per_sec(50_000, 100_000), 500_000);
        assert_eq!(quota_per_sec(12_345, 100_000), 130_000);
        assert_eq!(list_to_mask("0-2,9"), Some(vec![0b111, 0b10]));
        assert_eq!(list_to_mask("x"), None);
    }

    #[test]
    fn v2_resources() {
        let r = res(
            r#"{"memory":{"limit":67108864,"reservation":1048576,"swap":134217728},
            "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0"},
            "pids":{"limit":42},"blockIO":{"weight":500}}"#,
        );
        let p = for_start("d", "system.slice", 7, true, CgroupVersion::V2, Some(&r));
        assert_eq!(get(&p, "PIDs"), Some(&Value::U32s(vec![7])));
        assert_eq!(get(&p, "Delegate"), Some(&Value::Bool(true)));
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(get(&p, "MemoryLow"), Some(&Value::U64(1 << 20)));
        assert_eq!(get(&p, "MemorySwapMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(get(&p, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(get(&p, "AllowedCPUs"), Some(&Value::Bytes(vec![1])));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(42)));
        assert_eq!(get(&p, "IOWeight"), Some(&Value::U64(4950)));
        assert_eq!(get(&p, "MemoryLimit"), None);
    }

    #[test]
    fn v1_uses_the_legacy_names() {
        let r = res(
            r#"{"memory":{"limit":-1},"cpu":{"shares":512,"cpus":"1"},"blockIO":{"weight":100}}"#,
        );
        let p = resources(CgroupVersion::V1, &r);
        assert_eq!(get(&p, "MemoryLimit"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUShares"), Some(&Value::U64(512)));
        assert_eq!(get(&p, "BlockIOWeight"), Some(&Value::U64(100)));
        assert_eq!(get(&p, "AllowedCPUs"), Some(&Value::Bytes(vec![2])));
        assert_eq!(get(&p, "MemoryMax"), None);
        assert_eq!(get(&p, "CPUWeight"), None);
    }
}
