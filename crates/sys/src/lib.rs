//! Raw system calls that neither `nix` nor `std` wrap, each wrapped once, with the reason it is
//! sound written beside it. Everything else in hull calls these instead of `libc` directly.

pub mod activation;
pub mod beneath;
pub mod bpf;
pub mod fdpass;
pub mod idmap;
pub mod seccomp;
pub mod tty;

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `_exit(2)`: ends the process at once, running no destructors and no atexit handlers. What a
/// forked copy of the runtime (the container init before exec, exec's intermediate process)
/// must call instead of `std::process::exit`, whose handlers belong to the parent's state.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions; it never returns and touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// What `clone_fork` returned in the calling process.
pub enum Forked {
    /// We are the new process.
    Child,
    /// We are the caller; this is the new process's pid.
    Parent(libc::pid_t),
}

/// `clone(2)` with fork semantics (no new stack, no shared memory) and namespace flags: the
/// child continues from this call like after `fork()`. One system call creates the process and
/// all of its new namespaces, which is what keeps container start to a single fork.
///
/// The caller must be single-threaded, as for `fork()`: the child gets a copy of only the
/// calling thread, so locks held by other threads would stay locked forever.
pub fn clone_fork(flags: libc::c_ulong) -> io::Result<Forked> {
    let flags = flags | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null stack pointer the kernel gives the child a copy-on-write copy of the
    // caller's stack, exactly as fork() does; the remaining pointer arguments (parent_tid,
    // child_tid, tls) are unused because no CLONE_*TID/CLONE_SETTLS flag is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match cvt(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// Marks every fd from `first` up as close-on-exec (`close_range(2)` with CLOSE_RANGE_CLOEXEC),
/// so nothing the runtime held open leaks into the container (CVE-2024-21626).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range takes plain integers; CLOEXEC only sets flags and frees no memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    cvt(ret).map(|_| ())
}

/// Sets the calling thread's name (what `ps -o comm` shows), e.g. `hull:[init]`.
pub fn set_name(name: &CStr) -> io::Result<()> {
    // SAFETY: PR_SET_NAME reads at most 16 bytes from a valid NUL-terminated string.
    let ret = unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
    cvt(ret.into()).map(|_| ())
}

/// Asks the kernel to send `sig` to this process when its parent exits.
pub fn set_parent_death_signal(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers are involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    cvt(ret.into()).map(|_| ())
}

/// A named instant where the crash tests stop the process: with `HULL_FAULT_STOP=NAME` in
/// the environment, a debug build stops itself (SIGSTOP) on reaching NAME, so a test can kill
/// it with SIGKILL exactly there (scripts/fault-inject.sh, tests/crash.rs). A release build
/// compiles this to nothing.
pub fn fault_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("HULL_FAULT_STOP").is_some_and(|v| v == name) {
        // SAFETY: raise takes a signal number; no pointers are involved.
        unsafe { libc::raise(libc::SIGSTOP) };
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Whether the process behind `pidfd` has exited (its pidfd polls readable).
pub fn pidfd_exited(pidfd: BorrowedFd<'_>) -> bool {
    let mut p = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1, timeout 0: poll only reads and writes that struct.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & libc::POLLIN != 0
}

/// Makes this process a child subreaper: orphaned descendants are reparented to it.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag; no pointers are involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    cvt(ret.into()).map(|_| ())
}

/// Sets or clears the "dumpable" attribute. A non-dumpable process's /proc/PID files (exe,
/// mem, fds) are owned by root and refuse ptrace-style access from the container, which keeps a
/// process inside from reaching the runtime binary while it sets the container up.
pub fn set_dumpable(on: bool) -> io::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes 0 or 1; no pointers are involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) };
    cvt(ret.into()).map(|_| ())
}

/// `setdomainname(2)`: nix wraps sethostname but not this.
pub fn set_domainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe the bytes of a live &str; the kernel copies them.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    cvt(ret.into()).map(|_| ())
}

