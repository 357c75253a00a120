//! Real-kernel behaviour: each test builds a filter, forks, loads the filter in the child and
//! looks at what the child's syscalls return (or how it dies).
//!
//! The test harness is multi-threaded, so after `fork` the child does only what is
//! async-signal-safe: the filter and every C string are built before the fork, the child makes
//! raw system calls through libc (load() itself is one seccomp(2) call) and leaves with
//! `_exit`. Exit codes > 0 say which check failed.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use hull_seccomp::{compile, default_profile, load, parse_oci, Filter};
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult, Pid};

fn filter(json: &str) -> Filter {
    compile(&parse_oci(json.as_bytes()).unwrap()).unwrap()
}

fn errno() -> i32 {
    nix::errno::Errno::last_raw()
}

/// Forks; the child disables core dumps, loads `filter`, runs `body` and `_exit`s with its
/// result (99 if loading failed). Returns the child's pid to the parent, which must reap it.
fn spawn(filter: &Filter, body: impl FnOnce(Option<OwnedFd>) -> i32) -> Pid {
    // SAFETY: see the module comment: in the child only raw system calls follow, then _exit.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: setrlimit reads the struct we pass; a SIGSYS death should not dump core.
            unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
            let code = match load(filter) {
                Ok(fd) => body(fd),
                Err(_) => 99,
            };
            // SAFETY: _exit ends the child without running the parent's atexit handlers or
            // touching its (copied) locks.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    }
}

fn run(filter: &Filter, body: impl FnOnce(Option<OwnedFd>) -> i32) -> WaitStatus {
    let child = spawn(filter, body);
    waitpid(child, None).expect("waitpid")
}

fn assert_exit0(st: WaitStatus) {
    assert!(matches!(st, WaitStatus::Exited(_, 0)), "child: {st:?}");
}

#[test]
fn errno_action_returns_errno_ret() {
    let f = filter(
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG"],
            "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("denied");
    let path = CString::new(target.to_str().unwrap()).unwrap();
    let st = run(&f, |fd| {
        if fd.is_some() {
            return 1;
        }
        // SAFETY: `path` is a valid C string that outlives the call.
        if unsafe { libc::mkdir(path.as_ptr(), 0o755) } != -1 {
            return 2;
        }
        if errno() != libc::EACCES {
            return 3;
        }
        // SAFETY: getpid has no arguments and cannot fail.
        if unsafe { libc::getpid() } <= 0 {
            return 4;
        }
        0
    });
    assert_exit0(st);
    assert!(!target.exists());
}

#[test]
fn kill_and_trap_actions_end_the_child_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
    ] {
        let f = filter(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],"action":"{action}"}}]}}"#
        ));
        let st = run(&f, |_| {
            // SAFETY: getppid has no arguments.
            unsafe { libc::getppid() };
            0
        });
        assert!(
            matches!(st, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
            "{action}: {st:?}"
        );
    }
}

fn personality(persona: libc::c_ulong) -> (i32, i32) {
    // SAFETY: personality takes a plain integer.
    let r = unsafe { libc::personality(persona) };
    (r, if r == -1 { errno() } else { 0 })
}

#[test]
fn argument_condition_both_ways() {
    // Deny personality unless arg0 == 0.
    let f = filter(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],
            "action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":0,"op":"SCMP_CMP_NE"}]}]}"#,
    );
    let st = run(&f, |_| {
        if personality(0).0 == -1 {
            return 1;
        }
        if personality(0xffff_ffff) != (-1, libc::EPERM) {
            return 2;
        }
        0
    });
    assert_exit0(st);
}

