//! linux.resources and the verbs that act on a live cgroup (update, pause, resume, ps, events),
//! seen from inside the container: the cgroup files it can read, what its processes can do.
//! Every test works on cgroup v1 and v2: the container's script says which one it sees
//! (`cgroup.controllers` exists only at a cgroup2 root) and reads the matching file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hull_e2e::{cgroup_dirs_named, hullrt_path, unique_id, Bundle};
use serde_json::{json, Value};

/// Defines `cg V1FILE V2FILE`: cat the file of the cgroup version the container sees, and
/// prints "v1" or "v2" first.
const PRELUDE: &str = "if [ -e /sys/fs/cgroup/cgroup.controllers ]; then V=2; else V=1; fi; \
    echo v$V; cg() { if [ $V = 2 ]; then cat /sys/fs/cgroup/$2; else cat /sys/fs/cgroup/$1; fi; }; ";

/// How long a wait may take before the test fails: generous, because the same tests run in a
/// software-emulated cgroup v2 guest where one hullrt call takes about half a second. Waits end
/// as soon as their condition holds.
const PATIENCE: Duration = Duration::from_secs(180);

fn script(body: &str) -> String {
    format!("{PRELUDE}{body}")
}

/// The host's view: cgroup v2 when /sys/fs/cgroup is the cgroup2 root.
fn host_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Splits the container's output into its cgroup version and the remaining lines.
fn version_and_lines(out: &str) -> (bool, Vec<String>) {
    let mut lines = out.lines().map(str::to_string);
    let v = lines.next().unwrap_or_default();
    assert!(v == "v1" || v == "v2", "no version line in {out:?}");
    (v == "v2", lines.collect())
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A host directory bind-mounted read-write at /data.
fn with_data_dir(b: &mut Bundle) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    b.mount(json!({"destination": "/data", "type": "bind", "source": d.path(), "options": ["rbind", "rw"]}));
    d
}

fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts hullrt failed with exit 1 and a single error line containing every `want`.
fn fails_with(o: &std::process::Output, want: &[&str]) {
    let err = stderr_of(o);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    for w in want {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
}

/// (controllers, cgroup path) lines of /proc/PID/cgroup, as the host sees them.
fn proc_cgroups(pid: i64) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let _ = p.next()?;
            Some((p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect()
}

/// The host directory of `pid`'s cgroup for a v1 controller, or its v2 cgroup.
fn host_cgroup_dir(pid: i64, v1_controller: &str) -> PathBuf {
    let lines = proc_cgroups(pid);
    if host_v2() {
        let (_, p) = lines.iter().find(|(c, _)| c.is_empty()).unwrap();
        return PathBuf::from(format!("/sys/fs/cgroup{p}"));
    }
    let (ctrls, p) = lines
        .iter()
        .find(|(c, _)| c.split(',').any(|c| c == v1_controller))
        .unwrap_or_else(|| panic!("{v1_controller} not in /proc/{pid}/cgroup"));
    // Co-mounted controllers live in a directory named after all of them ("cpu,cpuacct"),
    // often with per-controller symlinks; the joined name always exists.
    PathBuf::from(format!("/sys/fs/cgroup/{ctrls}{p}"))
}

/// Force-deletes the container when dropped, so that a failed assertion leaves no container
/// or cgroup behind (delete --force of a deleted container does nothing).
struct Cleanup<'a>(&'a Bundle, &'a str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.hullrt(&["delete", "--force", self.1]);
    }
}

fn pid_of(b: &Bundle, id: &str) -> i64 {
    b.state(id)["pid"].as_i64().expect("pid in state")
}

