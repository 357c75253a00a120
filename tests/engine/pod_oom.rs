//! A pod's container killed by the OOM killer at the pod's memory limit (`pod create
//! --memory`, no limit of its own): the process dies of SIGKILL (137) and inspect says
//! OOMKilled. The kill is counted in the container's cgroup under the pod's parent, which the
//! exit hook must read there (it once read /hull/ID only: 'false'); crash.rs covers a limit
//! of the container's own.

use hull_e2e::hull::Hull;

#[test]
fn a_pod_container_killed_at_the_pods_limit_is_oom_killed() {
    let h = Hull::new();
    let pod = hull_e2e::unique_id("oompodlim");
    h.ok(&[
        "pod",
        "create",
        "--name",
        &pod,
        "--network",
        "none",
        "--memory",
        "16m",
    ]);
    let o = h.run(&[
        "run",
        "--pod",
        &pod,
        "--name",
        "hog",
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
    h.ok(&["pod", "rm", "-f", &pod]);
    h.assert_empty();
}
