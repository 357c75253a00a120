//! Everything unsafe in hull-monitor, in a few small functions: the program's start (argv and
//! the environment as the kernel laid them out), signal masks and the signalfd, fork and
//! execve, and fd 0 taken as the starter's socket. The rest of the monitor is safe rustix.

use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::mem::ManuallyDrop;

use rustix::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::io::{self, Errno};
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, WaitOptions};
use rustix::runtime::{Fork, How, KernelSigSet, KernelSigaction};

/// The process's arguments and environment, as origin received them from the kernel.
pub struct Start {
    /// The arguments after the program name (lossily UTF-8).
    pub args: Vec<String>,
    /// The environment: a NUL-terminated array of `NAME=value` C strings, handed on unchanged
    /// to the runtime and the hook.
    envp: *const *const u8,
}

impl Start {
    /// # Safety
    /// `argv` must point to `argc` C strings and `envp` to a NUL-terminated array of C
    /// strings, all valid for the life of the process (origin_main's arguments are).
    pub unsafe fn new(argc: usize, argv: *const *const u8, envp: *const *const u8) -> Start {
        let args = (1..argc)
            .map(|i| {
                // SAFETY: i < argc, so argv[i] is one of the kernel's NUL-terminated strings.
                let s = unsafe { CStr::from_ptr((*argv.add(i)).cast()) };
                String::from_utf8_lossy(s.to_bytes()).into_owned()
            })
            .collect();
        Start { args, envp }
    }

    /// The value of the environment variable `name`.
    pub fn var(&self, name: &str) -> Option<&[u8]> {
        let mut p = self.envp;
        loop {
            // SAFETY: envp is NUL-terminated (Start::new's contract); p never passes its end.
            let s = unsafe { *p };
            if s.is_null() {
                return None;
            }
            // SAFETY: each entry before the terminator is a NUL-terminated string.
            let kv = unsafe { CStr::from_ptr(s.cast()) }.to_bytes();
            if let Some(v) = kv
                .strip_prefix(name.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
            {
                return Some(v);
            }
            // SAFETY: s was not the terminator, so the next slot is still inside the array.
            p = unsafe { p.add(1) };
        }
    }
}

/// Our fd 0, duplicated close-on-exec: the socket a starting hull hands us with --sync.
pub fn stdin_dup() -> io::Result<OwnedFd> {
    // SAFETY: fd 0 is only borrowed for the duration of the dup; if it is closed, the dup
    // fails with EBADF.
    let fd0 = unsafe { rustix::stdio::stdin() };
    rustix::io::fcntl_dupfd_cloexec(fd0, 3)
}

/// Keeps the inherited descriptor `fd` (a socket reserving a published port) open in this
/// process only: close-on-exec, so neither the runtime nor the container inherits it. A
/// number that is not open is left alone (EBADF).
pub fn hold(fd: i32) {
    // SAFETY: `fd` was handed to us by the starter (--hold) and is only borrowed for the
    // fcntl; if it is not open, the call fails with EBADF and nothing else happens.
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
    let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC);
}

/// Writes a line to our stderr (the starter's choice; /dev/null from hull).
pub fn eprint(msg: &str) {
    // SAFETY: fd 2 is only borrowed for the write; a closed fd 2 makes it fail with EBADF.
    let fd2 = unsafe { rustix::stdio::stderr() };
    let _ = crate::fdio::write_all(fd2, msg.as_bytes());
}

fn sigset(sigs: &[Signal]) -> KernelSigSet {
    let mut set = KernelSigSet::empty();
    for s in sigs {
        set.insert(*s);
    }
    set
}

/// Blocks `sigs` in this (single-threaded) process.
pub fn block(sigs: &[Signal]) -> io::Result<()> {
    // SAFETY: no libc here reserves signals, and the monitor has no other thread whose
    // assumptions a changed mask could break.
    unsafe { rustix::runtime::kernel_sigprocmask(How::BLOCK, Some(&sigset(sigs))) }.map(|_| ())
}

