//! `seccomp(2)`, which neither nix nor std wraps: installing a classic-BPF filter, and asking
//! the kernel which filter flags it knows.
//!
//! `install_filter` runs in the container init just before `execve`, possibly in a child
//! forked from a multi-threaded runtime: one system call on memory that already exists, no
//! allocation, errors as a bare errno.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

/// What `seccomp(SECCOMP_SET_MODE_FILTER)` did, read from its return value.
#[derive(Debug)]
pub enum Installed {
    /// The filter is in.
    Filter,
    /// The filter is in and `SECCOMP_FILTER_FLAG_NEW_LISTENER` was given: the notify fd.
    Listener(OwnedFd),
    /// `SECCOMP_FILTER_FLAG_TSYNC` could not sync this thread; the filter is installed nowhere.
    TsyncFailed(libc::c_long),
}

/// Installs `program` (classic BPF) in the calling thread with `SECCOMP_FILTER_FLAG_*` bits
/// `flags`. EINVAL, without a call, when the program is longer than a `sock_fprog` can say.
pub fn install_filter(
    flags: libc::c_ulong,
    program: &[libc::sock_filter],
) -> Result<Installed, Errno> {
    let len = u16::try_from(program.len()).map_err(|_| Errno::EINVAL)?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program` (`len` instructions), which outlives the call; the
    // kernel copies the program before returning and never writes through the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        // With NEW_LISTENER the return value is the listener fd (with TSYNC too, the kernel
        // then requires TSYNC_ESRCH, so a sync failure is an error, never a thread id).
        let fd = i32::try_from(ret).map_err(|_| Errno::EBADF)?;
        // SAFETY: the kernel just created this fd for us; nothing else owns it.
        return Ok(Installed::Listener(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if ret > 0 {
        // TSYNC without a listener: the thread that could not be synced.
        return Ok(Installed::TsyncFailed(ret));
    }
    Ok(Installed::Filter)
}

/// Does the running kernel accept these `SECCOMP_FILTER_FLAG_*` bits?
///
/// This is libseccomp's own probe: with a NULL program the kernel validates the flags first
/// (EINVAL for one it does not know) and then fails to copy the program (EFAULT), before it
/// changes anything about the calling thread.
pub fn filter_flags_supported(flags: libc::c_ulong) -> bool {
    // SAFETY: seccomp(2) with a NULL `struct sock_fprog *` only reads user memory and fails
    // with EFAULT at that read; nothing is installed and no memory of ours is touched.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && Errno::last() == Errno::EFAULT
}
