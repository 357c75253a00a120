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
