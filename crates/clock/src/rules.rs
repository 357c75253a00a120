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

use oci_spec::runtime::{
    LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder, Spec,
};

use LinuxSeccompAction::{ScmpActAllow as ALLOW, ScmpActTrace as TRACE};

const NAMES: [&str; 6] = [
    "clock_gettime",
    "gettimeofday",
    "time",
    "clock_nanosleep",
    "timerfd_settime",
    "timer_settime",
];

fn arg(index: usize, value: u64, op: LinuxSeccompOperator) -> LinuxSeccompArgBuilder {
    LinuxSeccompArgBuilder::default()
        .index(index)
        .value(value)
        .op(op)
}

fn built(a: LinuxSeccompArgBuilder) -> LinuxSeccompArg {
    a.build().expect("index, value and op make an argument")
}

fn eq(index: usize, value: u64) -> LinuxSeccompArg {
    built(arg(index, value, LinuxSeccompOperator::ScmpCmpEq))
}

fn masked(index: usize, mask: u64, value: u64) -> LinuxSeccompArg {
    built(arg(index, mask, LinuxSeccompOperator::ScmpCmpMaskedEq).value_two(value))
}

fn rule(name: &str, action: LinuxSeccompAction, args: Vec<LinuxSeccompArg>) -> LinuxSyscall {
    LinuxSyscallBuilder::default()
        .names(vec![name.to_string()])
        .action(action)
        .args(args)
        .build()
        .expect("names and an action make a rule")
}

/// The rules: conditions on one argument in one rule OR together (each becomes its own
/// libseccomp rule), conditions on distinct arguments AND.
fn ours() -> Vec<LinuxSyscall> {
    let realtime = [0u64, 5, 11];
    let above_tai = || built(arg(0, 11, LinuxSeccompOperator::ScmpCmpGt));
    let others: Vec<LinuxSeccompArg> = (1..=10)
        .filter(|c| !realtime.contains(c))
        .map(|c| eq(0, c))
        .chain([above_tai()])
        .collect();
    // clock_nanosleep's deadlines on CLOCK_REALTIME and CLOCK_TAI are translated; the other
    // clocks (CLOCK_REALTIME_COARSE cannot be slept on) pass.
    let sleep_others: Vec<LinuxSeccompArg> =
        (1..=10).map(|c| eq(0, c)).chain([above_tai()]).collect();
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

fn ours_alone(r: &LinuxSyscall) -> bool {
    r.names().iter().all(|n| NAMES.contains(&n.as_str()))
}

/// Adds the rules to `spec.linux.seccomp`, making an allow-by-default filter when the
/// container has none (privileged, `seccomp=unconfined`).
pub fn apply(spec: &mut Spec) {
    let linux = spec.linux_mut().get_or_insert_with(Default::default);
    let sc = linux.seccomp_mut().get_or_insert_with(|| {
        LinuxSeccompBuilder::default()
            .default_action(ALLOW)
            .build()
            .expect("a default action makes a filter")
    });
    let mut list = sc.syscalls().clone().unwrap_or_default();
    for r in list.iter_mut() {
        if r.action() == ALLOW && r.args().as_ref().is_none_or(|a| a.is_empty()) {
            let names = r
                .names()
                .iter()
                .filter(|n| !NAMES.contains(&n.as_str()))
                .cloned();
            r.set_names(names.collect());
        }
    }
    // Emptied rules, and any rule naming only these calls (ours from an earlier apply), go.
    list.retain(|r| !ours_alone(r));
    list.extend(ours());
    sc.set_syscalls(Some(list));
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxSeccomp;

    fn seccomp(spec: &Spec) -> &LinuxSeccomp {
        spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap()
    }

    #[test]
    fn the_clock_calls_leave_the_allow_list_and_compile() {
        let mut spec: Spec = serde_json::from_value(serde_json::json!({ "linux": { "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                { "names": ["read", "clock_gettime", "time", "timer_settime"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["gettimeofday"], "action": "SCMP_ACT_ALLOW" },
            ],
        } } }))
        .unwrap();
        apply(&mut spec);
        apply(&mut spec);
        let list = seccomp(&spec).syscalls().clone().unwrap();
        assert_eq!(list[0].names(), &["read".to_string()]);
        assert_eq!(list.len(), 1 + ours().len(), "{list:?}");
        let mut bare: Spec = serde_json::from_value(serde_json::json!({ "linux": {} })).unwrap();
        apply(&mut bare);
        assert_eq!(seccomp(&bare).default_action(), ALLOW);
    }
}
