//! The time namespace under hullrt: `linux.timeOffsets` seen in /proc/uptime. (The fake wall
//! clock needs hull's clock supervisor: tests/engine/hull_clock.rs and tests/engine/hull_faketime.rs.)

use hull_clock::TimeOffsets;
use hull_e2e::{unique_id, Bundle};
use oci_spec::runtime::Spec;

fn edit(b: &mut Bundle, f: impl FnOnce(&mut Spec)) {
    let mut spec: Spec = serde_json::from_value(b.config.clone()).expect("config.json as Spec");
    f(&mut spec);
    b.config = serde_json::to_value(&spec).unwrap();
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
