//! The exit hook's decisions through the fakes (crate::ocirt::fake): the restart policy, and
//! what an exit asks of the runtime and the bundle, restarted or not.

use super::callback::{record_exit, should_restart, RESTART};
use crate::container::Container;
use crate::ocirt::fake::Rig;
use crate::Status;

fn policy(name: &str, max: u32, count: u32, by_user: bool) -> Container {
    let mut c = Container::new(
        "id".into(),
        "n".into(),
        "img".into(),
        "busybox".into(),
        Default::default(),
    );
    // "" is what hull stored before the typed config: no policy.
    c.config.restart.name = crate::container::config::Restart::parse(name).unwrap_or_default();
    c.config.restart.max_retries = max;
    c.restart_count = count;
    c.stop_requested = by_user;
    c
}

/// docker's rules: (policy, max retries, restarts so far, stopped by the user, exit code,
/// restarted).
#[test]
fn the_restart_policy_decides_as_docker() {
    let cases = [
        ("", 0, 0, false, 1, false),
        ("no", 0, 0, false, 1, false),
        ("always", 0, 0, false, 0, true),
        ("always", 0, 7, false, 137, true),
        ("always", 0, 0, true, 137, false),
        ("unless-stopped", 0, 0, false, 0, true),
        ("unless-stopped", 0, 0, true, 0, false),
        ("on-failure", 0, 0, false, 0, false),
        ("on-failure", 0, 0, false, 1, true),
        ("on-failure", 0, 99, false, 1, true),
        ("on-failure", 3, 2, false, 1, true),
        ("on-failure", 3, 3, false, 1, false),
        ("on-failure", 3, 0, true, 1, false),
        ("on-failure", 3, 0, false, 137, true),
    ];
    for (name, max, count, by_user, code, want) in cases {
        let c = policy(name, max, count, by_user);
        assert_eq!(
            should_restart(&c, code),
            want,
            "{name}:{max} after {count} restarts, by user {by_user}, code {code}"
        );
    }
}

/// Restarted: the runtime's state is deleted (waited for: the monitor creates again at
/// once), the network and mounts stay, the count goes up: restarting.
#[test]
fn an_exit_the_policy_restarts_keeps_the_bundle() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.config.restart.name = crate::container::config::Restart::parse("on-failure").unwrap();
        c.config.restart.max_retries = 2;
        c.restart_count = 1;
    });
    assert_eq!(record_exit(&rig.eng, &c.id, 3, true), RESTART);
    assert_eq!(
        rig.journal.calls(),
        ["runtime delete-start", "runtime delete-wait"]
    );
    let now = rig.get(&c.id);
    assert_eq!(
        (now.status, now.exit_code, now.restart_count),
        (Status::Restarting, 3, 2)
    );

    // The policy's limit reached: torn down, the delete waited for last.
    rig.journal.clear();
    assert_eq!(record_exit(&rig.eng, &c.id, 3, true), 0);
    assert_eq!(
        rig.journal.calls(),
        [
            "runtime delete-start",
            "bundle release",
            "runtime delete-wait"
        ]
    );
    assert_eq!(rig.get(&c.id).restart_count, 2);
}

/// hull's own recording of an exit (a dead monitor: reconcile) never restarts.
#[test]
fn an_exit_recorded_without_a_monitor_is_not_restarted() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.config.restart.name = crate::container::config::Restart::parse("always").unwrap();
    });
    assert_eq!(record_exit(&rig.eng, &c.id, 0, false), 0);
    assert!(rig.journal.calls().contains(&"bundle release".to_string()));
    assert_eq!(rig.get(&c.id).status, Status::Exited);
}

/// --rm: the exit removes the container (row and directories) once it is torn down.
#[test]
fn an_auto_removed_container_goes_with_its_exit() {
    let rig = Rig::new();
    let c = rig.container("web", |c| {
        c.status = Status::Running;
        c.config.auto_remove = true;
    });
    std::fs::create_dir_all(rig.eng.paths.container_dir(&c.id)).unwrap();
    assert_eq!(record_exit(&rig.eng, &c.id, 0, true), 0);
    assert!(!rig.exists(&c.id));
    assert!(!rig.eng.paths.container_dir(&c.id).exists());
    // An exit of a container that is gone asks nothing.
    rig.journal.clear();
    assert_eq!(record_exit(&rig.eng, &c.id, 0, true), 0);
    assert!(rig.journal.calls().is_empty());
}
