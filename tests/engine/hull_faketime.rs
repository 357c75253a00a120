//! `--faketime` for every program, checked from inside the container: static busybox, a
//! static musl program, a static Go program (CGO_ENABLED=0: it reads the clock through the
//! vDSO itself) and a dynamic glibc program all read the faked clock (tests/testdata/faketime:
//! probe.c, clock.go, built here and kept under target/faketime-probes), in the main process,
//! in a shell loop and in `hull exec`; `update --faketime` reaches a Go process that is
//! already running; a rate shows in Go's wall clock against its monotonic one; absolute
//! realtime deadlines (timerfd, clock_nanosleep) fire at the faked time; the host's clock is
//! untouched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hull_e2e::hull::Hull;
use hull_e2e::probes::{faketime_probes, Toolchain};

/// 2020-12-24 20:30:00 UTC.
const XMAS: i64 = 1_608_841_800;
/// 2010-06-01 12:00:00 UTC.
const FROZEN: i64 = 1_275_393_600;
const IMAGE: &str = "faketime-probes:latest";

/// The probes, built once into target/faketime-probes (again when a source changes).
fn probes() -> PathBuf {
    faketime_probes(&[
        ("probe-glibc", "probe.c", Toolchain::Glibc),
        ("probe-musl", "probe.c", Toolchain::Musl),
        ("go-clock", "clock.go", Toolchain::Go),
    ])
}

fn ldd_paths(bin: &Path) -> Vec<String> {
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let p = l.split("=>").last()?.split_whitespace().next()?;
            p.starts_with('/').then(|| p.to_string())
        })
        .collect()
}

