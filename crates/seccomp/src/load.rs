//! Installing a compiled [`Filter`] in the calling thread.
//!
//! This runs in the container init just before `execve`, possibly in a child forked from a
//! multi-threaded runtime, so it does one `seccomp(2)` call on memory that already exists: no
//! allocation, no libseccomp, no locks. The error values hold no heap data either.

use std::os::fd::OwnedFd;

use hull_sys::seccomp::{install_filter, Installed};

use crate::compile::Filter;
use crate::error::{Error, Result};

/// Installs `filter` in the calling thread (all threads with `SECCOMP_FILTER_FLAG_TSYNC`).
///
/// Returns the seccomp notify (listener) fd if a rule uses `SCMP_ACT_NOTIFY`, else `None`.
///
/// The caller sets `no_new_privs` first if `process.noNewPrivileges` asks for it; without it,
/// the kernel requires CAP_SYS_ADMIN in the caller's user namespace (EACCES otherwise).
pub fn load(filter: &Filter) -> Result<Option<OwnedFd>> {
    // A sock_fprog counts instructions in a u16.
    if u16::try_from(filter.program.len()).is_err() {
        return Err(Error::TooLong {
            len: filter.program.len(),
            max: libc::BPF_MAXINSNS as usize,
        });
    }
    match install_filter(filter.flags, &filter.program).map_err(Error::Load)? {
        Installed::Filter => Ok(None),
        Installed::Listener(fd) => Ok(Some(fd)),
        Installed::TsyncFailed(tid) => Err(Error::Tsync { tid }),
    }
}
