//! The lifecycle's ordering and rollback through the fakes (crate::ocirt::fake), without
//! root: what start, stop, kill and rm ask of the runtime, the monitor and the bundle, in
//! what order, what a failure at each step undoes, and what the state says after. What the
//! real bundle does (overlay, shm and volume mounts, network) and the real monitor's side
//! stay covered by the end-to-end tests (tests/hull_lifecycle.rs, crash.rs...), as root.

use crate::container::remove::{self, RemoveError};
use crate::container::start::{self, Attach, StartError};
use crate::container::stop::{self, StopError};
use crate::ocirt::fake::{FakeMonitor, Rig, Script, DEAD_PID};
use crate::Status;

fn start(rig: &Rig, c: &crate::Container) -> Result<start::Started, StartError> {
    start::start(&rig.eng, c, Attach::default())
}

#[test]
fn start_prepares_the_bundle_then_spawns_the_monitor_and_records_running() {
    let rig = Rig::new();
    let c = rig.container("web", |_| {});
    rig.script(Script::Started(4321));
    let s = start(&rig, &c).unwrap();
    assert_eq!(s.pid, 4321);
    let now = rig.get(&c.id);
    assert_eq!(
        (now.status, now.pid, now.monitor_pid),
        (Status::Running, 4321, FakeMonitor::PID)
    );
    drop(s);
    // The monitor's thread saw GO only after "running" was written (above, before the drop).
    let calls = rig.journal.calls();
    assert_eq!(
        calls[..3],
        ["bundle prepare", "monitor spawn", "monitor hello"],
        "{calls:?}"
    );
    // Nothing of the runtime's is asked by the starter: the monitor runs create and start.
    assert!(!calls.iter().any(|c| c.starts_with("runtime")), "{calls:?}");
}

#[test]
fn a_terminal_start_records_running_at_created_and_answers_go() {
    let rig = Rig::new();
    let c = rig.container("tty", |_| {});
    rig.script(Script::CreatedThenStarted(77));
    let s = start(&rig, &c).unwrap();
    assert_eq!(s.pid, 77);
    assert_eq!(rig.get(&c.id).status, Status::Running);
    drop(s);
}

/// A failure at each step undoes the steps before it, and the container keeps the status it
/// had (created, or exited for a restart): (what fails, what the starter was asked, exit code).
#[test]
fn a_failed_start_undoes_what_it_made_and_keeps_the_status() {
    let cases: [(&str, Option<Script>, &[&str], i32); 5] = [
        (
            "bundle prepare",
            None,
            &["bundle prepare", "bundle unprepare"],
            125,
        ),
        (
            "monitor spawn",
            None,
            &["bundle prepare", "monitor spawn", "bundle unprepare"],
            125,
        ),
        (
            "runtime refused",
            Some(Script::Error(
                "exec: \"nope\": executable file not found in $PATH".into(),
            )),
            &["bundle prepare", "monitor spawn", "bundle unprepare"],
            127,
        ),
        (
            "monitor died",
            Some(Script::Exit),
            &["bundle prepare", "monitor spawn", "bundle unprepare"],
            125,
        ),
        (
            "network hook",
            Some(Script::HookFailed("network hook: no address left".into())),
            &["bundle prepare", "monitor spawn", "bundle unprepare"],
            125,
        ),
    ];
    for before in [Status::Created, Status::Exited] {
        for (step, script, asked, code) in &cases {
            let rig = Rig::new();
            let c = rig.container("web", |c| c.status = before);
            match script {
                Some(s) => rig.script(s.clone()),
                None => rig.faults.set(step),
            }
            let e = start(&rig, &c).err().expect("the start fails");
            assert_eq!(e.exit_code(), *code, "{step}: {e}");
            if *step == "network hook" {
                assert_eq!(e.to_string(), "network hook: no address left");
            }
            let calls: Vec<String> = rig
                .journal
                .calls()
                .into_iter()
                .filter(|c| !c.starts_with("monitor hello"))
                .collect();
            assert_eq!(calls, *asked, "{step}");
            let now = rig.get(&c.id);
            assert_eq!((now.status, now.pid), (before, 0), "{step}");
            assert!(
                !rig.eng.paths.run_dir(&c.id).exists(),
                "{step}: bundle left"
            );
        }
    }
}

/// What a killed start left (the runtime's state, the bundle) goes before the next start.
#[test]
fn a_start_first_clears_what_a_killed_one_left() {
    let rig = Rig::new();
    let c = rig.container("web", |_| {});
    std::fs::create_dir_all(rig.eng.paths.runtime_root().join(&c.id)).unwrap();
    std::fs::create_dir_all(rig.eng.paths.run_dir(&c.id)).unwrap();
    drop(start(&rig, &c).unwrap());
    assert_eq!(
        rig.journal.calls()[..4],
        [
            "runtime delete --force",
            "bundle unprepare",
            "bundle prepare",
            "monitor spawn"
        ]
    );
}

/// `stop` of a container whose monitor is gone: the stop signal through the runtime, then
/// the exit recorded (128 + signal) and the container torn down, the runtime's delete beside
/// the rest; the restart policy does not apply after a stop.
#[test]
fn stop_without_a_monitor_signals_then_records_and_tears_down() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = DEAD_PID;
        c.config.restart.name = crate::container::config::Restart::parse("always").unwrap();
    });
    stop::stop(&rig.eng, &c, Some(1)).unwrap();
    assert_eq!(
        rig.journal.calls(),
        [
            "runtime kill 15",
            "runtime delete-start",
            "bundle release",
            "runtime delete-wait"
        ]
    );
    let now = rig.get(&c.id);
    assert_eq!((now.status, now.exit_code), (Status::Exited, 143));
    assert!(now.stop_requested);
    assert_eq!(now.restart_count, 0);
}