#[test]
fn conditions_on_the_same_argument_or() {
    // Two conditions on arg 0: as in runc, one rule each, so either value matches.
    let f = filter(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],
            "action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[
                {"index":0,"value":8,"op":"SCMP_CMP_EQ"},
                {"index":0,"value":131072,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    let st = run(&f, |_| {
        if personality(8) != (-1, libc::EPERM) {
            return 1;
        }
        if personality(131072) != (-1, libc::EPERM) {
            return 2;
        }
        if personality(0xffff_ffff).0 == -1 {
            return 3;
        }
        0
    });
    assert_exit0(st);
}

#[test]
fn masked_eq_compares_value_as_mask() {
    // Deny clone-like flags: (arg0 & 0x20000) == 0x20000 -> EPERM.
    let f = filter(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],
            "action":"SCMP_ACT_ERRNO","args":[
                {"index":0,"value":131072,"valueTwo":131072,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    let st = run(&f, |_| {
        if personality(131072 | 8) != (-1, libc::EPERM) {
            return 1;
        }
        if personality(0).0 == -1 {
            return 2;
        }
        0
    });
    assert_exit0(st);
}

/// What docker documents for its default profile: without CAP_SYS_ADMIN, mount, unshare and
/// keyctl fail with EPERM and clone3 with ENOSYS, while ordinary syscalls work.
#[test]
fn docker_default_profile_without_sys_admin() {
    let f = compile(&default_profile(&["CAP_CHOWN".to_owned()]).unwrap()).unwrap();
    // A target that does not exist: if the filter ever let mount through, the kernel would
    // answer ENOENT (and the test fail) instead of mounting over anything.
    let dir = tempfile::tempdir().unwrap();
    let target = CString::new(dir.path().join("missing").to_str().unwrap()).unwrap();
    let tmpfs = CString::new("tmpfs").unwrap();
    let st = run(&f, |_| {
        // SAFETY: each call gets valid C strings or null pointers where the ABI allows them.
        unsafe {
            if libc::getpid() <= 0 {
                return 1;
            }
            let r = libc::mount(
                tmpfs.as_ptr(),
                target.as_ptr(),
                tmpfs.as_ptr(),
                0,
                std::ptr::null(),
            );
            if r != -1 || errno() != libc::EPERM {
                return 2;
            }
            if libc::unshare(libc::CLONE_NEWUSER) != -1 || errno() != libc::EPERM {
                return 3;
            }
            if libc::unshare(libc::CLONE_NEWNS) != -1 || errno() != libc::EPERM {
                return 4;
            }
            // KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_SESSION_KEYRING = -3.
            if libc::syscall(libc::SYS_keyctl, 0, -3, 0) != -1 || errno() != libc::EPERM {
                return 5;
            }
            if libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0) != -1
                || errno() != libc::ENOSYS
            {
                return 6;
            }
        }
        0
    });
    assert_exit0(st);
}

#[test]
fn docker_default_profile_with_sys_admin_allows_unshare() {
    let f = compile(&default_profile(&["CAP_SYS_ADMIN".to_owned()]).unwrap()).unwrap();
    let st = run(&f, |_| {
        // SAFETY: unshare takes flags only; the new mount namespace dies with the child.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            return 1;
        }
        0
    });
    assert_exit0(st);
}

fn seccomp_filters_line(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn proc_status_shows_filter_mode() {
    let f = filter(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let before = std::fs::read_to_string("/proc/self/status").unwrap();
    let filters_before = seccomp_filters_line(&before).unwrap();
    let status_path = CString::new("/proc/self/status").unwrap();
    let (rx, tx) = pipe().unwrap();
    let st = run(&f, |_| {
        let mut buf = [0u8; 8192];
        // SAFETY: valid C string; `buf` is ours and `n` bounded by its length.
        unsafe {
            let fd = libc::open(status_path.as_ptr(), libc::O_RDONLY);
            if fd < 0 {
                return 1;
            }
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                return 2;
            }
            if libc::write(tx.as_raw_fd(), buf.as_ptr().cast(), n as usize) != n {
                return 3;
            }
        }
        0
    });
    drop(tx);
    assert_exit0(st);
    let mut status = String::new();
    File::from(rx).read_to_string(&mut status).unwrap();
    assert!(status.contains("Seccomp:\t2\n"), "{status}");
    assert_eq!(seccomp_filters_line(&status), Some(filters_before + 1));
}

fn sys(ret: libc::c_long, what: &str) -> Result<i32, String> {
    if ret < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    i32::try_from(ret).map_err(|e| format!("{what}: {e}"))
}

/// The parent's side of the notify test: fetch the child's listener fd, receive the
/// notification for getppid and answer it with 4242.
fn answer_getppid(child: Pid, rx: OwnedFd) -> Result<(), String> {
    let mut num = [0u8; 4];
    File::from(rx)
        .read_exact(&mut num)
        .map_err(|e| format!("read fd number: {e}"))?;
    let child_fd = i32::from_ne_bytes(num);
    // SAFETY: pidfd_open takes a pid and flags.
    let pidfd = sys(
        unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) },
        "pidfd_open",
    )?;
    // SAFETY: the kernel returned a new fd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    // SAFETY: pidfd_getfd duplicates the child's fd `child_fd` into our table.
    let notify = sys(
        unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), child_fd, 0) },
        "pidfd_getfd",
    )?;
    // SAFETY: as above, a new fd of ours.
    let notify = unsafe { OwnedFd::from_raw_fd(notify) };
    let req = ScmpNotifReq::receive(notify.as_raw_fd()).map_err(|e| format!("receive: {e}"))?;
    let want = ScmpSyscall::from_name("getppid").unwrap();
    if req.data.syscall != want || req.pid != child.as_raw() as u32 {
        return Err(format!("unexpected notification {req:?}"));
    }
    ScmpNotifResp::new_val(req.id, 4242, ScmpNotifRespFlags::empty())
        .respond(notify.as_raw_fd())
        .map_err(|e| format!("respond: {e}"))
}

#[test]
fn notify_returns_a_listener_the_parent_can_answer() {
    let f = filter(
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(f.uses_notify());
    let (rx, tx) = pipe().unwrap();
    let child = spawn(&f, |fd| {
        let Some(fd) = fd else { return 1 };
        let num = fd.as_raw_fd().to_ne_bytes();
        // SAFETY: writes our 4-byte buffer to the pipe.
        if unsafe { libc::write(tx.as_raw_fd(), num.as_ptr().cast(), 4) } != 4 {
            return 2;
        }
        // Blocks until the parent answers; the listener stays open in `fd` meanwhile.
        // SAFETY: getppid has no arguments.
        if unsafe { libc::getppid() } != 4242 {
            return 3;
        }
        drop(fd);
        0
    });
    drop(tx);
    if let Err(e) = answer_getppid(child, rx) {
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
        panic!("{e}");
    }
    assert_exit0(waitpid(child, None).unwrap());
}
