//! hullrt beside runc (/usr/sbin/runc) on the same bundle, for the process: seccomp, HOME,
//! hooks, exec, and configs runc takes. (Mounts and cgroups: runc_parity.rs.)

use std::path::PathBuf;
use std::process::Command;

use hull_e2e::runc_pair::*;
use hull_e2e::unique_id;
use serde_json::json;

/// What busybox's `echo` needs for itself once it runs.
const PROGRAM: &[&str] = &[
    "mprotect",
    "brk",
    "readlink",
    "getuid",
    "prctl",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "prlimit64",
    "getrandom",
    "rseq",
    "exit_group",
    "exit",
    "write",
];
/// What Go's runtime (runc's) may call at any moment: signal returns (it preempts threads
/// with signals), memory, scheduling.
const GO_RUNTIME: &[&str] = &[
    "rt_sigreturn",
    "rt_sigprocmask",
    "sigaltstack",
    "gettid",
    "tgkill",
    "sched_yield",
    "nanosleep",
    "mmap",
    "munmap",
    "madvise",
    "futex",
];
/// What runc 1.1 calls itself after loading the filter with noNewPrivileges (strace'd).
const RUNC_NNP: &[&str] = &[
    "execve",
    "close",
    "epoll_ctl",
    "fstatfs",
    "getdents64",
    "getpid",
    "openat",
];
/// ...and without it, where runc loads the filter before dropping privileges.
const RUNC_NO_NNP: &[&str] = &[
    "execve",
    "capget",
    "capset",
    "chdir",
    "close",
    "epoll_ctl",
    "fcntl",
    "fstat",
    "fstatfs",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "newfstatat",
    "openat",
    "read",
    "setgid",
    "setgroups",
    "setuid",
    "faccessat2",
];

/// A profile that allows only what the program and runc need (no close_range, no execveat,
/// nothing else the runtime might call for itself) works under hullrt as under runc, with
/// and without noNewPrivileges: nothing hullrt does for itself is subject to the filter.
#[test]
fn a_minimal_seccomp_profile_works_as_with_runc() {
    for (nnp, runtime_needs) in [(true, RUNC_NNP), (false, RUNC_NO_NNP)] {
        let mut c = Case::new("");
        c.b.config["process"]["args"] = json!(["/bin/echo", "ran"]);
        c.b.config["process"]["noNewPrivileges"] = json!(nnp);
        let names: Vec<&str> = PROGRAM
            .iter()
            .chain(GO_RUNTIME)
            .chain(runtime_needs)
            .copied()
            .collect();
        c.b.config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}],
        });
        for rt in BOTH {
            let (code, out, err) = c.run(rt, &unique_id(&format!("sc-{rt:?}-{nnp}")));
            assert_eq!(code, 0, "{rt:?} noNewPrivileges={nnp}: {err}");
            assert_eq!(out, "ran\n", "{rt:?} noNewPrivileges={nnp}");
        }
        // The filter is really in (seccomp mode 2), and the capabilities the program ends
        // with are runc's (none held back for loading the filter).
        c.b.config["process"]["args"] =
            json!(["/bin/grep", "-E", "^(Seccomp|Cap...):", "/proc/self/status"]);
        let names: Vec<&str> = names
            .into_iter()
            .chain([
                "read",
                "openat",
                "close",
                "fstat",
                "newfstatat",
                "lseek",
                "ioctl",
            ])
            .collect();
        c.b.config["linux"]["seccomp"]["syscalls"][0]["names"] = json!(names);
        let seen: Vec<String> = BOTH
            .iter()
            .map(|rt| c.run_ok(*rt, &unique_id(&format!("scm-{rt:?}-{nnp}"))))
            .collect();
        assert_eq!(seen[0], seen[1], "noNewPrivileges={nnp}: hullrt, runc");
        assert!(seen[0].contains("Seccomp:\t2\n"), "{}", seen[0]);
    }
}

