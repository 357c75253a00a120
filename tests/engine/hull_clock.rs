//! The per-container clock through the real `hull`: `run --faketime` (running, relative,
//! frozen), `exec` (hull's and one without any environment), `update --faketime` live,
//! `inspect`, `--time-offset` in /proc/uptime, the `--cap-add SYS_TIME` warning, and bad
//! specs refused with nothing left behind. The image is imported from a rootfs holding the
//! host's glibc `date` and `bash` (and their libraries) plus busybox.

use std::process::Command;
use std::time::{Duration, Instant};

use hull_e2e::clock_rootfs::{add_glibc_programs, host_date, now, BASH, DATE};
use hull_e2e::hull::Hull;
use serde_json::Value;

/// 2020-12-24 20:30:00 UTC.
const XMAS: i64 = 1_608_841_800;
const IMAGE: &str = "clocktest:latest";

/// A hull with the test image imported.
fn hull() -> Hull {
    let h = Hull::new();
    import(&h, IMAGE);
    h
}

/// Imports the test rootfs as `image`.
fn import(h: &Hull, image: &str) {
    let rootfs = h
        .dir
        .path()
        .join(format!("rootfs-{}", image.replace([':', '/'], "-")));
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(hull_e2e::busybox(), rootfs.join("bin/busybox")).unwrap();
    for a in [
        "sh", "sleep", "cat", "env", "echo", "true", "date", "uptime",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
    add_glibc_programs(&rootfs);
    let tar = rootfs.with_extension("tar");
    hull_e2e::image::tar_dir(&rootfs, &tar);
    h.ok(&["import", tar.to_str().unwrap(), image]);
}

fn name(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

fn exec(h: &Hull, c: &str, args: &[&str]) -> String {
    let mut a = vec!["exec", c];
    a.extend_from_slice(args);
    h.ok(&a).trim().to_string()
}

fn poll(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            Instant::now() < end,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The first object under a key named `key` anywhere in `v`.
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|x| find(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

fn clock_in_inspect(h: &Hull, c: &str) -> Value {
    let v: Value = serde_json::from_str(&h.ok(&["inspect", c])).expect("inspect json");
    find(&v, "Clock").cloned().unwrap_or(Value::Null)
}

fn host_year() -> String {
    let out = Command::new("date").arg("+%Y").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn nums(s: &str) -> Vec<i64> {
    s.split_whitespace()
        .map(|w| {
            w.parse()
                .unwrap_or_else(|_| panic!("not a number {w:?} in {s:?}"))
        })
        .collect()
}

#[test]
fn faketime_run_exec_update_inspect() {
    let h = hull();
    let real_year = host_date(now(), "%Y");
    assert_eq!(host_year(), real_year);
    let c = name("clock-live");
    let main = "while :; do printf '%(%Y)T\\n' -1 > /tmp/y; sleep 0.2; done";
    h.ok(&[
        "run",
        "-d",
        "--name",
        &c,
        "--faketime",
        "2020-12-24 20:30:00",
        IMAGE,
        BASH,
        "-c",
        main,
    ]);

    // hull exec: the same clock, running.
    assert_eq!(exec(&h, &c, &[DATE, "+%Y"]), "2020");
    let a = nums(&exec(&h, &c, &[DATE, "+%s"]))[0];
    assert!((XMAS..XMAS + 120).contains(&a), "{a}");
    std::thread::sleep(Duration::from_secs(2));
    let b = nums(&exec(&h, &c, &[DATE, "+%s"]))[0];
    assert!(b >= a + 2, "the clock did not advance: {a} then {b}");
    // A process with no environment at all too.
    assert_eq!(exec(&h, &c, &["env", "-i", DATE, "+%Y"]), "2020");
    // The main process.
    poll(30, "main process's 2020", || {
        h.run(&["exec", &c, "cat", "/tmp/y"]).stdout == "2020\n"
    });
    assert_eq!(clock_in_inspect(&h, &c)["Faketime"], "2020-12-24 20:30:00");

    // Live change, seen by new processes and by the running main process.
    h.ok(&["update", "--faketime", "@2010-06-01 12:00:00", &c]);
    poll(30, "exec to read the frozen 2010 date", || {
        exec(&h, &c, &[DATE, "+%s"]) == "1275393600"
    });
    poll(30, "main process's 2010", || {
        h.run(&["exec", &c, "cat", "/tmp/y"]).stdout == "2010\n"
    });
    assert_eq!(clock_in_inspect(&h, &c)["Faketime"], "@2010-06-01 12:00:00");

    // A bad update changes nothing.
    let (_, err) = h.fails(&["update", "--faketime", "2010-13-01", &c]);
    assert!(err.contains("--faketime") && err.contains("month"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(clock_in_inspect(&h, &c)["Faketime"], "@2010-06-01 12:00:00");
    assert_eq!(exec(&h, &c, &[DATE, "+%s"]), "1275393600");

    assert_eq!(host_year(), real_year, "the host's clock changed");
    h.ok(&["rm", "-f", &c]);
}

#[test]
fn update_of_a_stopped_container_applies_at_its_next_start() {
    let h = hull();
    let c = name("clock-stopped");
    h.ok(&[
        "create",
        "--name",
        &c,
        "--faketime",
        "@2015-03-01 10:00:00",
        IMAGE,
        DATE,
        "-u",
        "+%F",
    ]);
    assert_eq!(h.ok(&["start", "-a", &c]).trim(), "2015-03-01");
    h.ok(&["update", "--faketime", "@2016-04-02 10:00:00", &c]);
    assert_eq!(clock_in_inspect(&h, &c)["Faketime"], "@2016-04-02 10:00:00");
    assert_eq!(h.ok(&["start", "-a", &c]).trim(), "2016-04-02");
    h.ok(&["rm", "-f", &c]);
}

#[test]
fn each_container_of_a_pod_has_its_own_clock() {
    let h = hull();
    let pod = name("clockpod");
    h.ok(&[
        "pod",
        "create",
        "--name",
        &pod,
        "--share",
        "uts,ipc,pid",
        "--network",
        "none",
    ]);
    let (a, b, c) = (name("pod-xmas"), name("pod-rel"), name("pod-real"));
    h.ok(&[
        "run",
        "-d",
        "--pod",
        &pod,
        "--name",
        &a,
        "--faketime",
        "2020-12-24 20:30:00",
        IMAGE,
        "sleep",
        "600",
    ]);
    h.ok(&[
        "run",
        "-d",
        "--pod",
        &pod,
        "--name",
        &b,
        "--faketime",
        "-10d",
        "--time-offset",
        "boottime=10d",
        IMAGE,
        "sleep",
        "600",
    ]);
    h.ok(&[
        "run", "-d", "--pod", &pod, "--name", &c, IMAGE, "sleep", "600",
    ]);

    assert_eq!(exec(&h, &a, &[DATE, "+%Y"]), "2020");
    let before = now();
    let s = nums(&exec(&h, &b, &[DATE, "+%s"]))[0];
    assert!(
        (before - 864_000 - 1..=now() - 864_000 + 1).contains(&s),
        "{s}"
    );
    let before = now();
    let s = nums(&exec(&h, &c, &[DATE, "+%s"]))[0];
    assert!(
        (before..=now() + 1).contains(&s),
        "the pod's plain container: {s}"
    );
    let up = |c: &str| -> f64 {
        let out = exec(&h, c, &["cat", "/proc/uptime"]);
        out.split_whitespace().next().unwrap().parse().unwrap()
    };
    // The plain container first: a slow exec then only widens the gap.
    let plain = up(&c);
    assert!(up(&b) >= plain + 864_000.0 - 1.0);

    // An update reaches only its container.
    h.ok(&["update", "--faketime", "@2010-06-01 12:00:00", &a]);
    poll(30, "the pod's container to read 2010", || {
        exec(&h, &a, &[DATE, "+%s"]) == "1275393600"
    });
    assert_eq!(exec(&h, &c, &[DATE, "+%Y"]), host_date(now(), "%Y"));
    assert_ne!(exec(&h, &b, &[DATE, "+%Y"]), "2010");
}

#[test]
fn relative_and_frozen_specs() {
    let h = hull();
    let before = now();
    let out = h.ok(&[
        "run",
        "--rm",
        "--faketime",
        "-10d",
        IMAGE,
        DATE,
        "-u",
        "+%s %F %Y",
    ]);
    let after = now();
    let parts: Vec<&str> = out.split_whitespace().collect();
    let s: i64 = parts[0].parse().unwrap();
    assert!(
        (before - 864_000..=after - 864_000 + 1).contains(&s),
        "{out} not 10 days before [{before}, {after}]"
    );
    let days = [
        host_date(before - 864_000, "%F"),
        host_date(after - 864_000, "%F"),
    ];
    assert!(days.contains(&parts[1].to_string()), "{out} vs {days:?}");
    let years = [
        host_date(before - 864_000, "%Y"),
        host_date(after - 864_000, "%Y"),
    ];
    assert!(years.contains(&parts[2].to_string()), "{out} vs {years:?}");

    let out = h.ok(&["run", "--rm", "--faketime=+2h", IMAGE, DATE, "+%s"]);
    let s = nums(&out)[0];
    assert!((before + 7200..=now() + 7200 + 1).contains(&s), "{out}");

    let script = format!("{DATE} +%s; sleep 2; {DATE} +%s");
    let out = h.ok(&[
        "run",
        "--rm",
        "--faketime",
        "@2020-12-24 20:30:00",
        IMAGE,
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(nums(&out), vec![XMAS, XMAS], "frozen: {out}");
}

#[test]
fn time_offset_shifts_uptime() {
    let h = hull();
    let uptime = || -> f64 {
        let s = std::fs::read_to_string("/proc/uptime").unwrap();
        s.split_whitespace().next().unwrap().parse().unwrap()
    };
    let before = uptime();
    let out = h.ok(&[
        "run",
        "--rm",
        "--time-offset",
        "monotonic=3600,boottime=864000",
        IMAGE,
        "sh",
        "-c",
        "cat /proc/uptime; uptime; cat /proc/self/timens_offsets",
    ]);
    let after = uptime();
    let inside: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        inside >= before + 864_000.0 && inside <= after + 864_000.0 + 1.0,
        "uptime inside {inside}, host {before}..{after}"
    );
    // `uptime` (sysinfo(2)) shows it too.
    let days = |u: f64| ((u + 864_000.0) / 86_400.0).floor() as u64;
    let shown = [days(before), days(after)].map(|d| format!("up {d} day"));
    assert!(
        shown.iter().any(|s| out.contains(s.as_str())),
        "{out} vs {shown:?}"
    );
}

#[test]
fn bad_specs_are_refused_and_leave_nothing() {
    let h = hull();
    let cases: &[(&[&str], &str)] = &[
        (&["--faketime", "tomorrow"], "--faketime \"tomorrow\""),
        (&["--faketime", "2021-02-29"], "no such day"),
        (&["--faketime", "+2h x0"], "rate"),
        (&["--faketime", "@2020-12-24 x2"], "no rate"),
        (&["--time-offset", "realtime=5"], "--time-offset"),
        (&["--time-offset", "boottime=soon"], "expected a number"),
    ];
    for (flags, want) in cases {
        let c = name("clock-bad");
        let mut args = vec!["run", "--name", &c];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[IMAGE, "true"]);
        let (code, err) = h.fails(&args);
        assert_eq!(code, 125, "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{flags:?}: {err}");
        assert!(
            h.ok(&["ps", "-aq"]).trim().is_empty(),
            "{flags:?} left a container"
        );
    }
    // update of a container that has no fake clock, or of no container.
    let c = name("clock-none");
    h.ok(&["run", "-d", "--name", &c, IMAGE, "sleep", "600"]);
    let (_, err) = h.fails(&["update", "--faketime", "+1h", &c]);
    assert!(err.contains("--faketime"), "{err}");
    let (_, err) = h.fails(&["update", "--faketime", "+1h", "no-such-container"]);
    assert!(err.contains("no-such-container"), "{err}");
    h.ok(&["rm", "-f", &c]);
}

#[test]
fn cap_add_sys_time_warns_and_points_to_faketime() {
    let h = hull();
    let out = h.run(&["run", "--rm", "--cap-add", "SYS_TIME", IMAGE, "true"]);
    let err = &out.stderr;
    assert!(out.success(), "{err}");
    assert!(
        err.contains("HOST's clock") && err.contains("--faketime"),
        "{err}"
    );
    let out = h.run(&["run", "--rm", "--cap-add", "NET_ADMIN", IMAGE, "true"]);
    assert!(!out.stderr.contains("HOST's clock"));
}
