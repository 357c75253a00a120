//! `--faketime` keeps clock reads cheap: the container's programs keep their vDSO, patched
//! at each exec so that its realtime entries return the faked clock. Checked from inside:
//! a glibc, a static musl and a static Go program see a vDSO, read the faked year, and do
//! not stop (no voluntary context switch) on their realtime reads, which a round trip to the
//! supervisor would cost; `update --faketime` reaches a process that forked and never
//! exec'd (its vDSO is its parent's copy); a POSIX timer armed at an absolute faked realtime deadline
//! (`timer_settime(TIMER_ABSTIME)`) fires when the faked clock reaches it, and so does a
//! `clock_nanosleep(CLOCK_TAI, TIMER_ABSTIME)`.
//! Probes: tests/testdata/faketime/vdso.c and vdso.go, built here into target/faketime-probes.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hull_e2e::hull::Hull;
use hull_e2e::probes::{faketime_probes, Toolchain};

/// 2020-12-24 20:30:00 UTC.
const XMAS: i64 = 1_608_841_800;
/// 2010-06-01 12:00:00 UTC.
const FROZEN: i64 = 1_275_393_600;
const IMAGE: &str = "faketime-vdso:latest";
/// Realtime reads per probe run: each would stop the thread once without the patched vDSO.
const READS: &str = "2000";

/// The probes, built once into target/faketime-probes (again when a source changes).
fn probes() -> PathBuf {
    faketime_probes(&[
        ("vdso-glibc", "vdso.c", Toolchain::Glibc),
        ("vdso-musl", "vdso.c", Toolchain::Musl),
        ("vdso-go", "vdso.go", Toolchain::Go),
    ])
}

/// A hull with an image of busybox, the probes and the glibc probe's libraries, and a
/// running container `name` on the faked clock "2020-12-24 20:30:00".
fn container(name: &str) -> Hull {
    let h = Hull::new();
    let probes = probes();
    let rootfs = h.dir.path().join("rootfs");
    for d in ["bin", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(hull_e2e::busybox(), rootfs.join("bin/busybox")).unwrap();
    for a in ["sleep", "cat"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    for p in ["vdso-glibc", "vdso-musl", "vdso-go"] {
        std::fs::copy(probes.join(p), rootfs.join("bin").join(p)).unwrap();
    }
    let out = Command::new("ldd")
        .arg(probes.join("vdso-glibc"))
        .output()
        .unwrap();
    for lib in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("=>").last()?.split_whitespace().next())
        .filter(|p| p.starts_with('/'))
    {
        let dest = rootfs.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dest).unwrap();
    }
    let tar = h.dir.path().join("rootfs.tar");
    hull_e2e::image::tar_dir(&rootfs, &tar);
    h.ok(&["import", tar.to_str().unwrap(), IMAGE]);
    h.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--faketime",
        "2020-12-24 20:30:00",
        IMAGE,
        "sleep",
        "600",
    ]);
    h
}

fn nums(s: &str) -> Vec<f64> {
    s.split_whitespace()
        .map(|w| w.parse().unwrap_or_else(|_| panic!("{w:?} in {s:?}")))
        .collect()
}

/// Removes the container even when an assertion fails.
struct Rm<'a>(&'a Hull, String);
impl Drop for Rm<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["rm", "-f", &self.1]);
    }
}

#[test]
fn realtime_reads_stay_in_the_vdso_and_are_faked() {
    let c = format!("ft-vdso-{}", std::process::id());
    let h = container(&c);
    let _rm = Rm(&h, c.clone());
    for p in ["vdso-glibc", "vdso-musl"] {
        let out = h.ok(&["exec", &c, p, "vdso", READS]);
        let v = nums(&out);
        assert_eq!(v[0], 1.0, "{p}: the program has no vDSO: {out}");
        assert!(v[1] < 100.0, "{p}: {} stops for {READS} reads: {out}", v[1]);
        assert!((XMAS..XMAS + 600).contains(&(v[2] as i64)), "{p}: {out}");
    }
    let out = h.ok(&["exec", &c, "vdso-go", "vdso", READS]);
    let v = nums(&out);
    assert!(v[0] < 100.0, "go: {} stops for {READS} reads: {out}", v[0]);
    assert!((XMAS..XMAS + 600).contains(&(v[1] as i64)), "go: {out}");

    // A forked child that never execs: an update must reach its copy of the vDSO too.
    h.ok(&["exec", &c, "vdso-musl", "forked", "/tmp/f"]);
    let read = || h.run(&["exec", &c, "cat", "/tmp/f"]).stdout;
    poll("the forked child to write the faked date", || {
        read()
            .trim()
            .parse::<i64>()
            .is_ok_and(|t| (XMAS..XMAS + 600).contains(&t))
    });
    h.ok(&["update", "--faketime", "@2010-06-01 12:00:00", &c]);
    poll("the forked child to read the frozen date", || {
        read() == format!("{FROZEN}\n")
    });
}

fn poll(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out after 10 s: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_posix_timer_with_an_absolute_realtime_deadline_fires_on_the_faked_clock() {
    let c = format!("ft-timer-{}", std::process::id());
    let h = container(&c);
    let _rm = Rm(&h, c.clone());
    // The faked date is in the past: an untranslated deadline has passed already on the
    // real clock, and the timer fires at once, before the faked clock reaches it.
    for p in ["vdso-glibc", "vdso-musl"] {
        let out = h.ok(&["exec", &c, p, "timer", "2"]);
        let v = nums(&out);
        assert!(v[0] >= XMAS as f64, "{p}: deadline {out}");
        assert!(
            v[1] >= v[0] && v[1] < v[0] + 60.0,
            "{p}: fired at {} for the deadline {}",
            v[1],
            v[0]
        );
    }
}

#[test]
fn a_clock_tai_sleep_to_an_absolute_deadline_wakes_on_the_faked_clock() {
    let c = format!("ft-tai-{}", std::process::id());
    let h = container(&c);
    let _rm = Rm(&h, c.clone());
    // As the timer above: the deadline lies in the faked past of the real clock, so an
    // untranslated sleep returns at once, before the faked clock reaches it.
    for p in ["vdso-glibc", "vdso-musl"] {
        let out = h.ok(&["exec", &c, p, "taisleep", "2"]);
        let v = nums(&out);
        assert!(v[0] >= XMAS as f64, "{p}: deadline {out}");
        assert!(
            v[1] >= v[0] && v[1] < v[0] + 60.0,
            "{p}: woke at {} for the deadline {}",
            v[1],
            v[0]
        );
    }
}
