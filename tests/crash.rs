//! Crash consistency (issue 16, findings 6-11): each test stops a process at a named instant
//! (`HULL_FAULT_STOP`, hull_sys::fault_point), kills it with SIGKILL there, and checks that
//! what is left is found, reported and cleaned as the next command or `system check` says.

#[path = "hull_run_util.rs"]
mod util;

use std::process::{Command, Stdio};

use hull_e2e::{cgroup_dirs_named, cgroup_procs, kill9, stopped_at, unique_id, wait_for, Bundle};

/// Finding 9: `hullrt create` killed after init is ready but before the state is written.
/// Its init must die with it (runc's pdeathsig), and `delete --force` must remove the state
/// directory and cgroup that no `list` shows.
#[test]
fn init_dies_with_a_killed_create_and_delete_force_cleans_it() {
    let b = Bundle::new("sleep 1000");
    b.save();
    let id = unique_id("crash-create");
    let tag = unique_id("tag-create");
    let mut child = Command::new(hull_e2e::hullrt_path())
        .arg("--root")
        .arg(&b.root)
        .args(["create", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .env("HULL_FAULT_STOP", "hullrt-create-ready")
        .env("HULL_FAULT_TAG", &tag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = stopped_at("hullrt-create-ready", &tag, 20).expect("create stops at the point");
    assert_eq!(pid, child.id() as i32);
    let init = cgroup_procs(&id);
    assert_eq!(init.len(), 1, "init in the cgroup: {init:?}");
    kill9(pid);
    let _ = child.wait();
    assert!(
        wait_for(10, || cgroup_procs(&id).is_empty()),
        "init {init:?} outlived the killed create"
    );
    let out = b.hullrt(&["delete", "--force", &id]);
    assert!(out.status.success(), "delete --force: {out:?}");
    assert!(b.no_state_left(&id), "state directory left");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left");
}

/// Finding 11: a pod's container lives in the pod's cgroup, and its OOM kill is reported
/// from there (the exit hook once read only /hull/ID).
#[test]
fn oom_kill_of_a_pod_container_is_reported() {
    let h = util::Hull::new();
    h.ok(&["pod", "create", "--name", "oompod", "--network", "none"]);
    let o = h.run(&[
        "run",
        "--pod",
        "oompod",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(o.code, 137, "{}", o.stderr);
    let state = h.ok(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}} {{.State.OOMKilled}}",
        "hog",
    ]);
    assert_eq!(state.trim(), "137 true");
    h.ok(&["rm", "hog"]);
    h.ok(&["pod", "rm", "-f", "oompod"]);
    h.assert_empty();
}
