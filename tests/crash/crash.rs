//! Crash consistency (issue 16, findings 6-11): each test stops a process at a named instant
//! (`HULL_FAULT_STOP`, hull_sys::fault_point), kills it with SIGKILL there, and checks that
//! what is left is found, reported and cleaned as the next command or `system check` says.

use std::process::{Command, Stdio};

use hull_e2e::hull::Hull;
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
    let h = Hull::new();
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

/// `hull ARGS` with the fault point set; waits until hull (or the process of `tag` that
/// reaches `point`) stops there, kills it with SIGKILL and reaps hull.
fn kill_at(h: &Hull, args: &[&str], point: &str) {
    let tag = unique_id(&format!("tag-{point}"));
    let mut child = h
        .cmd(args)
        .env("HULL_FAULT_STOP", point)
        .env("HULL_FAULT_TAG", &tag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = stopped_at(point, &tag, 30).unwrap_or_else(|| panic!("nothing stopped at {point}"));
    kill9(pid);
    if pid == child.id() as i32 {
        let _ = child.wait();
    } else {
        kill9(child.id() as i32);
        let _ = child.wait();
    }
}

fn state(h: &Hull, name: &str) -> String {
    h.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        name,
    ])
    .trim()
    .to_string()
}

/// What `system check` says, and whether it found nothing.
fn check(h: &Hull, repair: bool) -> (bool, String) {
    let mut args = vec!["system", "check"];
    if repair {
        args.push("--repair");
    }
    let o = h.run(&args);
    (
        o.code == 0 && o.stdout.trim() == "no leftovers",
        o.stdout + &o.stderr,
    )
}

/// Finding 6: `hull run -d` killed after the monitor started the container, before hull
/// recorded it: the container runs, so the next command says running, exec works, and
/// `system check --repair` leaves its network alone.
#[test]
fn a_run_killed_before_recording_is_adopted() {
    let h = Hull::new();
    kill_at(
        &h,
        &["run", "-d", "--name", "adopted", "busybox", "sleep", "1000"],
        "hull-start-started",
    );
    assert_eq!(state(&h, "adopted"), "running 0");
    let o = h.run(&["exec", "adopted", "cat", "/sys/class/net/eth0/operstate"]);
    assert_eq!((o.code, o.stdout.trim()), (0, "up"), "{}", o.stderr);
    let (clean, out) = check(&h, false);
    assert!(clean, "system check on a healthy system: {out}");
    let (clean, out) = check(&h, true);
    assert!(clean, "system check --repair on a healthy system: {out}");
    let o = h.run(&["exec", "adopted", "cat", "/sys/class/net/eth0/operstate"]);
    assert_eq!(
        (o.code, o.stdout.trim()),
        (0, "up"),
        "eth0 after repair: {}",
        o.stderr
    );
    h.ok(&["stop", "-t", "1", "adopted"]);
    h.ok(&["start", "adopted"]);
    assert_eq!(state(&h, "adopted"), "running 0");
    h.ok(&["rm", "-f", "adopted"]);
    h.assert_empty();
}

fn monitor_pid(h: &Hull, name: &str) -> i32 {
    let id = h.id(name);
    let f = h.runroot().join("containers").join(&id).join("monitor.pid");
    std::fs::read_to_string(&f)
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        .trim()
        .parse()
        .unwrap()
}

/// SIGKILL to the container's monitor; returns once it is gone.
fn kill_monitor(h: &Hull, name: &str) {
    let pid = monitor_pid(h, name);
    kill9(pid);
    assert!(wait_for(10, || hull_e2e::proc_state(pid).is_none()));
}

/// Finding 7: a container's monitor killed. `system check` names the orphan; stop kills it
/// through the runtime and leaves no runtime state or mount; start works again; rm -f and
/// `--repair` clean it too.
#[test]
fn a_container_whose_monitor_died_stops_starts_and_is_repaired() {
    let h = Hull::new();
    h.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "1000"]);
    let id = h.id("orphan");
    let rt = h.runroot().join("runtime").join(&id);
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&id)
    };
    kill_monitor(&h, "orphan");
    let (clean, out) = check(&h, false);
    assert!(!clean && out.contains("runs without its monitor"), "{out}");
    h.ok(&["stop", "-t", "1", "orphan"]);
    // sleep as pid 1 ignores SIGTERM: KILL after the timeout, as docker.
    assert_eq!(state(&h, "orphan"), "exited 137");
    assert!(!rt.exists(), "runtime state left after stop");
    assert!(!mounted(), "mounts left after stop");
    h.ok(&["start", "orphan"]);
    assert_eq!(state(&h, "orphan"), "running 0");
    assert_eq!(h.ok(&["exec", "orphan", "echo", "back"]).trim(), "back");

    kill_monitor(&h, "orphan");
    let (_, out) = check(&h, true);
    assert!(out.contains("runs without its monitor"), "{out}");
    let (clean, out) = check(&h, false);
    assert!(clean, "after --repair: {out}");
    assert_eq!(state(&h, "orphan"), "exited 137");
    assert!(!rt.exists() && !mounted(), "left after --repair");

    h.ok(&["start", "orphan"]);
    kill_monitor(&h, "orphan");
    h.ok(&["rm", "-f", "orphan"]);
    h.assert_empty();
}