/// Gives every signal its default action and unblocks them all, as a program expects to
/// start: a runtime written in Rust ignores SIGPIPE, and its caller may have blocked the
/// signals it forwards; both would pass through execve. The system call itself, since the C
/// library refuses the two signals it reserves (32 and 33), which an ignoring ancestor can
/// also leave ignored.
pub fn reset_signals() {
    // The kernel's struct sigaction, all zero: SIG_DFL, no flags, no restorer, empty mask
    // (32 bytes covers it on x86_64 and aarch64).
    let dfl = [0u64; 4];
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads the zeroed struct above (8-byte kernel sigset) and
        // writes nothing (old action NULL); no handler of ours that other code relies on is
        // removed, as the caller execs next.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                dfl.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            );
        }
    }
    // SAFETY: an empty set built by sigemptyset, passed by pointer for the call only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Gives the heap's free memory back to the kernel (glibc's `malloc_trim`): a long-lived
/// process whose threads come and go (the API service) otherwise keeps each thread's arena
/// resident after the thread ended. Whether any memory was released.
pub fn trim_heap() -> bool {
    // SAFETY: malloc_trim only walks and shrinks the allocator's own arenas under their locks;
    // it takes no pointer of ours.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Sets the umask, returning the previous one.
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail and touches only the process's file creation mask.
    unsafe { libc::umask(mask as libc::mode_t) }
}

/// `setgroups(2)` with the given supplementary groups (empty clears them).
pub fn set_groups(groups: &[libc::gid_t]) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live slice of gid_t that the kernel only reads.
    let ret = unsafe { libc::setgroups(groups.len(), groups.as_ptr()) };
    cvt(ret.into()).map(|_| ())
}

/// `setresuid`/`setresgid` as raw system calls: in the container init these must apply to this
/// thread only, which is also the only thread, with no glibc broadcast.
pub fn set_ids(uid: libc::uid_t, gid: libc::gid_t) -> io::Result<()> {
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) })?;
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) })?;
    Ok(())
}

/// Keep permitted capabilities across the setuid away from root (PR_SET_KEEPCAPS).
pub fn set_keep_caps(on: bool) -> io::Result<()> {
    // SAFETY: PR_SET_KEEPCAPS takes 0 or 1; no pointers are involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong, 0, 0, 0) };
    cvt(ret.into()).map(|_| ())
}

/// Sets the effective, permitted and inheritable capability sets (bit N = capability N) in
/// one capset(2) call, with no capget before it: after the container's seccomp filter is
/// loaded this may be the only system call before execve, so it is the only one a profile
/// has to allow for it.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let half = |v: u64, hi: bool| (if hi { v >> 32 } else { v & 0xffff_ffff }) as u32;
    let mut hdr = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [false, true].map(|hi| Data {
        effective: half(effective, hi),
        permitted: half(permitted, hi),
        inheritable: half(inheritable, hi),
    });
    // SAFETY: capset reads one header and, for version 3, two data structs, both valid
    // #[repr(C)] values that live across the call; it writes only the header's version.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    cvt(ret).map(|_| ())
}

/// Sets no_new_privs: execve can never again grant privileges (setuid bits, file caps).
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes the integer 1; no pointers are involved.
    let ret = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) };
    cvt(ret.into()).map(|_| ())
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or None when
/// the process is gone. Together with the pid it identifies a process across pid reuse.
pub fn process_start_time(pid: i32) -> Option<(u64, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // rest starts at field 3 (state); start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((start, state))
}

/// `setrlimit(2)` by raw resource number (the spec names all of them; nix's enum lacks some).
pub fn set_rlimit(resource: libc::c_int, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit that the kernel only reads.
    let ret = unsafe { libc::setrlimit(resource as libc::__rlimit_resource_t, &lim) };
    cvt(ret.into()).map(|_| ())
}