/// A non-blocking, close-on-exec signalfd for `sigs` (blocked by the caller).
pub fn signalfd(sigs: &[Signal]) -> io::Result<OwnedFd> {
    let mask: u64 = sigs.iter().fold(0, |m, s| m | 1 << (s.as_raw() - 1));
    let flags = linux_raw_sys::general::O_CLOEXEC | linux_raw_sys::general::O_NONBLOCK;
    // SAFETY: signalfd4(-1, mask, 8, flags) reads 8 bytes from &mask (the kernel's sigset
    // size on Linux) and creates a new fd; it touches no other memory.
    let ret = unsafe {
        syscall4(
            linux_raw_sys::general::__NR_signalfd4 as usize,
            -1isize as usize,
            &mask as *const u64 as usize,
            8,
            flags as usize,
        )
    };
    if ret < 0 {
        return Err(Errno::from_raw_os_error(-ret as i32));
    }
    // SAFETY: the kernel just returned this new fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

#[cfg(target_arch = "x86_64")]
unsafe fn syscall4(nr: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux system call convention; rcx and r11 are clobbered by
    // `syscall`. What the call does with its arguments is the caller's contract.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a,
            in("rsi") b, in("rdx") c, in("r10") d, lateout("rcx") _, lateout("r11") _,
            options(nostack));
    }
    ret
}

#[cfg(target_arch = "aarch64")]
unsafe fn syscall4(nr: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 Linux system call convention (number in x8, result in x0). What
    // the call does with its arguments is the caller's contract.
    unsafe {
        core::arch::asm!("svc 0", in("x8") nr, inlateout("x0") a as isize => ret, in("x1") b,
            in("x2") c, in("x3") d, options(nostack));
    }
    ret
}

/// What a child gets as one of its fds 0, 1 and 2.
#[derive(Clone, Copy)]
pub enum Io<'a> {
    Null,
    /// The monitor's own.
    Inherit,
    Fd(BorrowedFd<'a>),
}

/// A program to run.
pub struct Command<'a> {
    /// The program: a path, or a bare name looked up in PATH.
    pub prog: &'a str,
    pub args: Vec<String>,
    pub stdio: [Io<'a>; 3],
}

/// How a child ended.
#[derive(Clone, Copy, Debug)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