/// GET / on 127.0.0.1:`port`: the body, once it answers "served" (or None after 60 s).
fn fetch(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut body = None;
    wait_for(60, || {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.contains("served") {
                body = Some(b);
                return true;
            }
        }
        false
    });
    body
}

/// Finding 10: a healthy pod with a published port is not a leftover: `system check`
/// reports nothing, `--repair` changes nothing, and the port still reaches the pod.
#[test]
fn system_check_leaves_a_healthy_pod_alone() {
    let h = Hull::new();
    let port = 20000 + (std::process::id() % 20000) as u16 + 7;
    h.ok(&[
        "pod",
        "create",
        "--name",
        "okpod",
        "-p",
        &format!("{port}:80"),
    ]);
    h.ok(&[
        "run",
        "-d",
        "--pod",
        "okpod",
        "--name",
        "okpod-srv",
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo served > /www/index.html && httpd -f -p 80 -h /www",
    ]);
    assert!(fetch(port).is_some(), "port {port} never answered");
    let (clean, out) = check(&h, false);
    assert!(clean, "system check on a healthy pod: {out}");
    let (clean, out) = check(&h, true);
    assert!(clean, "system check --repair on a healthy pod: {out}");
    assert!(fetch(port).is_some(), "port {port} lost after --repair");
    let (clean, out) = check(&h, false);
    assert!(clean, "system check after --repair: {out}");
    h.ok(&["pod", "rm", "-f", "okpod"]);
    h.assert_empty();
}

/// Whether a link named `name` exists, or any nft rule names it.
fn link_or_rule(name: &str) -> (bool, bool) {
    let link = Command::new("ip")
        .args(["link", "show", name])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    let nft = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    (link, String::from_utf8_lossy(&nft.stdout).contains(name))
}

/// Finding 8: `network create` killed after its bridge, route and rules were made but before
/// its row was committed, and `network rm` killed after its row went but before the bridge
/// did: `system check` sees the bridge and rules that no network owns, `--repair` removes
/// them, and nothing else.
#[test]
fn a_killed_network_create_or_rm_is_found_and_repaired() {
    let h = Hull::new();
    let br = format!("hc{}", std::process::id() % 1_000_000);
    let opt = format!("com.docker.network.bridge.name={br}");
    kill_at(
        &h,
        &["network", "create", "-o", &opt, "halfnet"],
        "hull-network-create-commit",
    );
    assert_eq!(
        link_or_rule(&br),
        (true, true),
        "the killed create made nothing"
    );
    assert!(h.run(&["network", "inspect", "halfnet"]).code != 0);
    let (clean, out) = check(&h, false);
    assert!(!clean && out.contains(&br), "{out}");
    let (_, out) = check(&h, true);
    assert!(out.contains(&br), "{out}");
    assert_eq!(link_or_rule(&br), (false, false), "left after --repair");
    let (clean, out) = check(&h, false);
    assert!(clean, "after --repair: {out}");

    h.ok(&["network", "create", "-o", &opt, "halfnet"]);
    let (clean, out) = check(&h, false);
    assert!(clean, "a healthy network: {out}");
    kill_at(&h, &["network", "rm", "halfnet"], "hull-network-rm-down");
    assert!(h.run(&["network", "inspect", "halfnet"]).code != 0);
    assert_eq!(link_or_rule(&br), (true, true));
    let (clean, out) = check(&h, false);
    assert!(!clean && out.contains(&br), "{out}");
    check(&h, true);
    assert_eq!(link_or_rule(&br), (false, false), "left after --repair");
    let (clean, out) = check(&h, false);
    assert!(clean, "after --repair: {out}");
}

/// `rm` killed after the row went, before the directories did: `system check` finds the
/// directories of no container and `--repair` removes them.
#[test]
fn a_killed_rm_leaves_nothing_after_repair() {
    let h = Hull::new();
    h.ok(&["run", "-d", "--name", "gone", "busybox", "sleep", "1000"]);
    let id = h.id("gone");
    kill_at(&h, &["rm", "-f", "gone"], "hull-rm-files");
    assert!(h.run(&["inspect", "gone"]).code != 0, "the row is gone");
    assert!(h.root().join("containers").join(&id).exists());
    let (clean, out) = check(&h, false);
    assert!(!clean && out.contains(&id), "{out}");
    check(&h, true);
    let (clean, out) = check(&h, false);
    assert!(clean, "after --repair: {out}");
    h.assert_empty();
}

