//! The per-container clock (crates/clock) under hullrt: libfaketime injected by bind mounts
//! and /etc/ld.so.preload into a rootfs holding the host's glibc `date` and `bash`, checked
//! from inside; and `linux.timeOffsets` seen in /proc/uptime.

mod clock_rootfs;

use std::time::{Duration, Instant};

use clock_rootfs::{add_glibc_programs, host_date, now, BASH, DATE};
use hull_clock::{FakeTime, TimeOffsets};
use hull_e2e::{unique_id, Bundle};
use oci_spec::runtime::Spec;

/// 2020-12-24 20:30:00 UTC.
const XMAS: i64 = 1_608_841_800;

fn edit(b: &mut Bundle, f: impl FnOnce(&mut Spec)) {
    let mut spec: Spec = serde_json::from_value(b.config.clone()).expect("config.json as Spec");
    f(&mut spec);
    b.config = serde_json::to_value(&spec).unwrap();
}

/// A bundle running `script` with the glibc programs, and a fake clock when `spec` is given
/// (prepared in the returned state directory, as the engine does per container).
fn clocked(spec: Option<&str>, script: &str) -> (Bundle, tempfile::TempDir) {
    let mut b = Bundle::new(script);
    add_glibc_programs(&b.rootfs());
    let state = tempfile::tempdir().unwrap();
    if let Some(spec) = spec {
        let inj = hull_clock::prepare(state.path(), &FakeTime::parse(spec).unwrap()).unwrap();
        edit(&mut b, |s| inj.apply(s));
    }
    (b, state)
}

fn nums(out: &str) -> Vec<i64> {
    out.split_whitespace()
        .map(|w| {
            w.parse()
                .unwrap_or_else(|_| panic!("not a number {w:?} in {out:?}"))
        })
        .collect()
}