/// A paused container is resumed before it is signalled; --stop-signal is used.
#[test]
fn stop_of_a_paused_container_resumes_it_first() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Paused;
        c.pid = DEAD_PID;
        c.config.stop_signal = "SIGINT".into();
    });
    stop::stop(&rig.eng, &c, Some(1)).unwrap();
    assert_eq!(
        rig.journal.calls()[..2],
        ["runtime resume", "runtime kill 2"]
    );
    assert_eq!(rig.get(&c.id).exit_code, 130);
}

#[test]
fn stop_of_a_stopped_container_asks_nothing() {
    let rig = Rig::new();
    let c = rig.container("web", |c| c.status = Status::Exited);
    stop::stop(&rig.eng, &c, None).unwrap();
    assert!(rig.journal.calls().is_empty());
}

#[test]
fn kill_signals_through_the_runtime_and_marks_the_stop_as_the_users() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = DEAD_PID;
    });
    stop::kill(&rig.eng, &c, 10).unwrap();
    assert_eq!(rig.journal.calls(), ["runtime kill 10"]);
    assert!(rig.get(&c.id).stop_requested);

    // The runtime's refusal is the verb's error.
    rig.faults.set("runtime kill");
    let e = stop::kill(&rig.eng, &c, 9).unwrap_err();
    assert!(matches!(e, StopError::Runtime(_)), "{e}");

    // Not running: refused, nothing asked.
    rig.journal.clear();
    let c = rig.container("idle", |_| {});
    let e = stop::kill(&rig.eng, &c, 9).unwrap_err();
    assert!(
        matches!(e, StopError::NotRunning(ref n) if n == "idle"),
        "{e}"
    );
    assert!(rig.journal.calls().is_empty());
}

#[test]
fn rm_refuses_a_running_container_without_force_and_asks_nothing() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = DEAD_PID;
    });
    let e = remove::remove(&rig.eng, &c, false, false).unwrap_err();
    assert!(matches!(e, RemoveError::Running(_)), "{e}");
    assert!(rig.journal.calls().is_empty());
    assert!(rig.exists(&c.id));
}

#[test]
fn rm_removes_the_runtime_state_then_the_bundle_then_the_row() {
    let rig = Rig::new();
    let c = rig.container("web", |c| c.status = Status::Exited);
    std::fs::create_dir_all(rig.eng.paths.container_dir(&c.id)).unwrap();
    // State the runtime kept (a killed exit hook left it).
    std::fs::create_dir_all(rig.eng.paths.runtime_root().join(&c.id)).unwrap();
    remove::remove(&rig.eng, &c, false, false).unwrap();
    assert_eq!(
        rig.journal.calls(),
        ["runtime delete --force", "bundle release"]
    );
    assert!(!rig.exists(&c.id));
    assert!(!rig.eng.paths.container_dir(&c.id).exists());
}

/// The exit's teardown deleted the runtime's state: `rm` starts no runtime process for it.
#[test]
fn rm_of_a_torn_down_container_starts_no_runtime() {
    let rig = Rig::new();
    let c = rig.container("web", |c| c.status = Status::Exited);
    remove::remove(&rig.eng, &c, false, false).unwrap();
    assert_eq!(rig.journal.calls(), ["bundle release"]);
    assert!(!rig.exists(&c.id));
}

/// `rm -f` of a running container: SIGKILL through the runtime, the exit recorded as the
/// monitor would (no restart), then everything removed.
#[test]
fn rm_force_kills_records_the_exit_and_removes() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = DEAD_PID;
        c.config.restart.name = crate::container::config::Restart::parse("always").unwrap();
    });
    remove::remove(&rig.eng, &c, true, false).unwrap();
    assert_eq!(
        rig.journal.calls(),
        [
            "runtime kill 9",
            "runtime delete-start",
            "bundle release",
            "runtime delete-wait",
            "bundle release"
        ]
    );
    assert!(!rig.exists(&c.id));
}

#[test]
fn pause_and_unpause_go_through_the_runtime_and_record_the_status() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = std::process::id() as i32;
    });
    rig.eng.pause("web").unwrap();
    assert_eq!(rig.get(&c.id).status, Status::Paused);
    rig.eng.unpause("web").unwrap();
    assert_eq!(rig.get(&c.id).status, Status::Running);
    assert_eq!(rig.journal.calls(), ["runtime pause", "runtime resume"]);

    // The runtime's refusal leaves the status as it was.
    rig.faults.set("runtime pause");
    assert!(rig.eng.pause("web").is_err());
    assert_eq!(rig.get(&c.id).status, Status::Running);
}

/// `restart` of a container whose processes died unseen: the exit is recorded and torn down
/// first (no restart by the policy), then a start is wanted again (not the user's stop).
#[test]
fn restart_tears_down_then_starts_and_forgets_the_users_stop() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.pid = DEAD_PID;
        c.stop_requested = true;
        c.config.restart.name = crate::container::config::Restart::parse("always").unwrap();
    });
    rig.eng.restart("web", Some(1)).unwrap();
    let calls = rig.journal.calls();
    assert_eq!(
        calls[..5],
        [
            "runtime delete-start",
            "bundle release",
            "runtime delete-wait",
            "bundle prepare",
            "monitor spawn"
        ],
        "{calls:?}"
    );
    let now = rig.get(&c.id);
    assert_eq!((now.status, now.stop_requested), (Status::Running, false));
}
