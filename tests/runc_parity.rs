//! hullrt beside runc (/usr/sbin/runc) on the same bundle: what the container sees, and what
//! the host sees of it, must be the same under both. Each check runs the bundle under each
//! runtime, with a state root of its own, and compares.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hull_e2e::{hullrt_path, unique_id, Bundle};
use serde_json::json;

const RUNC: &str = "/usr/sbin/runc";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rt {
    Hullrt,
    Runc,
}

const BOTH: [Rt; 2] = [Rt::Hullrt, Rt::Runc];

impl Rt {
    fn bin(self) -> PathBuf {
        match self {
            Rt::Hullrt => hullrt_path(),
            Rt::Runc => {
                assert!(
                    Path::new(RUNC).exists(),
                    "{RUNC} missing: apt-get install runc"
                );
                PathBuf::from(RUNC)
            }
        }
    }
}

/// A bundle run under both runtimes. runc's containers are force-deleted when it goes out
/// of scope (the Bundle deletes hullrt's).
struct Case {
    b: Bundle,
}

impl Case {
    fn new(script: &str) -> Case {
        Case {
            b: Bundle::new(script),
        }
    }

    fn state_root(&self, rt: Rt) -> PathBuf {
        match rt {
            Rt::Hullrt => self.b.root.clone(),
            Rt::Runc => self.b.path().join("runc-state"),
        }
    }

