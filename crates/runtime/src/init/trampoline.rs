//! The sealed exec trampoline (see trampoline/trampoline.c): init execs the program through
//! it, so the container never reaches the runtime's binary through /proc/self/exe.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::error::{Context, Error, Result};

const TRAMPOLINE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));

/// A sealed memfd holding the trampoline: it can never be written, grown or shrunk again.
pub fn sealed() -> Result<OwnedFd> {
    let fd = memfd_create(
        c"hull-exec",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .ctx(|| "memfd_create for the exec trampoline".into())?;
    let mut f = std::fs::File::from(fd);
    f.write_all(TRAMPOLINE)
        .ctx(|| "write the exec trampoline".into())?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS takes an integer argument on an fd we own.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(Error::call(
            "seal the exec trampoline",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(OwnedFd::from(f))
}

/// Execs `program` with `argv` through the trampoline; returns only on failure.
pub fn exec(
    trampoline: &OwnedFd,
    program: &CString,
    argv: &[CString],
    envp: &[CString],
) -> nix::Error {
    let mut args = Vec::with_capacity(argv.len() + 1);
    args.push(program.as_c_str());
    args.extend(argv.iter().map(CString::as_c_str));
    match nix::unistd::fexecve(trampoline.as_fd(), &args, envp) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}
