//! v1 against a fake tree: root/<controllers>/... as mounted hierarchies.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::testutil::{get, put, res, touch};
use crate::{manager_at, CgroupVersion, Manager};

const HIERARCHIES: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
];

fn fake() -> (TempDir, Box<dyn Manager>) {
    let t = TempDir::new().unwrap();
    for h in HIERARCHIES {
        std::fs::create_dir(t.path().join(h)).unwrap();
    }
    put(&t.path().join("cpuset/cpuset.cpus"), "0-3\n");
    put(&t.path().join("cpuset/cpuset.mems"), "0\n");
    let m = manager_at(t.path(), CgroupVersion::V1, Some("/pod/ctr"), "x").unwrap();
    m.create().unwrap();
    (t, m)
}

fn leaf(t: &TempDir, h: &str) -> PathBuf {
    t.path().join(h).join("pod/ctr")
}

#[test]
fn create_copies_cpuset_into_every_new_level() {
    let (t, m) = fake();
    assert_eq!(m.path(), Path::new("pod/ctr"));
    for h in HIERARCHIES {
        assert!(leaf(&t, h).is_dir(), "{h}");
    }
    for d in ["cpuset/pod", "cpuset/pod/ctr"] {
        assert_eq!(get(&t.path().join(d).join("cpuset.cpus")), "0-3");
        assert_eq!(get(&t.path().join(d).join("cpuset.mems")), "0");
    }
}

#[test]
fn mountinfo_handles_split_and_comounted_cpu() {
    let split = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                 33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n\
                 40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n\
                 41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
    let h = super::parse_mountinfo(split);
    assert_eq!(h.len(), 4);
    assert!(
        h[3].controllers.is_empty(),
        "the unified hierarchy, joined on a hybrid host"
    );
    assert_eq!(h[3].mount, Path::new("/sys/fs/cgroup/unified"));
    assert_eq!(h[0].controllers, ["cpu"]);
    assert_eq!(h[1].mount, Path::new("/sys/fs/cgroup/cpuacct"));
    assert_eq!(h[2].controllers, ["name=systemd"]);
    let co = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
    let h = super::parse_mountinfo(co);
    assert_eq!(h[0].controllers, ["cpu", "cpuacct"]);
}

