//! hullrt's lifecycle seen from inside the container: the process's settings and exit codes,
//! create/start/kill/delete and the state they report, hooks, `list`, and bad input leaving
//! nothing behind. (Namespaces, rootfs and mounts: tests/runtime/runtime.rs.)

use std::process::Command;
use std::time::Duration;

use hull_e2e::{cgroup_dirs_named, unique_id, wait_for, Bundle};
use serde_json::json;

#[test]
fn user_process_settings() {
    let mut b = Bundle::new(
        "id -u; id -g; id -G; pwd; echo $FOO; ulimit -n; umask; cat /proc/self/oom_score_adj",
    );
    b.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [1002, 1003], "umask": 23});
    b.config["process"]["cwd"] = json!("/work/dir");
    b.config["process"]["env"] = json!(["PATH=/bin", "FOO=bar baz"]);
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 200, "soft": 123}]);
    b.config["process"]["oomScoreAdj"] = json!(345);
    b.config["root"]["readonly"] = json!(false);
    let out = b.run_ok(&unique_id("user"));
    assert_eq!(
        out,
        "1000\n1001\n1001 1002 1003\n/work/dir\nbar baz\n123\n0027\n345\n"
    );
}

#[test]
fn exit_codes_follow_the_process() {
    let b = Bundle::new("exit 7");
    assert_eq!(b.run(&unique_id("exit")).0, 7);
    // Not pid 1 (which ignores signals it has no handler for), so SIGKILL ends it.
    let mut b = Bundle::new("kill -9 $$");
    b.namespaces(&["mount", "uts", "ipc"]);
    assert_eq!(b.run(&unique_id("sig")).0, 137);
}

#[test]
fn missing_program_fails_create_cleanly() {
    let mut b = Bundle::new("true");
    b.config["process"]["args"] = json!(["/no/such/program"]);
    let id = unique_id("noprog");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(
        err.contains("process.args[0]") && err.contains("/no/such/program"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

#[test]
fn invalid_config_names_the_field_and_leaves_nothing() {
    let mut b = Bundle::new("true");
    b.config["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "pid"}, {"type": "foo"}]);
    let id = unique_id("badns");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(
        err.contains("linux.namespaces[2].type") && err.contains("foo"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(b.no_state_left(&id));

    let mut b = Bundle::new("true");
    b.mount(
        json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["bogus!opt"]}),
    );
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    // As with runc, a word no one knows goes to the filesystem, which refuses it.
    assert!(
        err.contains("mounts[") && err.contains("bogus!opt"),
        "{err}"
    );
    assert!(b.no_state_left(&id));

    let mut b = Bundle::new("true");
    b.config["process"]["cwd"] = json!("relative");
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("process.cwd"), "{err}");

    let mut b = Bundle::new("true");
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]);
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("process.rlimits[0].type"), "{err}");
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn lifecycle_state_through_create_start_exit_delete() {
    let b = Bundle::new("read x < /dev/null; sleep 2; exit 3");
    let id = unique_id("life");
    let pidfile = b.path().join("pid");
    let out = b.hullrt(&["create", "--pid-file", pidfile.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{out:?}");
    let st = b.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["bundle"], b.path().display().to_string());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), pid.to_string());
    // The created process has not exec'd the program yet.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "hull:[init]");
    let list = b.hullrt(&["list", "--format", "json"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&id));
    assert!(b.hullrt(&["start", &id]).status.success());
    assert_eq!(b.state(&id)["status"], "running");
    assert!(!b.hullrt(&["start", &id]).status.success(), "started twice");
    let out = b.hullrt(&["delete", &id]);
    assert!(!out.status.success(), "deleted a running container");
    assert!(String::from_utf8_lossy(&out.stderr).contains("running"));
    wait_for(30, || b.state(&id)["status"] == "stopped");
    assert_eq!(b.state(&id)["status"], "stopped");
    assert_eq!(
        b.state(&id)["pid"],
        0,
        "runc's state says pid 0 once stopped"
    );
    assert!(b.hullrt(&["delete", &id]).status.success());
    assert!(!b.hullrt(&["state", &id]).status.success());
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn killed_by_someone_else_reads_stopped_and_kill_takes_names_and_numbers() {
    let mut b = Bundle::new(
        "trap 'echo got-usr1 > /tmp/usr1' USR1; touch /tmp/ready; while true; do sleep 0.05; done",
    );
    b.config["root"]["readonly"] = json!(false);
    let id = unique_id("kill");
    assert!(b.hullrt(&["run", "--detach", &id]).status.success());
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    let ready = format!("/proc/{pid}/root/tmp/ready");
    assert!(wait_for(30, || std::path::Path::new(&ready).exists()));
    assert!(b.hullrt(&["kill", &id, "USR1"]).status.success());
    // The shell creates the file before echo writes to it: wait for the line.
    let marker = format!("/proc/{pid}/root/tmp/usr1");
    let got = || std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(wait_for(30, || got() == "got-usr1\n"), "{:?}", got());
    assert!(!b.hullrt(&["kill", &id, "SIGNOPE"]).status.success());
    // Someone else kills it.
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    wait_for(30, || b.state(&id)["status"] == "stopped");
    assert_eq!(b.state(&id)["status"], "stopped");
    assert!(
        !b.hullrt(&["kill", &id, "9"]).status.success(),
        "kill of a stopped container"
    );
    assert!(b.hullrt(&["delete", &id]).status.success());
}

#[test]
fn delete_force_kills_a_running_container() {
    let b = Bundle::new("sleep 60");
    let id = unique_id("force");
    assert!(b.hullrt(&["run", "-d", &id]).status.success());
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    assert!(b.hullrt(&["kill", &id, "15"]).status.success());
    assert!(b.hullrt(&["delete", "--force", &id]).status.success());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/root")).exists() || {
            let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            s.contains(") Z ")
        }
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    let mut b = Bundle::new("echo program >> /hooklog");
    let log = b.path().join("hooklog");
    std::fs::write(&log, "").unwrap();
    b.config["root"]["readonly"] = json!(false);
    b.mount(json!({"destination": "/hooklog", "type": "bind", "source": log, "options": ["bind"]}));
    // Runtime-namespace hooks run host programs; container-namespace hooks
    // (createContainer runs before pivot_root, startContainer after) see their own mounts.
    let host_hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $(echo $s | grep -o '\"status\":\"[a-z]*\"')\" >> {}", log.display())]});
    let in_hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} >> /hooklog")]});
    b.config["hooks"] = json!({
        "createRuntime": [host_hook("createRuntime")],
        "createContainer": [host_hook("createContainer")],
        "startContainer": [in_hook("startContainer")],
        "poststart": [host_hook("poststart")],
        "poststop": [host_hook("poststop")],
    });
    b.run_ok(&unique_id("hooks"));
    let got = std::fs::read_to_string(&log).unwrap();
    let names: Vec<&str> = got.lines().map(|l| l.split(' ').next().unwrap()).collect();
    // poststart runs after start returns and may race the program's own line.
    let mut expect = vec!["createRuntime", "createContainer", "startContainer"];
    let rest: Vec<&str> = names[3..].to_vec();
    assert_eq!(names[..3], expect[..], "{got}");
    assert!(
        rest.contains(&"program") && rest.contains(&"poststart"),
        "{got}"
    );
    assert_eq!(*rest.last().unwrap(), "poststop", "{got}");
    expect.clear();
    assert!(
        got.contains("createRuntime \"status\":\"creating\""),
        "{got}"
    );
    assert!(got.contains("poststop \"status\":\"stopped\""), "{got}");
}