/// `HOME` when the config has none (or an empty one): the uid's home in the container's
/// /etc/passwd, else `/`, in the container's process and in exec'd ones, as runc sets it.
#[test]
fn home_comes_from_the_containers_passwd_as_with_runc() {
    let mut c = Case::new("echo \"$HOME\"");
    std::fs::write(
        c.b.rootfs().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n",
    )
    .unwrap();
    let env = |extra: &[&str]| {
        let mut v = vec!["PATH=/bin"];
        v.extend(extra);
        json!(v)
    };
    for (uid, extra, want) in [
        (0, &[][..], "/root"),
        (1000, &[][..], "/home/u"),
        (1234, &[][..], "/"),
        (1000, &["HOME=/given"][..], "/given"),
        (1000, &["HOME="][..], "/home/u"),
    ] {
        c.b.config["process"]["user"] = json!({"uid": uid, "gid": uid});
        c.b.config["process"]["env"] = env(extra);
        for rt in BOTH {
            let out = c.run_ok(rt, &unique_id(&format!("home-{rt:?}")));
            assert_eq!(out.trim(), want, "{rt:?} uid {uid} {extra:?}");
        }
    }
    // exec into a running container, as another user, with no HOME in its environment.
    c.b.config["process"]["user"] = json!({"uid": 0, "gid": 0});
    c.b.config["process"]["args"] = json!(["sleep", "60"]);
    for rt in BOTH {
        let id = unique_id(&format!("home-exec-{rt:?}"));
        let o = c.cmd(rt, &["run", "--detach", &id]);
        assert!(o.status.success(), "{rt:?}: {o:?}");
        for (user, want) in [("0:0", "/root"), ("1000:1000", "/home/u")] {
            let o = c.cmd(rt, &["exec", "--user", user, &id, "sh", "-c", "echo $HOME"]);
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                want,
                "{rt:?} {o:?}"
            );
        }
        assert!(c.cmd(rt, &["delete", "--force", &id]).status.success());
    }
}

/// A hook that logs its kind, the status in the state on its stdin, its environment and
/// args to `log` (a path valid where the hook runs), then exits with `code`.
fn hook(kind: &str, log: &str, code: i32) -> serde_json::Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!(
            "s=$(cat); st=${{s#*\\\"status\\\":\\\"}}; echo \"{kind} ${{st%%\\\"*}} $(env | grep -v ^PWD= | tr '\\n' ' ') $0 $1\" >> {log}; exit {code}"
        ), "arg0", "arg1"],
        "env": ["HOOKVAR=1", "PATH=/usr/bin:/bin"],
    })
}

