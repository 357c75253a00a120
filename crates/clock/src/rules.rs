//! The seccomp rules that send the realtime clock calls, and only those, to the clock
//! supervisor (`SCMP_ACT_TRACE`), added to the container's `linux.seccomp`.
//!
//! A call traced without a tracer fails with ENOSYS, so only the calls the supervisor answers
//! are traced: `clock_gettime` on CLOCK_REALTIME, CLOCK_REALTIME_COARSE and CLOCK_TAI;
//! `gettimeofday` and `time`; `clock_nanosleep` on CLOCK_REALTIME and CLOCK_TAI with TIMER_ABSTIME;
//! `timerfd_settime` with TFD_TIMER_ABSTIME and `timer_settime` with TIMER_ABSTIME (the
//! supervisor checks the timer's clock). The
//! other uses of these calls (CLOCK_MONOTONIC above all) stay allowed without a stop. The names
//! are taken out of the profile's unconditional allow rules first (libseccomp would not put a
//! conditional rule beside an unconditional one for the same call), and any other rule naming
//! only these calls is replaced by ours.

use serde_json::{json, Value};

const TRACE: &str = "SCMP_ACT_TRACE";
const ALLOW: &str = "SCMP_ACT_ALLOW";
const NAMES: [&str; 6] = [
    "clock_gettime",
    "gettimeofday",
    "time",
    "clock_nanosleep",
    "timerfd_settime",
    "timer_settime",
];

fn eq(index: u32, value: u64) -> Value {
    json!({ "index": index, "value": value, "op": "SCMP_CMP_EQ" })
}

fn masked(index: u32, mask: u64, value: u64) -> Value {
    json!({ "index": index, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ" })
}

fn rule(name: &str, action: &str, args: Vec<Value>) -> Value {
    json!({ "names": [name], "action": action, "args": args })
}

/// The rules: conditions on one argument in one rule OR together (each becomes its own
/// libseccomp rule), conditions on distinct arguments AND.
fn ours() -> Vec<Value> {
    let realtime = [0u64, 5, 11];
    let others: Vec<Value> = (1..=10)
        .filter(|c| !realtime.contains(c))
        .map(|c| eq(0, c))
        .chain([json!({ "index": 0, "value": 11, "op": "SCMP_CMP_GT" })])
        .collect();
    // clock_nanosleep's deadlines on CLOCK_REALTIME and CLOCK_TAI are translated; the other
    // clocks (CLOCK_REALTIME_COARSE cannot be slept on) pass.
    let sleep_others: Vec<Value> = (1..=10)
        .map(|c| eq(0, c))
        .chain([json!({ "index": 0, "value": 11, "op": "SCMP_CMP_GT" })])
        .collect();
    vec![
        rule(
            "clock_gettime",
            TRACE,
            realtime.iter().map(|&c| eq(0, c)).collect(),
        ),
        rule("clock_gettime", ALLOW, others),
        rule("gettimeofday", TRACE, vec![]),
        rule("time", TRACE, vec![]),
        rule("clock_nanosleep", TRACE, vec![eq(0, 0), masked(1, 1, 1)]),
        rule("clock_nanosleep", TRACE, vec![eq(0, 11), masked(1, 1, 1)]),
        rule("clock_nanosleep", ALLOW, sleep_others),
        rule("clock_nanosleep", ALLOW, vec![masked(1, 1, 0)]),
        rule("timerfd_settime", TRACE, vec![masked(1, 1, 1)]),
        rule("timerfd_settime", ALLOW, vec![masked(1, 1, 0)]),
        rule("timer_settime", TRACE, vec![masked(1, 1, 1)]),
        rule("timer_settime", ALLOW, vec![masked(1, 1, 0)]),
    ]
}

/// Adds the rules to `spec.linux.seccomp`, making an allow-by-default filter when the
/// container has none (privileged, `seccomp=unconfined`).
pub fn apply(spec: &mut Value) {
    let sc = &mut spec["linux"]["seccomp"];
    if !sc.is_object() {
        *sc = json!({ "defaultAction": ALLOW, "syscalls": [] });
    }
    if !sc["syscalls"].is_array() {
        sc["syscalls"] = json!([]);
    }
    let list = sc["syscalls"].as_array_mut().expect("array");
    for r in list.iter_mut() {
        if r["action"] == ALLOW && r["args"].as_array().is_none_or(|a| a.is_empty()) {
            if let Some(names) = r["names"].as_array_mut() {
                names.retain(|n| !NAMES.iter().any(|x| n == x));
            }
        }
    }
    // Emptied rules, and any rule naming only these calls (ours from an earlier apply), go.
    list.retain(|r| {
        r["names"]
            .as_array()
            .is_none_or(|n| !n.iter().all(|x| NAMES.iter().any(|y| x == y)))
    });
    list.extend(ours());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_calls_leave_the_allow_list_and_compile() {
        let mut spec = json!({ "linux": { "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                { "names": ["read", "clock_gettime", "time", "timer_settime"], "action": ALLOW },
                { "names": ["gettimeofday"], "action": ALLOW },
            ],
        } } });
        apply(&mut spec);
        apply(&mut spec);
        let list = spec["linux"]["seccomp"]["syscalls"].as_array().unwrap();
        assert_eq!(list[0]["names"], json!(["read"]));
        assert_eq!(list.len(), 1 + ours().len(), "{list:?}");
        let mut bare = json!({ "linux": {} });
        apply(&mut bare);
        assert_eq!(bare["linux"]["seccomp"]["defaultAction"], ALLOW);
    }
}