#[test]
fn hook_timeout_and_failure_abort_create_cleanly() {
    let mut b = Bundle::new("true");
    b.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]});
    let id = unique_id("hooktimeout");
    let t = std::time::Instant::now();
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(t.elapsed() < Duration::from_secs(4), "timeout not honoured");
    assert!(
        err.contains("createRuntime[0]") && err.contains("timed out"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
    assert!(cgroup_dirs_named(&id).is_empty());

    let mut b = Bundle::new("true");
    b.config["hooks"] = json!({"createContainer": [{"path": "/bin/false"}]});
    let (code, _, err) = b.run(&id);
    assert_eq!(code, 1);
    assert!(err.contains("createContainer[0]"), "{err}");
    assert!(b.no_state_left(&id));
}

#[test]
fn list_shows_containers() {
    let b = Bundle::new("sleep 30");
    let id = unique_id("list");
    assert!(b.hullrt(&["create", &id]).status.success());
    let out = b.hullrt(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&id) && l.contains("created")),
        "{text}"
    );
    let q = b.hullrt(&["list", "-q"]);
    assert_eq!(String::from_utf8_lossy(&q.stdout).trim(), id);
    assert!(b.hullrt(&["delete", &id]).status.success());
    assert!(b.no_state_left(&id));
}

#[test]
fn capabilities_and_no_new_privs_as_specified() {
    let mut b =
        Bundle::new("grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status");
    b.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    b.config["process"]["noNewPrivileges"] = json!(true);
    let out = b.run_ok(&unique_id("caps"));
    // As root, exec keeps the bounding set's caps permitted and effective (the program counts
    // as having full file capabilities); CHOWN=0, KILL=5, NET_BIND_SERVICE=10.
    assert!(out.contains("CapInh:\t0000000000000420"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000421"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000400"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000421"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    // As uid 1000 a program without file caps keeps only the ambient set.
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let out = b.run_ok(&unique_id("caps"));
    assert!(out.contains("CapInh:\t0000000000000420"), "{out}");
    assert!(out.contains("CapPrm:\t0000000000000400"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000400"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000421"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000400"), "{out}");
    // Without no_new_privs the flag reads 0.
    b.config["process"]["noNewPrivileges"] = json!(false);
    let out = b.run_ok(&unique_id("caps"));
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");

    let mut b = Bundle::new("true");
    b.config["process"]["capabilities"] = json!({"bounding": ["CAP_NOT_REAL"]});
    let (code, _, err) = b.run(&unique_id("badcap"));
    assert_eq!(code, 1);
    assert!(err.contains("process.capabilities.bounding"), "{err}");
}

#[test]
fn a_session_keyring_of_its_own_unless_told_otherwise() {
    let mut b = Bundle::new("grep -o '_ses\\.[^:]*' /proc/keys || echo none");
    let masked: Vec<serde_json::Value> = b.config["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| *p != "/proc/keys")
        .cloned()
        .collect();
    b.config["linux"]["maskedPaths"] = serde_json::Value::Array(masked);
    let id = unique_id("keyring");
    let out = b.run_ok(&id);
    assert!(out.lines().any(|l| l == format!("_ses.{id}")), "{out}");
    // /proc/keys lists every key this user may view, so look for this run's own name.
    let id2 = format!("{id}-shared");
    let out = b.hullrt(&["run", "--no-new-keyring", &id2]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(!text.contains(&format!("_ses.{id2}")), "{text}");
}