/// Starts `cmd` with our environment, an empty signal mask and default dispositions; its pid,
/// or the error of its execve (reported back through a close-on-exec pipe).
pub fn spawn(cmd: &Command<'_>, start: &Start) -> io::Result<Pid> {
    let paths = candidates(cmd.prog, start)?;
    let mut argv_c = Vec::with_capacity(cmd.args.len() + 1);
    argv_c.push(CString::new(cmd.prog).map_err(|_| Errno::INVAL)?);
    for a in &cmd.args {
        argv_c.push(CString::new(a.as_str()).map_err(|_| Errno::INVAL)?);
    }
    let mut argv: Vec<*const u8> = argv_c.iter().map(|a| a.as_ptr().cast()).collect();
    argv.push(core::ptr::null());
    let null = rustix::fs::open(
        c"/dev/null",
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let stdio = cmd.stdio.map(|io| match io {
        Io::Null => Some(null.as_fd()),
        Io::Inherit => None,
        Io::Fd(f) => Some(f),
    });
    let (err_r, err_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // SAFETY: the monitor is single-threaded, so the child's copy of memory is consistent;
    // the child only makes system calls on memory prepared above (no allocation, no lock)
    // and ends in execve or exit_group.
    match unsafe { rustix::runtime::kernel_fork() }? {
        Fork::Child(_) => child(&stdio, &paths, &argv, start.envp, &err_w),
        Fork::ParentOf(pid) => {
            drop(err_w);
            let mut buf = [0u8; 4];
            let n = crate::fdio::read_full(&err_r, &mut buf);
            if n == 4 {
                wait(pid);
                return Err(Errno::from_raw_os_error(i32::from_ne_bytes(buf)));
            }
            Ok(pid)
        }
    }
}

/// The paths to try for `prog`: itself when it holds a `/`, else each PATH entry's.
fn candidates(prog: &str, start: &Start) -> io::Result<Vec<CString>> {
    hull_monitor::args::search_path(prog, start.var("PATH"))
        .into_iter()
        .map(|p| CString::new(p).map_err(|_| Errno::INVAL))
        .collect()
}

/// The forked child: signals back to defaults, stdio in place, execve; on failure the errno
/// goes to the parent through `err_w`.
fn child(
    stdio: &[Option<BorrowedFd<'_>>; 3],
    paths: &[CString],
    argv: &[*const u8],
    envp: *const *const u8,
    err_w: &OwnedFd,
) -> ! {
    // SAFETY: the child is single-threaded and about to exec: nothing relies on its mask or
    // handlers. SIGKILL and SIGSTOP refuse a new action, harmlessly.
    unsafe {
        let _ = rustix::runtime::kernel_sigprocmask(How::SETMASK, Some(&KernelSigSet::empty()));
        for n in 1..=64 {
            let sig = Signal::from_raw_unchecked(n);
            let _ = rustix::runtime::kernel_sigaction(sig, Some(KernelSigaction::default()));
        }
    }
    let mut errno = Errno::NOENT;
    // Copies above 2 first, so that placing one cannot overwrite another still to be placed.
    let mut moved = [None, None, None];
    for (i, fd) in stdio.iter().enumerate() {
        if let Some(fd) = fd {
            match rustix::io::fcntl_dupfd_cloexec(fd, 10) {
                Ok(f) => moved[i] = Some(f),
                Err(e) => fail(err_w, e),
            }
        }
    }
    for (i, fd) in moved.iter().enumerate() {
        if let Some(f) = fd {
            // SAFETY: dup2 only needs fd i (0, 1 or 2) as a number: it replaces it (open or
            // not), and ManuallyDrop never closes it; after execve the program owns it.
            let mut target = ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(i as i32) });
            if let Err(e) = rustix::io::dup2(f, &mut target) {
                fail(err_w, e);
            }
        }
    }
    for p in paths {
        // SAFETY: argv and envp are NUL-terminated arrays of C strings (built by spawn, or
        // the kernel's environment), alive until execve replaces this process.
        errno = unsafe { rustix::runtime::execve(p, argv.as_ptr(), envp) };
        if errno != Errno::NOENT && errno != Errno::NOTDIR && errno != Errno::ACCESS {
            break;
        }
    }
    fail(err_w, errno)
}

fn fail(err_w: &OwnedFd, e: Errno) -> ! {
    let _ = rustix::io::write(err_w, &e.raw_os_error().to_ne_bytes());
    rustix::runtime::exit_group(127)
}

/// Waits for the child `pid` to end.
pub fn wait(pid: Pid) -> Status {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, st))) => return status(st),
            Err(Errno::INTR) => {}
            _ => return Status::Exited(255),
        }
    }
}

/// Reaps one exited child, of any process group, without blocking: its pid and how it
/// ended. (`wait`, wait4(-1): rustix's `waitpid(None)` is wait4(0), our own group only.)
pub fn reap_any() -> Option<(i32, Status)> {
    match rustix::process::wait(WaitOptions::NOHANG) {
        Ok(Some((pid, st))) => Some((pid.as_raw_nonzero().get(), status(st))),
        _ => None,
    }
}

/// True when `pid` is not (or no longer) a child of ours that we could wait for: a runtime
/// that waited for its container itself, or a pid that is not the container's.
pub fn not_our_child(pid: i32) -> bool {
    let Some(pid) = Pid::from_raw(pid) else {
        return true;
    };
    let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    matches!(
        rustix::process::waitid(WaitId::Pid(pid), opts),
        Err(Errno::CHILD)
    )
}

fn status(st: rustix::process::WaitStatus) -> Status {
    match (st.exit_status(), st.terminating_signal()) {
        (Some(c), _) => Status::Exited(c),
        (None, Some(s)) => Status::Signaled(s),
        _ => Status::Exited(255),
    }
}
