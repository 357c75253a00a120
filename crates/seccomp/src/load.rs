//! Installing a compiled [`Filter`] in the calling thread.
//!
//! This runs in the container init just before `execve`, possibly in a child forked from a
//! multi-threaded runtime, so it does one `seccomp(2)` call on memory that already exists: no
//! allocation, no libseccomp, no locks. The error values hold no heap data either.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::compile::Filter;
use crate::error::{Error, Result};

/// Installs `filter` in the calling thread (all threads with `SECCOMP_FILTER_FLAG_TSYNC`).
///
/// Returns the seccomp notify (listener) fd if a rule uses `SCMP_ACT_NOTIFY`, else `None`.
///
/// The caller sets `no_new_privs` first if `process.noNewPrivileges` asks for it; without it,
/// the kernel requires CAP_SYS_ADMIN in the caller's user namespace (EACCES otherwise).
pub fn load(filter: &Filter) -> Result<Option<OwnedFd>> {
    let len = u16::try_from(filter.program.len()).map_err(|_| Error::TooLong {
        len: filter.program.len(),
        max: libc::BPF_MAXINSNS as usize,
    })?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `filter.program` (`len` instructions), which outlives the call;
    // the kernel copies the program before returning and never writes through the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            filter.flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(Error::Load(Errno::last()));
    }
    if filter.notify {
        // With SECCOMP_FILTER_FLAG_NEW_LISTENER the return value is the listener fd.
        let fd = i32::try_from(ret).map_err(|_| Error::Load(Errno::EBADF))?;
        // SAFETY: the kernel just created this fd for us; nothing else owns it.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if ret > 0 {
        // TSYNC without a listener: the return value is the thread that could not be synced
        // (the filter was not installed anywhere).
        return Err(Error::Tsync { tid: ret });
    }
    Ok(None)
}
