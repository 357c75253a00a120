//! v2 against a fake tree.

use std::path::PathBuf;

use tempfile::TempDir;

use super::resources::{blkio_to_io_weight, shares_to_weight, swap_max};
use crate::testutil::{get, put, res, touch};
use crate::{manager_at, CgroupVersion, Manager};

fn fake() -> (TempDir, PathBuf, Box<dyn Manager>) {
    let t = TempDir::new().unwrap();
    put(
        &t.path().join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids\n",
    );
    put(&t.path().join("cgroup.subtree_control"), "");
    let m = manager_at(t.path(), CgroupVersion::V2, Some("pod/ctr"), "x").unwrap();
    m.create().unwrap();
    let dir = t.path().join("pod/ctr");
    (t, dir, m)
}

#[test]
fn conversions() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(blkio_to_io_weight(10), 1);
    assert_eq!(blkio_to_io_weight(500), 4950);
    assert_eq!(blkio_to_io_weight(1000), 10_000);
    assert_eq!(swap_max(-1, Some(100)).unwrap(), "max");
    assert_eq!(swap_max(300, Some(100)).unwrap(), "200");
    assert!(swap_max(300, None).is_err());
}

#[test]
fn create_enables_controllers_in_parent() {
    let (t, dir, _m) = fake();
    assert!(dir.is_dir());
    assert_eq!(
        get(&t.path().join("cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +hugetlb +pids"
    );
}

#[test]
fn apply_writes_converted_values() {
    let (_t, dir, m) = fake();
    touch(
        &dir,
        &[
            "memory.max",
            "memory.low",
            "memory.swap.max",
            "memory.high",
            "cpu.weight",
            "cpu.max",
            "cpu.max.burst",
            "cpuset.cpus",
            "pids.max",
            "io.weight",
            "io.max",
            "hugetlb.2MB.max",
        ],
    );
    m.apply(&res(r#"{
        "memory": {"limit": 104857600, "swap": 314572800, "reservation": 1000, "kernel": 5},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "cpus": "0"},
        "pids": {"limit": -1},
        "blockIO": {"weight": 500, "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "unified": {"memory.high": "50000000"}
    }"#))
    .unwrap();
    assert_eq!(get(&dir.join("memory.max")), "104857600");
    assert_eq!(get(&dir.join("memory.swap.max")), "209715200");
    assert_eq!(get(&dir.join("memory.low")), "1000");
    assert_eq!(get(&dir.join("memory.high")), "50000000");
    assert_eq!(get(&dir.join("cpu.weight")), "39");
    assert_eq!(get(&dir.join("cpu.max")), "50000 100000");
    assert_eq!(get(&dir.join("cpu.max.burst")), "1000");
    assert_eq!(get(&dir.join("cpuset.cpus")), "0");
    assert_eq!(get(&dir.join("pids.max")), "max");
    assert_eq!(get(&dir.join("io.weight")), "4950");
    assert_eq!(get(&dir.join("io.max")), "8:16 wiops=100");
    assert_eq!(get(&dir.join("hugetlb.2MB.max")), "4194304");

    // Live update of the period alone keeps the quota.
    put(&dir.join("cpu.max"), "20000 100000\n");
    m.apply(&res(r#"{"cpu": {"period": 50000}}"#)).unwrap();
    assert_eq!(get(&dir.join("cpu.max")), "20000 50000");
    m.apply(&res(r#"{"cpu": {"quota": -1}}"#)).unwrap();
    assert_eq!(get(&dir.join("cpu.max")), "max");
    m.apply(&res(r#"{"memory": {"limit": -1}}"#)).unwrap();
    assert_eq!(get(&dir.join("memory.max")), "max");
    assert_eq!(get(&dir.join("memory.swap.max")), "max");
}

#[test]
fn errors_name_the_field() {
    let (_t, dir, m) = fake();
    touch(&dir, &["memory.max"]);
    let cases = [
        (r#"{"memory": {"swappiness": 10}}"#, "memory.swappiness"),
        (
            r#"{"memory": {"disableOOMKiller": true}}"#,
            "memory.disableOOMKiller",
        ),
        (r#"{"memory": {"kernelTCP": 1}}"#, "memory.kernelTCP"),
        (r#"{"memory": {"swap": 100}}"#, "memory.swap"),
        (r#"{"network": {"classID": 1}}"#, "network.classID"),
        (r#"{"cpu": {"realtimeRuntime": 1}}"#, "cpu.realtimeRuntime"),
        (r#"{"pids": {"limit": 10}}"#, "pids.limit"),
        (r#"{"unified": {"../x": "1"}}"#, "unified.../x"),
        (r#"{"unified": {"foo.bar": "1"}}"#, "unified.foo.bar"),
    ];
    for (json, field) in cases {
        let e = m.apply(&res(json)).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("linux.resources.{field}: ")),
            "{json}: {e}"
        );
    }
}

#[test]
fn freeze_pids_and_stats() {
    let (_t, dir, m) = fake();
    touch(&dir, &["cgroup.freeze"]);
    put(&dir.join("cgroup.events"), "populated 1\nfrozen 1\n");
    m.freeze().unwrap();
    assert_eq!(get(&dir.join("cgroup.freeze")), "1");
    assert!(m.is_frozen().unwrap());
    put(&dir.join("cgroup.events"), "populated 1\nfrozen 0\n");
    m.thaw().unwrap();
    assert_eq!(get(&dir.join("cgroup.freeze")), "0");

    put(&dir.join("cgroup.procs"), "7\n");
    put(&dir.join("child/cgroup.procs"), "3\n9\n");
    assert_eq!(m.pids().unwrap(), [3, 7, 9]);

    put(&dir.join("cpu.stat"), "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 5\nnr_throttled 1\nthrottled_usec 7\n");
    put(&dir.join("memory.current"), "4096\n");
    put(&dir.join("memory.max"), "max\n");
    put(&dir.join("memory.peak"), "8192\n");
    put(
        &dir.join("memory.events"),
        "low 0\nhigh 0\nmax 4\noom 1\noom_kill 2\n",
    );
    put(&dir.join("memory.swap.current"), "10\n");
    put(&dir.join("memory.swap.max"), "100\n");
    put(&dir.join("memory.stat"), "anon 1\nfile 2\n");
    put(&dir.join("pids.current"), "3\n");
    put(&dir.join("pids.max"), "10\n");
    put(
        &dir.join("io.stat"),
        "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n",
    );
    put(&dir.join("hugetlb.2MB.current"), "2097152\n");
    put(&dir.join("hugetlb.2MB.max"), "max\n");
    put(&dir.join("hugetlb.2MB.events"), "max 1\n");
    let s = m.stats().unwrap();
    assert_eq!(s.cpu.usage.total, 100_000);
    assert_eq!(s.cpu.usage.user, 60_000);
    assert_eq!(s.cpu.usage.kernel, 40_000);
    assert_eq!(s.cpu.throttling.throttled_time, 7000);
    assert_eq!(s.memory.usage.usage, 4096);
    assert_eq!(s.memory.usage.limit, u64::MAX);
    assert_eq!(s.memory.usage.max, 8192);
    assert_eq!(s.memory.usage.failcnt, 4);
    assert_eq!(s.memory.swap.usage, 4106);
    assert_eq!(s.memory.cache, 2);
    assert_eq!(s.pids.limit, 10);
    let b = &s.blkio;
    assert_eq!(
        (
            b.io_service_bytes_recursive[1].op.as_str(),
            b.io_service_bytes_recursive[1].value
        ),
        ("Write", 1024)
    );
    assert_eq!(b.io_serviced_recursive[0].value, 1);
    assert_eq!(s.hugetlb["2MB"].usage, 2097152);
    assert_eq!(s.hugetlb["2MB"].failcnt, 1);
    assert_eq!(m.oom_kill_count().unwrap(), 2);

    // A stats row's reading from its six files agrees with the full one.
    put(
        &dir.join("memory.stat"),
        "anon 1\nfile 2\ninactive_file 32\n",
    );
    let s = m.stats().unwrap();
    let u = m.usage().unwrap();
    assert_eq!(u, crate::Usage::of(&s));
    assert_eq!(
        (u.cpu_ns, u.memory, u.memory_limit, u.inactive_file),
        (100_000, 4096, u64::MAX, 32)
    );
    assert_eq!((u.blk_read, u.blk_write, u.pids), (512, 1024, 3));
    assert_eq!(m.cpu_ns().unwrap(), 100_000);
}

#[test]
fn destroy_of_missing_cgroup_is_ok() {
    let t = TempDir::new().unwrap();
    let m = manager_at(t.path(), CgroupVersion::V2, Some("/nope"), "x").unwrap();
    m.destroy().unwrap();
}