/// `pod create` killed after the runtime created the infra, before it started it: `pod rm -f`
/// removes the half-made pod whole (its created infra, its pinned network namespace, its
/// cgroup parent), and `system check` then finds nothing to repair.
#[test]
fn pod_rm_of_a_half_made_pod_removes_its_network_namespace() {
    let h = Hull::new();
    kill_at(
        &h,
        &["pod", "create", "--name", "half"],
        "hull-pod-infra-created",
    );
    let v: serde_json::Value = serde_json::from_str(&h.ok(&["pod", "inspect", "half"])).unwrap();
    let id = v[0]["Id"]
        .as_str()
        .or(v["Id"].as_str())
        .unwrap()
        .to_string();
    let pinned = h.runroot().join("netns").join(&id);
    assert!(
        pinned.exists(),
        "the killed create pinned {}",
        pinned.display()
    );
    h.ok(&["pod", "rm", "-f", "half"]);
    assert!(
        !pinned.exists(),
        "pinned namespace left: {}",
        pinned.display()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&id), "a mount of pod {id} left");
    assert!(
        cgroup_procs(&id).is_empty(),
        "the created infra's init left"
    );
    let (clean, out) = check(&h, false);
    assert!(clean, "after pod rm -f: {out}");
    h.assert_empty();
}

/// The layer directories under the store's layers/.
fn layer_dirs(h: &Hull) -> Vec<String> {
    std::fs::read_dir(h.root().join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// What a killed pull, load or rmi leaves in the image store: a layer directory without its
/// row (killed between the rename and the commit), an image whose layer is gone. `system
/// check` reports both; `--repair` removes the directory and the broken image (a load or
/// import brings it back whole), and leaves busybox alone.
#[test]
fn image_store_leftovers_are_found_and_repaired() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("rootfs")).unwrap();
    std::fs::write(tmp.path().join("rootfs/data"), "mine\n").unwrap();
    let tar = tmp.path().join("one.tar");
    let st = std::process::Command::new("tar")
        .arg("-C")
        .arg(tmp.path().join("rootfs"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let tar = tar.to_str().unwrap();
    let before = layer_dirs(&h);
    h.ok(&["import", tar, "one:1"]);
    let (clean, out) = check(&h, false);
    assert!(clean, "a healthy store: {out}");
    let mine: Vec<String> = layer_dirs(&h)
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    std::fs::remove_dir_all(h.root().join("layers").join(&mine[0])).unwrap();
    let stray = h.root().join("layers").join("ab".repeat(32));
    std::fs::create_dir_all(stray.join("etc")).unwrap();

    let (clean, out) = check(&h, false);
    assert!(
        !clean
            && out.contains("layer directory abababababab")
            && out.contains(&format!("needs layer {}", &mine[0][..12])),
        "{out}"
    );
    let (_, out) = check(&h, true);
    assert!(out.contains("abababababab"), "{out}");
    let (clean, out) = check(&h, false);
    assert!(clean, "after --repair: {out}");
    assert!(!stray.exists());
    let images = h.ok(&["images", "--format", "{{.Repository}}"]);
    assert!(!images.contains("one"), "{images}");
    h.ok(&["run", "--rm", "busybox", "true"]);
    h.ok(&["import", tar, "one:1"]);
    let saved = tmp.path().join("saved.tar");
    h.ok(&["save", "-o", saved.to_str().unwrap(), "one:1"]);
}

/// `volume rm` killed after it moved the directory aside, before it deleted the row: the
/// volume still lists, `system check` names the unfinished removal and `--repair` ends it,
/// and a new volume of the same name starts empty (it never adopts the removed data).
#[test]
fn a_killed_volume_rm_is_finished_by_repair_and_its_data_never_comes_back() {
    let h = Hull::new();
    h.ok(&["volume", "create", "keep"]);
    h.ok(&["volume", "create", "doomed"]);
    h.ok(&[
        "run",
        "--rm",
        "-v",
        "doomed:/d",
        "-v",
        "keep:/k",
        "busybox",
        "sh",
        "-c",
        "echo secret > /d/f && echo kept > /k/f",
    ]);
    kill_at(&h, &["volume", "rm", "doomed"], "hull-volume-renamed");
    let (clean, out) = check(&h, false);
    assert!(!clean && out.contains("doomed"), "{out}");
    check(&h, true);
    let (clean, out) = check(&h, false);
    assert!(clean, "after --repair: {out}");
    let names = h.ok(&["volume", "ls", "-q"]);
    assert!(
        !names.contains("doomed") && names.contains("keep"),
        "{names}"
    );
    h.ok(&["volume", "create", "doomed"]);
    let seen = h.ok(&[
        "run",
        "--rm",
        "-v",
        "doomed:/d",
        "-v",
        "keep:/k",
        "busybox",
        "sh",
        "-c",
        "ls -A /d; cat /k/f",
    ]);
    assert_eq!(
        seen, "kept\n",
        "the new volume must be empty, the other kept"
    );
}