fn host_year() -> String {
    let out = std::process::Command::new("date")
        .arg("+%Y")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn exec(b: &Bundle, id: &str, args: &[&str]) -> String {
    let mut a = vec!["exec", id];
    a.extend_from_slice(args);
    let out = b.hullrt(&a);
    assert!(out.status.success(), "exec {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The file's content inside the container, "" while it is not there yet.
fn cat(b: &Bundle, id: &str, path: &str) -> String {
    let out = b.hullrt(&["exec", id, "cat", path]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Polls `f` until it returns Some, for up to `secs` seconds.
fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn absolute_date_keeps_running_inside_and_the_host_is_untouched() {
    let real_year = host_date(now(), "%Y");
    assert_eq!(host_year(), real_year);
    let script = format!("{DATE} +%Y; {DATE} +%s; sleep 2; {DATE} +%s");

    // Control: the same rootfs without the clock shows the real year.
    let (plain, _s) = clocked(None, &script);
    let out = plain.run_ok(&unique_id("clk-plain"));
    assert_eq!(out.lines().next(), Some(real_year.as_str()), "{out}");

    let (b, _state) = clocked(Some("2020-12-24 20:30:00"), &script);
    let out = b.run_ok(&unique_id("clk-abs"));
    let v = nums(&out);
    assert_eq!(v[0], 2020, "{out}");
    // It starts at the date (the offset is taken when the clock is prepared)...
    assert!((XMAS..XMAS + 120).contains(&v[1]), "{out}");
    // ...and keeps running: a process started 2 s later reads 2 s more.
    assert!(v[2] >= v[1] + 2, "the clock did not advance: {out}");
    assert_eq!(host_year(), real_year, "the host's clock changed");
    assert!(now() > XMAS + 365 * 86_400);
}

#[test]
fn exec_without_env_gets_the_clock_and_updates_apply_live() {
    // The main process (bash, with hull's env) writes the year it reads once a second.
    let script = format!(
        "exec {BASH} -c 'while :; do printf \"%(%Y)T\\n\" -1 > /dev/shm/y; sleep 0.2; done'"
    );
    let (b, state) = clocked(Some("2020-12-24 20:30:00"), &script);
    let id = unique_id("clk-exec");
    let out = b.hullrt(&["run", "-d", &id]);
    assert!(out.status.success(), "run -d: {out:?}");

    // `env -i`: no LD_PRELOAD, no FAKETIME*: only /etc/ld.so.preload and /etc/faketimerc.
    assert_eq!(exec(&b, &id, &["env", "-i", DATE, "+%Y"]), "2020");
    let s = nums(&exec(&b, &id, &["env", "-i", DATE, "+%s"]))[0];
    assert!((XMAS..XMAS + 120).contains(&s), "{s}");
    poll(30, "main process's year 2020", || {
        (cat(&b, &id, "/dev/shm/y") == "2020").then_some(())
    });

    // Live change: new processes and the running bash both follow.
    hull_clock::update(
        state.path(),
        &FakeTime::parse("@2010-06-01 12:00:00").unwrap(),
    )
    .unwrap();
    poll(30, "exec to read the frozen 2010 date", || {
        (exec(&b, &id, &["env", "-i", DATE, "+%s"]) == "1275393600").then_some(())
    });
    // The running process re-reads the file (1 s cache with hull's env; 10 s without).
    poll(30, "the running main process to see 2010", || {
        (cat(&b, &id, "/dev/shm/y") == "2010").then_some(())
    });
    assert_eq!(host_year(), host_date(now(), "%Y"));
    assert!(b.hullrt(&["delete", "--force", &id]).status.success());
}

#[test]
fn relative_offset_shifts_the_date() {
    let script = format!("{DATE} -u +%s; {DATE} -u +%F; {DATE} -u +%Y");
    let (b, _state) = clocked(Some("-10d"), &script);
    let before = now();
    let out = b.run_ok(&unique_id("clk-rel"));
    let after = now();
    let lines: Vec<&str> = out.lines().collect();
    let s: i64 = lines[0].parse().unwrap();
    assert!(
        (before - 864_000..=after - 864_000 + 1).contains(&s),
        "{s} not 10 days before [{before}, {after}]: {out}"
    );
    let days = [
        host_date(before - 864_000, "%F"),
        host_date(after - 864_000, "%F"),
    ];
    assert!(days.contains(&lines[1].to_string()), "{out} vs {days:?}");
    let years = [
        host_date(before - 864_000, "%Y"),
        host_date(after - 864_000, "%Y"),
    ];
    assert!(years.contains(&lines[2].to_string()), "{out} vs {years:?}");
}

#[test]
fn frozen_clock_stands_still() {
    let script = format!(
        "{DATE} +%s; sleep 2; {DATE} +%s; {BASH} -c 'a=$EPOCHSECONDS; sleep 2; echo $a $EPOCHSECONDS'"
    );
    let (b, _state) = clocked(Some("@2020-12-24 20:30:00"), &script);
    let out = b.run_ok(&unique_id("clk-frozen"));
    assert_eq!(nums(&out), vec![XMAS; 4], "{out}");
}

#[test]
fn rate_x2_runs_twice_as_fast_within_a_process() {
    // bash's $EPOCHREALTIME is faked; /proc/uptime, read by bash itself (no fork), is the
    // real boot clock, read just outside the faked interval.
    let script = format!(
        "{BASH} -c 'read u1 _ </proc/uptime; a=$EPOCHREALTIME; sleep 4; b=$EPOCHREALTIME; read u2 _ </proc/uptime; echo $a $b $u1 $u2'"
    );
    let (b, _state) = clocked(Some("2020-12-24 20:30:00 x2"), &script);
    let out = b.run_ok(&unique_id("clk-rate"));
    let v: Vec<f64> = out
        .split_whitespace()
        .map(|w| w.replace(',', ".").parse().expect("a number"))
        .collect();
    let (fake, real) = (v[1] - v[0], v[3] - v[2]);
    assert!(real >= 4.0, "{out}");
    let ratio = fake / real;
    assert!(
        (1.6..=2.05).contains(&ratio),
        "x2: {fake:.2} fake s in {real:.2} real s ({ratio:.2}): {out}"
    );
    assert!((XMAS as f64..XMAS as f64 + 120.0).contains(&v[0]), "{out}");
}

#[test]
fn boottime_offset_shows_in_proc_uptime() {
    let mut b = Bundle::new("cat /proc/uptime");
    edit(&mut b, |s| {
        TimeOffsets::parse("boottime=10d").unwrap().apply(s)
    });
    let uptime = || -> f64 {
        let s = std::fs::read_to_string("/proc/uptime").unwrap();
        s.split_whitespace().next().unwrap().parse().unwrap()
    };
    let before = uptime();
    let out = b.run_ok(&unique_id("clk-boot"));
    let after = uptime();
    let inside: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        inside >= before + 864_000.0 && inside <= after + 864_000.0 + 1.0,
        "uptime inside {inside}, host {before}..{after}"
    );
}