#[test]
fn memory_limit_oom_kills_with_137_and_a_warning() {
    // An awk string that doubles until it hits the limit: in the emulated v2 guest it reaches
    // the OOM kill several times faster than `tail` buffering a newline-free stream.
    let mut b = Bundle::new(&script(
        "cg memory/memory.limit_in_bytes memory.max; awk 'BEGIN { s = \"xxxxxxxx\"; while (1) s = s s }'; exit $?",
    ));
    b.config["linux"]["resources"]["memory"] = json!({"limit": 32 << 20, "swap": 32 << 20});
    let id = unique_id("oom");
    let (code, out, err) = b.run(&id);
    let (_, lines) = version_and_lines(&out);
    assert_eq!(lines, ["33554432"], "{out}");
    assert_eq!(code, 137, "stdout={out} stderr={err}");
    assert!(
        err.contains(&format!("container {id} was killed by the OOM killer")),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn a_plain_sigkill_is_not_reported_as_oom() {
    let mut b = Bundle::new("kill -9 $$");
    b.namespaces(&["mount", "uts", "ipc"]);
    b.config["linux"]["resources"]["memory"] = json!({"limit": 32 << 20});
    let (code, _, err) = b.run(&unique_id("notoom"));
    assert_eq!(code, 137);
    assert!(!err.contains("OOM"), "{err}");
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let mut b = Bundle::new(&script(
        "cg pids/pids.max pids.max; i=0; while [ $i -lt 20 ]; do sleep 5 & i=$((i+1)); echo started $i; done",
    ));
    b.config["linux"]["resources"]["pids"] = json!({"limit": 8});
    let (code, out, err) = b.run(&unique_id("pids"));
    let (_, lines) = version_and_lines(&out);
    assert_eq!(lines[0], "8", "{out}");
    let started = lines.iter().filter(|l| l.starts_with("started")).count();
    // sh itself is one of the 8.
    assert!((1..8).contains(&started), "started {started}: {out}");
    assert!(err.contains("can't fork"), "{err}");
    assert_ne!(code, 0);
}

#[test]
fn cpu_quota_period_and_shares_inside_and_on_the_host() {
    let mut b = Bundle::new(&format!(
        "exec > /data/out; {}",
        script("cg cpu/cpu.cfs_quota_us cpu.max; cg cpu/cpu.cfs_period_us cpu.max; cg cpu/cpu.shares cpu.weight")
    ));
    let data = with_data_dir(&mut b);
    b.config["linux"]["resources"]["cpu"] =
        json!({"quota": 50000, "period": 100000, "shares": 512});
    let id = unique_id("cpu");
    let _cleanup = Cleanup(&b, &id);
    let o = b.hullrt(&["create", &id]);
    assert!(o.status.success(), "{o:?}");
    let pid = pid_of(&b, &id);
    let dir = host_cgroup_dir(pid, "cpu");
    if host_v2() {
        assert_eq!(read_trim(&dir.join("cpu.max")), "50000 100000");
        assert_eq!(read_trim(&dir.join("cpu.weight")), "20");
    } else {
        assert_eq!(read_trim(&dir.join("cpu.cfs_quota_us")), "50000");
        assert_eq!(read_trim(&dir.join("cpu.cfs_period_us")), "100000");
        assert_eq!(read_trim(&dir.join("cpu.shares")), "512");
    }
    assert!(b.hullrt(&["start", &id]).status.success());
    let out_file = data.path().join("out");
    wait_until("the container's output", PATIENCE, || {
        b.state(&id)["status"] == "stopped"
    });
    let out = std::fs::read_to_string(&out_file).unwrap();
    let (v2, lines) = version_and_lines(&out);
    if v2 {
        // shares 512 -> weight 1 + (512-2)*9999/262142, as runc converts.
        assert_eq!(lines, ["50000 100000", "50000 100000", "20"], "{out}");
    } else {
        assert_eq!(lines, ["50000", "100000", "512"], "{out}");
    }
    assert!(b.hullrt(&["delete", &id]).status.success());
}

#[test]
fn cpuset_is_honoured() {
    let mut b = Bundle::new("grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status");
    b.config["linux"]["resources"]["cpu"] = json!({"cpus": "0", "mems": "0"});
    let out = b.run_ok(&unique_id("cpuset"));
    assert_eq!(
        out, "Cpus_allowed_list:\t0\nMems_allowed_list:\t0\n",
        "{out}"
    );
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let mut b =
        Bundle::new("i=0; while true; do i=$((i+1)); echo $i > /data/count; sleep 0.05; done");
    let data = with_data_dir(&mut b);
    let count = data.path().join("count");
    let id = unique_id("pause");
    let _cleanup = Cleanup(&b, &id);
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    let pid = pid_of(&b, &id);
    let n = || read_trim(&count).parse::<u64>().unwrap_or(0);
    wait_until("the counter", PATIENCE, || n() >= 3);

    let o = b.hullrt(&["pause", &id]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(b.state(&id)["status"], "paused");
    let frozen = if host_v2() {
        let events = std::fs::read_to_string(host_cgroup_dir(pid, "").join("cgroup.events"));
        events.unwrap().lines().any(|l| l == "frozen 1")
    } else {
        // v1's freezer holds tasks in the kernel's frozen state, which /proc shows as D.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let dir = host_cgroup_dir(pid, "freezer");
        status.contains("State:\tD") && read_trim(&dir.join("freezer.state")) == "FROZEN"
    };
    assert!(frozen, "container init is not frozen");
    let before = n();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(n(), before, "the counter advanced while paused");
    fails_with(
        &b.hullrt(&["pause", &id]),
        &["container not running", "paused"],
    );

    let o = b.hullrt(&["resume", &id]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(b.state(&id)["status"], "running");
    wait_until("the counter to go on", PATIENCE, || n() > before + 2);
    fails_with(&b.hullrt(&["resume", &id]), &["not paused", "running"]);

    // A paused container can be force-deleted: its processes are thawed to die.
    assert!(b.hullrt(&["pause", &id]).status.success());
    let o = b.hullrt(&["delete", "--force", &id]);
    assert!(o.status.success(), "{o:?}");
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn update_changes_limits_seen_inside() {
    let mut b = Bundle::new(&format!(
        "while [ ! -e /data/go ]; do sleep 0.05; done; exec > /data/out; {} echo > /data/done",
        script("cg memory/memory.limit_in_bytes memory.max; cg pids/pids.max pids.max;")
    ));
    b.config["linux"]["resources"] = json!({"memory": {"limit": 32 << 20}, "pids": {"limit": 10}});
    let data = with_data_dir(&mut b);
    let id = unique_id("update");
    let _cleanup = Cleanup(&b, &id);
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    let o = b.hullrt(&["update", "--memory", "64M", &id]);
    assert!(o.status.success(), "{o:?}");
    let file = data.path().join("res.json");
    std::fs::write(&file, r#"{"pids": {"limit": 42}}"#).unwrap();
    let o = b.hullrt(&["update", "--resources", file.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{o:?}");
    std::fs::write(data.path().join("go"), "").unwrap();
    let done = data.path().join("done");
    wait_until("the container's output", PATIENCE, || done.exists());
    let out = std::fs::read_to_string(data.path().join("out")).unwrap();
    let (_, lines) = version_and_lines(&out);
    assert_eq!(lines, ["67108864", "42"], "{out}");
    wait_until("the container to stop", PATIENCE, || {
        b.state(&id)["status"] == "stopped"
    });
    fails_with(
        &b.hullrt(&["update", "--pids-limit", "5", &id]),
        &["not running"],
    );
    assert!(b.hullrt(&["delete", &id]).status.success());
}

#[test]
fn ps_and_events_stats() {
    // Ready once the forked child has exec'd sleep (it is a copy of sh until then).
    let mut b = Bundle::new(
        "sleep 30 & until read c < /proc/$!/comm && [ $c = sleep ]; do :; done; \
         echo ok > /data/ready; wait",
    );
    b.config["linux"]["resources"] = json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 50}});
    let data = with_data_dir(&mut b);
    let id = unique_id("ps");
    let _cleanup = Cleanup(&b, &id);
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    wait_until("the child", PATIENCE, || data.path().join("ready").exists());
    let init = pid_of(&b, &id);

    let o = b.hullrt(&["ps", "--format", "json", &id]);
    assert!(o.status.success(), "{o:?}");
    let pids: Vec<i64> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&init), "{pids:?} lacks init {init}");
    let child = *pids.iter().find(|p| **p != init).unwrap();
    let comm = read_trim(Path::new(&format!("/proc/{child}/comm")));
    assert_eq!(comm, "sleep");

    let o = b.hullrt(&["ps", &id]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.lines().next().unwrap().contains("PID"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.contains("sleep 30"), "{table}");
    let o = b.hullrt(&["ps", &id, "--", "-o", "pid,comm"]);
    let table = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = table.lines().map(str::trim).collect();
    assert_eq!(rows[0].split_whitespace().next(), Some("PID"), "{table}");
    assert!(rows.contains(&format!("{child} sleep").as_str()), "{table}");

    let o = b.hullrt(&["events", "--stats", &id]);
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    let ev: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    let data = &ev["data"];
    assert_eq!(data["memory"]["usage"]["limit"], 64 << 20, "{data}");
    assert!(
        data["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{data}"
    );
    assert_eq!(data["pids"]["current"], 2, "{data}");
    assert_eq!(data["pids"]["limit"], 50, "{data}");
    assert!(
        data["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "{data}"
    );

    assert!(b.hullrt(&["delete", "--force", &id]).status.success());
}

#[test]
fn events_stream_reports_oom_and_ends_with_the_container() {
    // The container allocates only once the test has seen the stream start.
    let mut b = Bundle::new(
        "while [ ! -e /data/go ]; do sleep 0.05; done; awk 'BEGIN { s = \"xxxxxxxx\"; while (1) s = s s }'; sleep 0.3",
    );
    b.config["linux"]["resources"]["memory"] = json!({"limit": 32 << 20, "swap": 32 << 20});
    let data = with_data_dir(&mut b);
    let id = unique_id("events");
    let _cleanup = Cleanup(&b, &id);
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    let log = data.path().join("events.log");
    let mut events = Command::new(hullrt_path())
        .arg("--root")
        .arg(&b.root)
        .args(["events", "--interval", "200ms", &id])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_until("a stats event", PATIENCE, || {
        read_trim(&log).contains("\"stats\"")
    });
    std::fs::write(data.path().join("go"), "").unwrap();
    let end = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = events.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = events.kill();
            let st = b.state(&id)["status"].clone();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String = log.lines().rev().take(2).collect::<Vec<_>>().join("\n");
            panic!("events did not exit; container is {st}; last events:\n{tail}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let evs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        evs.iter().any(|e| *e == json!({"type": "oom", "id": id})),
        "{text}"
    );
    assert!(evs.iter().all(|e| e["id"] == id.as_str()));
    assert!(evs
        .iter()
        .any(|e| e["type"] == "stats" && e["data"]["memory"].is_object()));
    assert!(b.hullrt(&["delete", &id]).status.success());
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let b = Bundle::new("true");
    let missing = unique_id("missing");
    for verb in ["pause", "resume", "ps", "events"] {
        fails_with(&b.hullrt(&[verb, &missing]), &[&missing, "does not exist"]);
    }
    fails_with(
        &b.hullrt(&["update", "--pids-limit", "5", &missing]),
        &["does not exist"],
    );
    let id = unique_id("badupdate");
    let _cleanup = Cleanup(&b, &id);
    assert!(b.hullrt(&["create", &id]).status.success());
    fails_with(
        &b.hullrt(&["update", "--memory", "12x", &id]),
        &["--memory", "12x"],
    );
    fails_with(
        &b.hullrt(&["update", "--cpu-share", "-5", &id]),
        &["--cpu-share"],
    );
    fails_with(
        &b.hullrt(&["update", "--blkio-weight", "5000", &id]),
        &["--blkio-weight", "10 to 1000"],
    );
    fails_with(
        &b.hullrt(&["update", "--pids-limit", "many", &id]),
        &["--pids-limit"],
    );
    fails_with(
        &b.hullrt(&["events", "--interval", "soon", &id]),
        &["--interval"],
    );
    let file = b.path().join("bad.json");
    std::fs::write(&file, r#"{"memory": {"limit": "lots"}}"#).unwrap();
    fails_with(
        &b.hullrt(&["update", "-r", file.to_str().unwrap(), &id]),
        &["linux.resources.memory.limit"],
    );
    fails_with(&b.hullrt(&["resume", &id]), &["not paused", "created"]);
    // A created container can be updated and paused, as with runc.
    let o = b.hullrt(&["update", "--pids-limit", "20", &id]);
    assert!(o.status.success(), "{o:?}");
    assert!(b.hullrt(&["pause", &id]).status.success());
    assert_eq!(b.state(&id)["status"], "paused");
    assert!(b.hullrt(&["resume", &id]).status.success());
    assert_eq!(b.state(&id)["status"], "created");
    assert!(b.hullrt(&["start", &id]).status.success());
    wait_until("the container to stop", PATIENCE, || {
        b.state(&id)["status"] == "stopped"
    });
    fails_with(&b.hullrt(&["pause", &id]), &["not running"]);
    fails_with(&b.hullrt(&["events", "--stats", &id]), &["not running"]);
    assert!(b.hullrt(&["delete", &id]).status.success());
}

#[test]
fn cgroups_path_absolute_and_relative() {
    let parent = unique_id("hull-e2e-cgpath");
    for (n, path) in [format!("/{parent}/abs"), format!("{parent}/rel")]
        .iter()
        .enumerate()
    {
        let mut b = Bundle::new("sleep 30");
        b.config["linux"]["cgroupsPath"] = json!(path);
        let id = format!("{parent}-{n}");
        let o = b.hullrt(&["create", &id]);
        assert!(o.status.success(), "{o:?}");
        let pid = pid_of(&b, &id);
        let want = format!("/{}", path.trim_start_matches('/'));
        let lines = proc_cgroups(pid);
        let managed: Vec<_> = lines
            .iter()
            .filter(|(c, _)| host_v2() || !c.is_empty())
            .collect();
        assert!(!managed.is_empty());
        for (c, p) in &managed {
            assert_eq!(*p, want, "hierarchy {c:?} of {lines:?}");
        }
        let leaf = Path::new(&want).file_name().unwrap().to_str().unwrap();
        assert!(host_cgroup_dir(pid, "memory").ends_with(want.trim_start_matches('/')));
        assert!(!cgroup_dirs_named(leaf).is_empty());
        assert!(b.hullrt(&["delete", "--force", &id]).status.success());
        let left: Vec<_> = cgroup_dirs_named(&parent)
            .into_iter()
            .filter(|d| d.join(leaf).exists())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
    // The parents were made for the container; nothing removes them but us.
    for d in cgroup_dirs_named(&parent) {
        let _ = std::fs::remove_dir(d);
    }
}

/// The files hullrt (every process it makes) opens over create, start, exec and delete of one
/// container, run under strace after `setup` in a private mount namespace: each path once,
/// with the container's id, pids and fd numbers made generic (delete polls a file a varying
/// number of times).
fn opens_over_lifecycle(b: &Bundle, setup: &str) -> std::collections::BTreeSet<String> {
    let id = unique_id("mi");
    b.save();
    let trace = b.path().join(format!("trace-{id}"));
    let rt = format!("{} --root {}", hullrt_path().display(), b.root.display());
    let lifecycle = format!(
        "{rt} create {id} && {rt} start {id} && {rt} exec {id} true; {rt} delete --force {id}"
    );
    let script = format!(
        "{setup} strace -f -qq -e trace=open,openat,openat2 -o {} sh -c '{lifecycle}'",
        trace.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .current_dir(b.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let generic = |p: &str| -> String {
        let p = p.replace(&id, "ID");
        let mut out = String::new();
        let mut digits = false;
        for c in p.chars() {
            if c.is_ascii_digit() {
                if !digits {
                    out.push('N');
                }
                digits = true;
            } else {
                digits = false;
                out.push(c);
            }
        }
        out
    };
    text.lines()
        .filter_map(|l| l.split('"').nth(1))
        // sh's and the dynamic loader's files are not hullrt's.
        .filter(|p| !p.starts_with("/etc/ld.so") && !p.starts_with("/lib"))
        .map(generic)
        .collect()
}

/// issue 23: no cost of hullrt's grows with the mounts on the host (2-3 per container): it
/// never reads /proc/self/mountinfo for a plain container, and 300 more mounts change
/// nothing in what it opens.
#[test]
fn lifecycle_does_not_scan_mountinfo() {
    let mut b = Bundle::new("sleep 60");
    b.config["process"]["args"] = json!(["sleep", "60"]);
    let plain = opens_over_lifecycle(&b, "");
    let extra = tempfile::tempdir().unwrap();
    let mounts = format!(
        "for i in $(seq 300); do mkdir -p {d}/$i && mount -t tmpfs m {d}/$i || exit 1; done;",
        d = extra.path().display()
    );
    let crowded = opens_over_lifecycle(&b, &mounts);
    let scans: Vec<&String> = plain.iter().filter(|p| p.contains("mountinfo")).collect();
    assert!(scans.is_empty(), "hullrt read {scans:?}");
    assert_eq!(
        plain, crowded,
        "hullrt opened other files with 300 more mounts"
    );
}