/// A hull with an image of busybox, the probes and the glibc probe's libraries.
fn hull() -> Hull {
    let h = Hull::new();
    let probes = probes();
    let rootfs = h.dir.path().join("rootfs");
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(hull_e2e::busybox(), rootfs.join("bin/busybox")).unwrap();
    for a in ["sh", "sleep", "cat", "date", "echo", "env"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    for p in ["probe-glibc", "probe-musl", "go-clock"] {
        std::fs::copy(probes.join(p), rootfs.join("bin").join(p)).unwrap();
    }
    for lib in ldd_paths(&probes.join("probe-glibc")) {
        let dest = rootfs.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&lib, &dest).unwrap();
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    let tar = h.dir.path().join("rootfs.tar");
    hull_e2e::image::tar_dir(&rootfs, &tar);
    h.ok(&["import", tar.to_str().unwrap(), IMAGE]);
    h
}

fn name(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

fn exec(h: &Hull, c: &str, args: &[&str]) -> String {
    let mut a = vec!["exec", c];
    a.extend_from_slice(args);
    h.ok(&a).trim().to_string()
}

fn nums(s: &str) -> Vec<f64> {
    s.split_whitespace()
        .map(|w| w.parse().unwrap_or_else(|_| panic!("{w:?} in {s:?}")))
        .collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn poll(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out after {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every value in `out` is a time in seconds in [lo, hi].
fn all_within(out: &str, lo: i64, hi: i64) -> bool {
    let v = nums(out);
    !v.is_empty() && v.iter().all(|&t| t >= lo as f64 && t <= hi as f64)
}

/// The clock supervisors still running for this hull's containers.
fn supervisors(h: &Hull) -> Vec<String> {
    let dir = h.dir.path().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("internal-clock") && c.contains(&dir))
        .collect()
}

/// Removes `c`; its clock supervisor must then go.
fn rm(h: &Hull, c: &str) {
    h.ok(&["rm", "-f", c]);
    poll(20, "the clock supervisor to exit", || {
        supervisors(h).is_empty()
    });
}

#[test]
fn every_program_sees_the_fake_clock_and_updates_reach_them_live() {
    let h = hull();
    let host_year = || {
        let out = Command::new("date").arg("+%Y").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let real_year = host_year();
    let c = name("ft-all");
    // The main process: a Go program started before the update, and a shell loop of date.
    let main = "go-clock watch /tmp/go & \
                while :; do date +%Y > /tmp/y.tmp; mv /tmp/y.tmp /tmp/y; sleep 0.1; done";
    let out = h.run(&[
        "run",
        "-d",
        "--name",
        &c,
        "--faketime",
        "2020-12-24 20:30:00",
        IMAGE,
        "sh",
        "-c",
        main,
    ]);
    assert!(out.success(), "{out:?}");
    let err = &out.stderr;
    assert_eq!(err.matches("ptrace").count(), 1, "said once: {err}");

    let hi = XMAS + 600;
    assert_eq!(exec(&h, &c, &["date", "+%Y"]), "2020", "static busybox");
    for p in ["probe-glibc", "probe-musl"] {
        let out = exec(&h, &c, &[p, "now"]);
        assert!(
            all_within(&out, XMAS, hi),
            "{p}: time, gettimeofday, clock_gettime x2: {out}"
        );
    }
    let out = exec(&h, &c, &["go-clock", "now"]);
    assert!(all_within(&out, XMAS, hi), "go: {out}");
    let out = exec(
        &h,
        &c,
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 40 ]; do date +%Y; i=$((i+1)); done",
        ],
    );
    assert_eq!(out.lines().count(), 40);
    assert!(
        out.lines().all(|l| l == "2020"),
        "a shell loop of date: {out}"
    );
    poll(
        30,
        "the main process's shell loop and Go to read 2020",
        || {
            let y = h.run(&["exec", &c, "cat", "/tmp/y", "/tmp/go"]);
            let s = y.stdout;
            s.starts_with("2020\n") && all_within(&s[5..], XMAS, hi)
        },
    );

    h.ok(&["update", "--faketime", "@2010-06-01 12:00:00", &c]);
    // Live: the Go process that was already running, the main shell's loop, a new exec.
    poll(
        10,
        "the running Go process to read the frozen 2010 date",
        || h.run(&["exec", &c, "cat", "/tmp/go"]).stdout == format!("{FROZEN}\n"),
    );
    poll(10, "the main process's loop to read 2010", || {
        h.run(&["exec", &c, "cat", "/tmp/y"]).stdout == "2010\n"
    });
    for p in ["probe-glibc", "probe-musl", "go-clock"] {
        let out = exec(&h, &c, &[p, "now"]);
        assert!(all_within(&out, FROZEN, FROZEN), "{p}: {out}");
    }
    assert_eq!(host_year(), real_year, "the host's clock changed");
    let real = now();
    assert!(real > XMAS + 86_400 * 365, "the host reads {real}");
    rm(&h, &c);
}

#[test]
fn rate_and_absolute_realtime_deadlines() {
    let h = hull();
    let c = name("ft-deadline");
    // A date in the past: an untranslated absolute deadline would have passed already and
    // fire at once, before the faked clock reached it.
    h.ok(&[
        "run",
        "-d",
        "--name",
        &c,
        "--faketime",
        "2020-12-24 20:30:00",
        IMAGE,
        "sleep",
        "600",
    ]);
    for (p, how) in [("probe-glibc", "timerfd"), ("probe-musl", "sleep")] {
        let out = exec(&h, &c, &[p, how, "2"]);
        let v = nums(&out);
        assert!(v[0] >= XMAS as f64, "{p} {how}: deadline {out}");
        assert!(
            v[1] >= v[0] && v[1] < v[0] + 60.0,
            "{p} {how}: fired at {} for the deadline {}",
            v[1],
            v[0]
        );
    }
    let out = exec(&h, &c, &["go-clock", "sleep", "1"]);
    assert!(all_within(&out, XMAS + 1, XMAS + 600), "go sleep: {out}");

    // x2: Go's wall clock runs twice as fast as its monotonic clock.
    let out = h.ok(&[
        "run",
        "--rm",
        "--faketime",
        "+0 x2",
        IMAGE,
        "go-clock",
        "rate",
        "1500",
    ]);
    let ratio = nums(&out)[0];
    assert!((1.7..=2.3).contains(&ratio), "rate x2 seen by Go: {out}");

    // Without any seccomp profile (privileged) the clock's own filter is there.
    let out = h.ok(&[
        "run",
        "--rm",
        "--privileged",
        "--faketime",
        "@2020-12-24 20:30:00",
        IMAGE,
        "probe-musl",
        "now",
    ]);
    assert!(all_within(&out, XMAS, XMAS), "privileged: {out}");
    rm(&h, &c);
    assert!(
        supervisors(&h).is_empty(),
        "after --rm runs: {:?}",
        supervisors(&h)
    );
}