/// Hooks as runc runs them: each kind gets the state with its status on stdin, only its own
/// environment and args; a failing prestart/createRuntime/createContainer fails create and
/// removes the container, with poststop run, as runc's destroy does.
#[test]
fn hooks_as_with_runc() {
    let mut seen = Vec::new();
    for rt in BOTH {
        let mut c = Case::new("echo ran >> /hooklog");
        let host_log = c.b.path().join("hooks.log");
        let in_log = "/hooklog";
        let h = host_log.to_str().unwrap().to_string();
        let all = |fail: &str| {
            let code = |k: &str| i32::from(k == fail);
            json!({
                "prestart": [hook("prestart", &h, code("prestart"))],
                "createRuntime": [hook("createRuntime", &h, code("createRuntime"))],
                "createContainer": [hook("createContainer", &h, code("createContainer"))],
                "startContainer": [hook("startContainer", in_log, code("startContainer"))],
                "poststart": [hook("poststart", &h, code("poststart"))],
                "poststop": [hook("poststop", &h, code("poststop"))],
            })
        };
        let mut report = String::new();
        for fail in [
            "none",
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
        ] {
            c.b.config["hooks"] = all(fail);
            let _ = std::fs::remove_file(&host_log);
            let _ = std::fs::remove_file(c.b.rootfs().join("hooklog"));
            let id = unique_id(&format!("hooks-{rt:?}"));
            let create = c.cmd(rt, &["create", &id]).status.code();
            let start = c.cmd(rt, &["start", &id]).status.code();
            // The container's program appends to /hooklog too: wait for it to finish, then
            // read the status (read at once, it raced the program's exit).
            hull_e2e::wait_for(10, || {
                let o = c.cmd(rt, &["state", &id]);
                !o.status.success() || String::from_utf8_lossy(&o.stdout).contains("stopped")
            });
            let state = c.cmd(rt, &["state", &id]);
            let status = serde_json::from_slice::<serde_json::Value>(&state.stdout)
                .map(|v| v["status"].as_str().unwrap_or("").to_string())
                .unwrap_or_else(|_| "gone".into());
            let delete = c.cmd(rt, &["delete", "--force", &id]).status.code();
            report += &format!(
                "fail={fail} create={create:?} start={start:?} status={status} delete={delete:?}\n{}{}",
                std::fs::read_to_string(&host_log).unwrap_or_default(),
                std::fs::read_to_string(c.b.rootfs().join("hooklog")).unwrap_or_default(),
            );
        }
        seen.push(report);
    }
    // runc 1.1 runs poststart hooks during create, with status "created" (runc moved them
    // after start in 2026, as the spec says); hullrt runs them after start, with status
    // "running". A failing one stops the container under both: at create in runc, at start
    // in hullrt.
    assert!(seen[0].contains("\npoststart running "), "{}", seen[0]);
    assert!(seen[1].contains("\npoststart created "), "{}", seen[1]);
    assert!(
        seen[0].contains("fail=poststart create=Some(0) start=Some(1) status=stopped"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].contains("fail=poststart create=Some(1) start=Some(1) status=gone"),
        "{}",
        seen[1]
    );
    let without_poststart = |r: &str| {
        r.lines()
            .filter(|l| !l.starts_with("poststart ") && !l.starts_with("fail=poststart "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        without_poststart(&seen[0]),
        without_poststart(&seen[1]),
        "hullrt, runc"
    );
}

/// `exec` as runc 1.1 has it: 255 and "exec failed: ..." when the process cannot run (a
/// missing or paused container, in runc's words), and `--cgroup SUB` runs the process in
/// an existing sub-cgroup of the container's.
#[test]
fn exec_errors_and_sub_cgroup_as_with_runc() {
    let mut c = Case::new("sleep 60");
    c.b.namespaces(&["pid", "network", "ipc", "uts", "mount"]);
    let mut seen = Vec::new();
    for rt in BOTH {
        let path = format!("/hull-parity-exec-{}-{rt:?}", std::process::id());
        c.b.config["linux"]["cgroupsPath"] = json!(path);
        let id = unique_id(&format!("exec-{rt:?}"));
        let mut report = String::new();
        let missing = c.cmd(rt, &["exec", "no-such-container", "true"]);
        report += &format!(
            "missing: {:?} {}\n",
            missing.status.code(),
            String::from_utf8_lossy(&missing.stderr).contains("does not exist")
        );
        assert!(c.cmd(rt, &["run", "--detach", &id]).status.success());
        // The sub-cgroup in every hierarchy the container is in (as a client would make it).
        let cg = std::fs::read_to_string(format!(
            "/proc/{}/cgroup",
            serde_json::from_slice::<serde_json::Value>(&c.cmd(rt, &["state", &id]).stdout)
                .unwrap()["pid"]
        ))
        .unwrap();
        let mut made = Vec::new();
        for l in cg.lines() {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, p) = (f.next(), f.next().unwrap(), f.next().unwrap());
            let dir = if ctrl.is_empty() {
                "unified".to_string()
            } else {
                ctrl.trim_start_matches("name=").to_string()
            };
            let sub = PathBuf::from("/sys/fs/cgroup")
                .join(dir)
                .join(p.trim_start_matches('/'))
                .join("sub");
            if std::fs::create_dir(&sub).is_ok() {
                // A new cpuset cgroup takes no task until it has cpus and mems.
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    if let Ok(v) = std::fs::read_to_string(sub.parent().unwrap().join(f)) {
                        let _ = std::fs::write(sub.join(f), v.trim());
                    }
                }
                made.push(sub);
            }
        }
        let o = c.cmd(
            rt,
            &["exec", "--cgroup", "sub", &id, "cat", "/proc/self/cgroup"],
        );
        report += &format!(
            "sub-cgroup: {:?}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).replace(&path, "/PATH")
        );
        assert!(c.cmd(rt, &["pause", &id]).status.success());
        let paused = c.cmd(rt, &["exec", &id, "true"]);
        report += &format!(
            "paused: {:?} {}\n",
            paused.status.code(),
            String::from_utf8_lossy(&paused.stderr)
                .contains("cannot exec in a paused container (use --ignore-paused to override)")
        );
        assert!(c.cmd(rt, &["delete", "--force", &id]).status.success());
        for d in made {
            let _ = std::fs::remove_dir(&d);
        }
        seen.push(report);
    }
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    assert!(seen[0].contains("missing: Some(255) true\n"), "{}", seen[0]);
    assert!(seen[0].contains(":/PATH/sub\n"), "{}", seen[0]);
    assert!(seen[0].contains("paused: Some(255) true\n"), "{}", seen[0]);
}