#[test]
fn apply_writes_converted_values() {
    let (t, m) = fake();
    put(
        &leaf(&t, "memory").join("memory.limit_in_bytes"),
        "9223372036854771712\n",
    );
    touch(
        &leaf(&t, "memory"),
        &[
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
        ],
    );
    touch(
        &leaf(&t, "cpu"),
        &[
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.idle",
        ],
    );
    touch(&leaf(&t, "pids"), &["pids.max"]);
    touch(
        &leaf(&t, "blkio"),
        &["blkio.bfq.weight", "blkio.throttle.read_bps_device"],
    );
    touch(&leaf(&t, "devices"), &["devices.allow", "devices.deny"]);
    m.apply(&res(r#"{
        "memory": {"limit": 104857600, "swap": 209715200, "reservation": 52428800,
                   "swappiness": 10, "disableOOMKiller": true, "kernel": 1000},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "1", "mems": "0", "idle": 1},
        "pids": {"limit": -1},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "devices": [{"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    }"#))
    .unwrap();
    let mem = leaf(&t, "memory");
    assert_eq!(get(&mem.join("memory.limit_in_bytes")), "104857600");
    assert_eq!(get(&mem.join("memory.memsw.limit_in_bytes")), "209715200");
    assert_eq!(get(&mem.join("memory.soft_limit_in_bytes")), "52428800");
    assert_eq!(get(&mem.join("memory.swappiness")), "10");
    assert_eq!(get(&mem.join("memory.oom_control")), "1");
    let cpu = leaf(&t, "cpu");
    assert_eq!(get(&cpu.join("cpu.shares")), "512");
    assert_eq!(get(&cpu.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(get(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(get(&cpu.join("cpu.idle")), "1");
    assert_eq!(get(&leaf(&t, "cpuset").join("cpuset.cpus")), "1");
    assert_eq!(get(&leaf(&t, "pids").join("pids.max")), "max");
    assert_eq!(get(&leaf(&t, "blkio").join("blkio.bfq.weight")), "500");
    assert_eq!(
        get(&leaf(&t, "blkio").join("blkio.throttle.read_bps_device")),
        "8:0 1048576"
    );
    assert_eq!(get(&leaf(&t, "devices").join("devices.deny")), "a");
    assert_eq!(get(&leaf(&t, "devices").join("devices.allow")), "c 1:3 rwm");
}

#[test]
fn errors_name_the_field_or_file() {
    let (t, m) = fake();
    touch(&leaf(&t, "memory"), &["memory.limit_in_bytes"]);
    let e = m
        .apply(&res(r#"{"memory": {"kernelTCP": 1000}}"#))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "linux.resources.memory.kernelTCP: not supported by this kernel"
    );
    let e = m
        .apply(&res(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}"#,
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "linux.resources.hugepageLimits[2MB]: not supported by this kernel"
    );
    let e = m
        .apply(&res(r#"{"unified": {"memory.high": "1"}}"#))
        .unwrap_err();
    assert!(
        e.to_string().starts_with("linux.resources.unified: "),
        "{e}"
    );
    let e = m.apply(&res(r#"{"network": {"classID": 1}}"#)).unwrap_err();
    assert!(e.to_string().contains("network.classID"), "{e}");
    let e = m
        .apply(&res(r#"{"memory": {"limit": 200, "swap": 100}}"#))
        .unwrap_err();
    assert!(
        e.to_string().starts_with("linux.resources.memory.swap: "),
        "{e}"
    );
    // A kernel write failure names the value and the file.
    std::fs::create_dir(leaf(&t, "pids").join("pids.max")).unwrap();
    let e = m.apply(&res(r#"{"pids": {"limit": 5}}"#)).unwrap_err();
    let want = format!(
        "write 5 to {}: EISDIR",
        leaf(&t, "pids").join("pids.max").display()
    );
    assert_eq!(e.to_string(), want);
}

#[test]
fn freezer_pids_and_stats() {
    let (t, m) = fake();
    put(&leaf(&t, "freezer").join("freezer.state"), "THAWED\n");
    assert!(!m.is_frozen().unwrap());
    m.freeze().unwrap();
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert!(!m.is_frozen().unwrap());

    put(&leaf(&t, "freezer").join("cgroup.procs"), "12\n34\n");
    put(&leaf(&t, "freezer").join("sub/cgroup.procs"), "56\n");
    assert_eq!(m.pids().unwrap(), [12, 34, 56]);

    let acct = leaf(&t, "cpuacct");
    put(&acct.join("cpuacct.usage"), "3000\n");
    put(&acct.join("cpuacct.usage_percpu"), "1000 2000 \n");
    put(&acct.join("cpuacct.stat"), "user 3\nsystem 1\n");
    put(
        &leaf(&t, "cpu").join("cpu.stat"),
        "nr_periods 10\nnr_throttled 2\nthrottled_time 500\n",
    );
    let mem = leaf(&t, "memory");
    put(&mem.join("memory.usage_in_bytes"), "4096\n");
    put(&mem.join("memory.limit_in_bytes"), "104857600\n");
    put(&mem.join("memory.max_usage_in_bytes"), "8192\n");
    put(&mem.join("memory.failcnt"), "1\n");
    put(&mem.join("memory.stat"), "cache 100\nrss 200\n");
    put(
        &mem.join("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    );
    put(&leaf(&t, "pids").join("pids.current"), "2\n");
    put(&leaf(&t, "pids").join("pids.max"), "max\n");
    put(
        &leaf(&t, "blkio").join("blkio.throttle.io_service_bytes_recursive"),
        "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
    );
    let s = m.stats().unwrap();
    assert_eq!(s.cpu.usage.total, 3000);
    assert_eq!(s.cpu.usage.percpu, [1000, 2000]);
    assert!(s.cpu.usage.user > 0 && s.cpu.usage.kernel > 0);
    assert_eq!(s.cpu.throttling.throttled_periods, 2);
    assert_eq!(s.memory.usage.usage, 4096);
    assert_eq!(s.memory.usage.max, 8192);
    assert_eq!(s.memory.cache, 100);
    assert_eq!(s.memory.raw["rss"], 200);
    assert_eq!(s.pids.current, 2);
    assert_eq!(s.pids.limit, 0);
    assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
    assert_eq!(s.blkio.io_service_bytes_recursive[0].op, "Read");
    assert_eq!(m.oom_kill_count().unwrap(), 3);
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["memory"]["usage"]["limit"], 104857600);
    assert_eq!(v["blkio"]["ioServiceBytesRecursive"][0]["value"], 4096);

    // A stats row's reading from its six files agrees with the full one: BFQ's empty file
    // (as on this kernel) is passed over for the throttle counters, as stats() does.
    put(
        &mem.join("memory.stat"),
        "cache 100\nrss 200\ntotal_inactive_file 64\n",
    );
    put(
        &leaf(&t, "blkio").join("blkio.bfq.io_service_bytes_recursive"),
        "Total 0\n",
    );
    let s = m.stats().unwrap();
    let u = m.usage().unwrap();
    assert_eq!(u, crate::Usage::of(&s));
    assert_eq!(
        (u.cpu_ns, u.memory, u.memory_limit, u.inactive_file),
        (3000, 4096, 104857600, 64)
    );
    assert_eq!((u.blk_read, u.blk_write, u.pids), (4096, 0, 2));
    assert_eq!(m.cpu_ns().unwrap(), 3000);
}

#[test]
fn destroy_of_missing_cgroup_is_ok() {
    let t = TempDir::new().unwrap();
    std::fs::create_dir(t.path().join("pids")).unwrap();
    let m = manager_at(t.path(), CgroupVersion::V1, None, "gone").unwrap();
    m.destroy().unwrap();
}

/// An empty cgroup is removed without being frozen (each freeze and thaw flips a
/// kernel-wide static key): its freezer.state is never written.
#[test]
fn destroy_of_an_empty_cgroup_does_not_freeze_it() {
    let (t, m) = fake();
    let state = leaf(&t, "freezer").join("freezer.state");
    put(&state, "untouched\n");
    put(&leaf(&t, "freezer").join("cgroup.procs"), "");
    // The fake directories hold files, so their removal fails; the freezer is what counts.
    let _ = m.destroy();
    assert_eq!(get(&state), "untouched\n");
}

/// docker sends `blockIO.weight: 0` with every container: runc leaves the weight alone, and
/// the kernel refuses a 0 (ERANGE), so no write must reach the file.
#[test]
fn a_zero_blkio_weight_is_unset() {
    let (t, m) = fake();
    touch(
        &leaf(&t, "blkio"),
        &["blkio.bfq.weight", "blkio.leaf_weight"],
    );
    put(&leaf(&t, "blkio").join("blkio.bfq.weight"), "100");
    m.apply(&res(r#"{"blockIO": {"weight": 0, "leafWeight": 0}}"#))
        .unwrap();
    assert_eq!(get(&leaf(&t, "blkio").join("blkio.bfq.weight")), "100");
    assert_eq!(get(&leaf(&t, "blkio").join("blkio.leaf_weight")), "");
}

/// runc's update and create leave the pids limit and kernelTCP alone when given 0; -1 is
/// unlimited.
#[test]
fn a_zero_pids_limit_is_unset() {
    let (t, m) = fake();
    touch(&leaf(&t, "pids"), &["pids.max"]);
    put(&leaf(&t, "pids").join("pids.max"), "100");
    m.apply(&res(r#"{"pids": {"limit": 0}}"#)).unwrap();
    assert_eq!(get(&leaf(&t, "pids").join("pids.max")), "100");
    m.apply(&res(r#"{"pids": {"limit": -1}}"#)).unwrap();
    assert_eq!(get(&leaf(&t, "pids").join("pids.max")), "max");
}