    /// `RUNTIME --root STATE ARGS...` in the bundle directory, output to files (a created
    /// container would hold a pipe open).
    fn cmd(&self, rt: Rt, args: &[&str]) -> Output {
        self.b.save();
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let status = Command::new(rt.bin())
            .arg("--root")
            .arg(self.state_root(rt))
            .args(args)
            .current_dir(self.b.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("run the runtime");
        Output {
            status,
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    /// `run ID`: (exit code, stdout, stderr).
    fn run(&self, rt: Rt, id: &str) -> (i32, String, String) {
        let o = self.cmd(rt, &["run", id]);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn run_ok(&self, rt: Rt, id: &str) -> String {
        let (code, out, err) = self.run(rt, id);
        assert_eq!(code, 0, "{rt:?} run: stdout={out} stderr={err}");
        out
    }

    fn add_caps(&mut self, caps: &[&str]) {
        for set in ["bounding", "effective", "permitted"] {
            let list = self.b.config["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap();
            for c in caps {
                list.push(json!(c));
            }
        }
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.state_root(Rt::Runc)) else {
            return;
        };
        for e in entries.flatten() {
            let _ = Command::new(RUNC)
                .arg("--root")
                .arg(self.state_root(Rt::Runc))
                .args(["delete", "--force"])
                .arg(e.file_name())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn read_all(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut v = Vec::new();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}

/// The mount at `point` in a mountinfo text: its propagation as words without the peer
/// group numbers ("shared master", "private"...).
fn propagation_of(mountinfo: &str, point: &str) -> Option<String> {
    let line = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(point))?;
    let kinds: Vec<&str> = line
        .split(' ')
        .skip(6)
        .take_while(|w| *w != "-")
        .map(|w| w.split(':').next().unwrap_or(w))
        .collect();
    Some(if kinds.is_empty() {
        "private".into()
    } else {
        kinds.join(" ")
    })
}

fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// A host directory that is a shared mount of its own (its own peer group), removed after.
struct SharedDir {
    dir: tempfile::TempDir,
}

impl SharedDir {
    fn new() -> SharedDir {
        let dir = tempfile::Builder::new()
            .prefix("hull-prop-")
            .tempdir()
            .unwrap();
        for args in [
            vec!["--bind", "DIR", "DIR"],
            vec!["--make-private", "DIR"],
            vec!["--make-shared", "DIR"],
        ] {
            let args: Vec<&str> = args
                .iter()
                .map(|a| {
                    if *a == "DIR" {
                        dir.path().to_str().unwrap()
                    } else {
                        a
                    }
                })
                .collect();
            let st = Command::new("mount").args(&args).status().unwrap();
            assert!(st.success(), "mount {args:?}");
        }
        SharedDir { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path())
            .status();
    }
}

/// A mount made in the container under an `rshared` bind of a host directory reaches the
/// host exactly when runc's does: with rootfsPropagation shared/rshared (the container's
/// mounts are peers of the host's), not with the default rslave or with rprivate. The
/// container's own view of `/` and the bind's propagation are the same as runc's too.
#[test]
fn rshared_bind_propagates_to_the_host_as_with_runc() {
    for root_prop in [
        Some("rshared"),
        Some("shared"),
        None,
        Some("rprivate"),
        Some("rslave"),
    ] {
        let mut seen = Vec::new();
        for rt in BOTH {
            let host = SharedDir::new();
            std::fs::create_dir(host.path().join("sub")).unwrap();
            let mut c = Case::new(
                "mount -t tmpfs inner /mnt/sub && echo made && \
                 grep -E ' / | /mnt ' /proc/self/mountinfo",
            );
            c.add_caps(&["CAP_SYS_ADMIN"]);
            if let Some(p) = root_prop {
                c.b.config["linux"]["rootfsPropagation"] = json!(p);
            }
            c.b.mount(json!({
                "destination": "/mnt", "type": "bind",
                "source": host.path(), "options": ["rbind", "rshared"],
            }));
            let out = c.run_ok(rt, &unique_id(&format!("prop-{rt:?}")));
            assert!(out.starts_with("made\n"), "{rt:?}: {out}");
            let sub = host.path().join("sub");
            let on_host = propagation_of(&host_mountinfo(), sub.to_str().unwrap()).is_some();
            let view = (
                on_host,
                propagation_of(&out, "/"),
                propagation_of(&out, "/mnt"),
            );
            seen.push(view);
        }
        assert_eq!(
            seen[0], seen[1],
            "rootfsPropagation {root_prop:?}: hullrt (left) differs from runc (right)"
        );
        let want_on_host = matches!(root_prop, Some("rshared") | Some("shared"));
        assert_eq!(seen[0].0, want_on_host, "rootfsPropagation {root_prop:?}");
    }
}

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

/// The mount options of the mountinfo line at `point`: per-mount ones, then the
/// filesystem's ("ro,nosuid,relatime tmpfs rw"), without ids.
fn options_of(mountinfo: &str, point: &str) -> Option<String> {
    let line = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(point))?;
    let f: Vec<&str> = line.split(' ').collect();
    let dash = f.iter().position(|w| *w == "-")?;
    Some(format!("{} {} {}", f[5], f[dash + 1], f.get(dash + 3)?))
}

/// podman's `--read-only` / `--tmpfs` mounts: a tmpfs with `tmpcopyup` starts with a copy of
/// the directory it covers (modes, owners, symlinks), and any tmpfs over a directory takes
/// that directory's mode, as under runc. `ro` applies after the copy.
#[test]
fn tmpfs_tmpcopyup_copies_what_it_covers_as_with_runc() {
    let mut c = Case::new(
        "stat -c '%n %a %u %g %F' /data /data/* /data/sub/* /plain /roc /roc/*; \
         cat /data/sub/f; touch /roc/x 2>/dev/null && echo roc-writable; \
         grep -E ' /(data|plain|roc) ' /proc/self/mountinfo | cut -d' ' -f5-",
    );
    let r = c.b.rootfs();
    for d in ["data/sub", "plain", "roc"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("data/sub/f"), "copied\n").unwrap();
    std::fs::write(r.join("roc/y"), "y\n").unwrap();
    std::os::unix::fs::symlink("sub/f", r.join("data/link")).unwrap();
    let chown = |p: &str, id: u32| {
        std::os::unix::fs::lchown(r.join(p), Some(id), Some(id + 1)).unwrap();
    };
    chown("data", 1000);
    chown("data/sub/f", 1001);
    chown("data/link", 1002);
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &str, m: u32| {
        std::fs::set_permissions(r.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    };
    chmod("data", 0o750);
    chmod("data/sub/f", 0o4755);
    chmod("plain", 0o711);
    for (dest, opts) in [
        ("/data", json!(["tmpcopyup", "nosuid"])),
        ("/plain", json!(["nosuid", "nodev"])),
        ("/roc", json!(["tmpcopyup", "ro"])),
    ] {
        c.b.mount(
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts}),
        );
    }
    let seen: Vec<String> = BOTH
        .iter()
        .map(|rt| c.run_ok(*rt, &unique_id(&format!("copyup-{rt:?}"))))
        .collect();
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    assert!(
        seen[0].contains("/data/sub/f 4755 1001 1002 regular file\n")
            && seen[0].contains("\ncopied\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains("/roc/y 644 0 0"), "{}", seen[0]);
    assert!(!seen[0].contains("roc-writable"), "{}", seen[0]);
}

/// runc's recursive options (mount_setattr with AT_RECURSIVE) reach a mount nested under an
/// rbind, where the plain forms change the top mount only; `nosymfollow` and words runc
/// does not know (passed on as data, which a bind mount ignores) are accepted alike.
#[test]
fn recursive_mount_options_reach_submounts_as_with_runc() {
    let host = SharedDir::new();
    let sub = host.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "nested"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = Case::new("cat /proc/self/mountinfo");
    let cases: &[(&str, &[&str])] = &[
        (
            "/rec",
            &["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"],
        ),
        ("/plain", &["rbind", "ro", "nosuid", "noexec"]),
        (
            "/mixed",
            &[
                "rbind",
                "rro",
                "rrw",
                "rnosymfollow",
                "nosymfollow",
                "bogus-word",
            ],
        ),
        ("/times", &["rbind", "rstrictatime", "rnodiratime"]),
    ];
    for (dest, opts) in cases {
        c.b.mount(json!({
            "destination": dest, "type": "bind", "source": host.path(), "options": opts,
        }));
    }
    let seen: Vec<Vec<Option<String>>> = BOTH
        .iter()
        .map(|rt| {
            let out = c.run_ok(*rt, &unique_id(&format!("recopt-{rt:?}")));
            cases
                .iter()
                .flat_map(|(d, _)| [d.to_string(), format!("{d}/sub")])
                .map(|p| options_of(&out, &p))
                .collect()
        })
        .collect();
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    let rec_sub = seen[0][1].as_deref().unwrap_or_default();
    assert!(
        rec_sub.starts_with("ro,nosuid,nodev,noexec,noatime "),
        "{rec_sub}"
    );
    let plain_sub = seen[0][3].as_deref().unwrap_or_default();
    assert!(plain_sub.starts_with("rw,"), "{plain_sub}");
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

/// The container's cgroups as it sees them: /proc/self/cgroup and the mounts under
/// /sys/fs/cgroup. On a hybrid host (v1 + unified at /sys/fs/cgroup/unified) it joins the
/// unified hierarchy too (`0::/PATH`), and /sys/fs/cgroup is a read-write tmpfs with the
/// hierarchies read-only, as under runc. Nothing is left in the unified hierarchy after.
#[test]
fn cgroups_seen_from_inside_as_with_runc() {
    let hybrid = host_mountinfo()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup/unified ") && l.contains(" - cgroup2 "));
    for cgroupns in [false, true] {
        let mut c = Case::new(
            "cat /proc/self/cgroup; grep ' /sys/fs/cgroup' /proc/self/mountinfo | cut -d' ' -f4-",
        );
        let mut ns = vec!["pid", "network", "ipc", "uts", "mount"];
        if cgroupns {
            ns.push("cgroup");
        }
        c.b.namespaces(&ns);
        let seen: Vec<String> = BOTH
            .iter()
            .map(|rt| {
                let path = format!("/hull-parity-{}-{rt:?}", std::process::id());
                c.b.config["linux"]["cgroupsPath"] = json!(path);
                let out = c.run_ok(*rt, &unique_id(&format!("cg-{rt:?}")));
                assert!(
                    !Path::new("/sys/fs/cgroup/unified")
                        .join(&path[1..])
                        .exists(),
                    "{rt:?} left its unified cgroup"
                );
                out.replace(&path, "/PATH")
            })
            .collect();
        assert_eq!(seen[0], seen[1], "cgroupns {cgroupns}: hullrt, runc");
        if hybrid && !cgroupns {
            assert!(seen[0].contains("\n0::/PATH\n"), "{}", seen[0]);
            assert!(seen[0].contains("/ /sys/fs/cgroup rw,"), "{}", seen[0]);
        }
    }
}

/// `update` with zeros (pids.limit, memory.limit, cpu.shares, cpu.quota, blockIO.weight)
/// leaves each limit as it was, and -1 lifts the pids limit, as runc's update does; read
/// from inside the container (v1 file names: this project's CI host runs cgroup v1).
#[test]
fn update_with_zeros_changes_nothing_as_with_runc() {
    let mut c = Case::new("sleep 60");
    c.b.namespaces(&["pid", "network", "ipc", "uts", "mount"]);
    c.b.config["linux"]["resources"] = json!({
        "pids": {"limit": 100},
        "memory": {"limit": 64 << 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    });
    let read = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes \
                /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
    let zeros = c.b.path().join("zeros.json");
    std::fs::write(
        &zeros,
        r#"{"pids": {"limit": 0}, "memory": {"limit": 0}, "cpu": {"shares": 0, "quota": 0},
            "blockIO": {"weight": 0}}"#,
    )
    .unwrap();
    let unlimited = c.b.path().join("unlimited.json");
    std::fs::write(&unlimited, r#"{"pids": {"limit": -1}}"#).unwrap();
    let mut seen = Vec::new();
    for rt in BOTH {
        let id = unique_id(&format!("upd-{rt:?}"));
        let o = c.cmd(rt, &["run", "--detach", &id]);
        assert!(o.status.success(), "{rt:?}: {o:?}");
        let inside = || {
            let o = c.cmd(rt, &["exec", &id, "sh", "-c", read]);
            assert!(o.status.success(), "{rt:?}: {o:?}");
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let before = inside();
        let step = |args: &[&str]| {
            let mut a = vec!["update"];
            a.extend(args);
            a.push(&id);
            let o = c.cmd(rt, &a);
            assert!(o.status.success(), "{rt:?} {args:?}: {o:?}");
            inside()
        };
        let after_json = step(&["-r", zeros.to_str().unwrap()]);
        let after_flags = step(&["--pids-limit", "0", "--memory", "0", "--cpu-share", "0"]);
        let after_unlimited = step(&["-r", unlimited.to_str().unwrap()]);
        assert!(c.cmd(rt, &["delete", "--force", &id]).status.success());
        assert_eq!(before, after_json, "{rt:?}");
        assert_eq!(before, after_flags, "{rt:?}");
        seen.push((before, after_unlimited));
    }
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    assert!(seen[0].1.starts_with("max\n"), "{:?}", seen[0]);
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
        ] {
            c.b.config["hooks"] = all(fail);
            let _ = std::fs::remove_file(&host_log);
            let _ = std::fs::remove_file(c.b.rootfs().join("hooklog"));
            let id = unique_id(&format!("hooks-{rt:?}"));
            let create = c.cmd(rt, &["create", &id]).status.code();
            let start = c.cmd(rt, &["start", &id]).status.code();
            // The container's program appends to /hooklog too: wait for it to finish.
            let state = c.cmd(rt, &["state", &id]);
            let status = serde_json::from_slice::<serde_json::Value>(&state.stdout)
                .map(|v| v["status"].as_str().unwrap_or("").to_string())
                .unwrap_or_else(|_| "gone".into());
            hull_e2e::wait_for(10, || {
                let o = c.cmd(rt, &["state", &id]);
                !o.status.success() || String::from_utf8_lossy(&o.stdout).contains("stopped")
            });
            let delete = c.cmd(rt, &["delete", "--force", &id]).status.code();
            report += &format!(
                "fail={fail} create={create:?} start={start:?} status={status} delete={delete:?}\n{}{}",
                std::fs::read_to_string(&host_log).unwrap_or_default(),
                std::fs::read_to_string(c.b.rootfs().join("hooklog")).unwrap_or_default(),
            );
        }
        seen.push(report);
    }
    // runc 1.1 runs poststart hooks during create, with status "created" (fixed in runc 1.2,
    // which hullrt follows: after the program started, with status "running").
    assert!(seen[0].contains("\npoststart running "), "{}", seen[0]);
    assert!(seen[1].contains("\npoststart created "), "{}", seen[1]);
    let without_poststart = |r: &str| {
        r.lines()
            .filter(|l| !l.starts_with("poststart "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        without_poststart(&seen[0]),
        without_poststart(&seen[1]),
        "hullrt, runc"
    );
}