/// Configs runc takes that hullrt refused: a hostname with a uts namespace joined by path
/// (set in that namespace), devices of type `p` (fifo) and `u`, and any ociVersion (runc does
/// not check it, even empty or absent).
#[test]
fn config_edge_cases_as_with_runc() {
    let mut c = Case::new("hostname; ls -ln /dev/ff /dev/uu | cut -c1-11,35-");
    c.b.config["linux"]["devices"] = json!([
        {"path": "/dev/ff", "type": "p", "fileMode": 0o600},
        {"path": "/dev/uu", "type": "u", "major": 1, "minor": 3, "fileMode": 0o666},
    ]);
    let mut seen = Vec::new();
    for rt in BOTH {
        let mut holder = Command::new("unshare")
            .args(["--uts", "sleep", "60"])
            .spawn()
            .unwrap();
        let pid = holder.id();
        assert!(hull_e2e::wait_for(10, || hull_e2e::ns_of(
            &pid.to_string(),
            "uts"
        ) != hull_e2e::ns_of(
            "self", "uts"
        )));
        c.b.config["hostname"] = json!(format!("joined-{rt:?}"));
        c.b.namespaces(&["pid", "network", "ipc", "mount"]);
        c.b.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "uts", "path": format!("/proc/{pid}/ns/uts")}));
        let mut report = c.run_ok(rt, &unique_id(&format!("edge-{rt:?}")));
        let out = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-u", "hostname"])
            .output()
            .unwrap();
        report += &format!("holder: {}", String::from_utf8_lossy(&out.stdout));
        let _ = holder.kill();
        let _ = holder.wait();
        for v in [json!("9.9.9"), json!("bogus"), json!(""), json!(null)] {
            let mut v2 = c.b.config.clone();
            v2["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "uts"}]);
            match v.is_null() {
                true => v2.as_object_mut().unwrap().remove("ociVersion"),
                false => v2
                    .as_object_mut()
                    .unwrap()
                    .insert("ociVersion".into(), v.clone()),
            };
            let saved = std::mem::replace(&mut c.b.config, v2);
            let (code, _, _) = c.run(rt, &unique_id(&format!("ver-{rt:?}")));
            c.b.config = saved;
            report += &format!("ociVersion {v}: {code}\n");
        }
        seen.push(report.replace(&format!("{rt:?}"), "RT"));
    }
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    assert!(seen[0].starts_with("joined-RT\n"), "{}", seen[0]);
    assert!(seen[0].contains("holder: joined-RT\n"), "{}", seen[0]);
}