/// The kernel's `struct sched_attr` (the first version, 48 bytes).
#[repr(C)]
#[derive(Default)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// `sched_setattr(2)` for the calling thread; glibc has no wrapper.
pub fn sched_setattr(attr: &mut SchedAttr) -> io::Result<()> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: attr points to a live, fully initialised sched_attr whose size field is set;
    // the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *mut SchedAttr, 0) };
    cvt(ret).map(|_| ())
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level)` for the calling process.
pub fn ioprio_set(class: u32, level: u32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    let value = (class << 13) | (level & 0x1fff);
    // SAFETY: plain integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    cvt(ret).map(|_| ())
}

/// Re-execs the running executable from a copy no process in a container can ever write
/// through /proc/PID/exe (CVE-2019-5736), with `marker_env`=1 added to the environment.
/// First choice: the binary itself through a read-only, detached clone of its mount (one
/// open_tree and one mount_setattr, nothing copied; writing through it fails with EROFS; the
/// way runc 1.2 seals it, but without a mount anyone sees). Where that is refused (no
/// CAP_SYS_ADMIN over our mount namespace, a kernel before 5.12): a sealed memfd copy.
/// Returns only on failure.
pub fn reexec_sealed(marker_env: &str) -> io::Error {
    use std::os::unix::ffi::OsStrExt;
    let args: Vec<std::ffi::CString> = std::env::args_os()
        .map(|a| std::ffi::CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let mut env: Vec<std::ffi::CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            std::ffi::CString::new(kv).ok()
        })
        .collect();
    env.push(std::ffi::CString::new(format!("{marker_env}=1")).unwrap_or_default());
    if let Ok(ro) = idmap::read_only_clone(Path::new("/proc/self/exe")) {
        // Only an error comes back; the memfd copy is tried then.
        let _ = nix::unistd::fexecve(ro.as_fd(), &args, &env);
    }
    match sealed_memfd_copy() {
        Ok(f) => match nix::unistd::fexecve(f.as_fd(), &args, &env) {
            Ok(never) => match never {},
            Err(e) => e.into(),
        },
        Err(e) => e,
    }
}

/// A memfd holding a copy of the running executable, sealed against any change.
fn sealed_memfd_copy() -> io::Result<OwnedFd> {
    let mut exe = std::fs::File::open("/proc/self/exe")?;
    let memfd = nix::sys::memfd::memfd_create(
        c"hullrt",
        nix::sys::memfd::MFdFlags::MFD_CLOEXEC | nix::sys::memfd::MFdFlags::MFD_ALLOW_SEALING,
    )?;
    let mut f = std::fs::File::from(memfd);
    let len = exe.metadata()?.len();
    if io::copy(&mut exe, &mut f)? != len {
        return Err(io::Error::other("short copy of /proc/self/exe"));
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS takes an integer argument on an fd we own.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OwnedFd::from(f))
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring for this process.
pub fn join_session_keyring(name: &str) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    let cname =
        std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the name is a valid NUL-terminated string that the kernel only reads.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            cname.as_ptr(),
        )
    };
    cvt(ret).map(|_| ())
}

/// `pidfd_open(2)`: an fd that refers to process `pid` itself, immune to pid reuse.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags by value and touches no memory of ours.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets the interface `name` (of the caller's network namespace) up, with the ioctls every
/// tool has used for it (`SIOCGIFFLAGS`, `SIOCSIFFLAGS`): no netlink socket to parse.
pub fn link_up(name: &str) -> io::Result<()> {
    // SAFETY: a fresh socket we own; the fd is closed by OwnedFd.
    let fd = cvt(
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }
            as libc::c_long,
    )?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: the ioctls read and write the ifreq we own, for the socket we own.
    unsafe {
        cvt(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) as libc::c_long)?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        cvt(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) as libc::c_long)?;
    }
    Ok(())
}

/// `pidfd_send_signal(2)`: `sig` to the process behind `pidfd`, which cannot be another
/// process that took its pid.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: no siginfo is passed (null), the fd and the signal go by value.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    cvt(ret).map(|_| ())
}

/// `PTRACE_LISTEN` (nix has no wrapper): leaves a seized tracee in its group-stop (SIGSTOP,
/// SIGTSTP) while letting the tracer hear when it ends.
pub fn ptrace_listen(pid: libc::pid_t) -> io::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no address or data; the kernel checks that `pid` is our
    // tracee in a group-stop and fails with ESRCH/EIO otherwise.
    let ret = unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    cvt(ret).map(drop)
}
