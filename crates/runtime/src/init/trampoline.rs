//! The sealed exec trampoline (see trampoline/trampoline.c): init execs the program through
//! it, so the container never reaches the runtime's binary through /proc/self/exe.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::error::{Context, Result};

const TRAMPOLINE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));

/// The sealed trampoline and, when the container's /proc is procfs, its /proc/self/fd path.
pub struct Trampoline {
    fd: OwnedFd,
    proc_path: Option<CString>,
}

/// A sealed memfd holding the trampoline: it can never be written, grown or shrunk again.
/// Made after pivot_root, so the /proc checked is the container's.
pub fn sealed() -> Result<Trampoline> {
    let fd = sealed_fd()?;
    let on_procfs = nix::sys::statfs::statfs("/proc/self/fd")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
    let proc_path = on_procfs
        .then(|| CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL"));
    Ok(Trampoline { fd, proc_path })
}

fn sealed_fd() -> Result<OwnedFd> {
    let fd = memfd_create(
        c"hull-exec",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .ctx(|| "memfd_create for the exec trampoline".into())?;
    let mut f = std::fs::File::from(fd);
    f.write_all(TRAMPOLINE)
        .ctx(|| "write the exec trampoline".into())?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&f, FcntlArg::F_ADD_SEALS(seals)).ctx(|| "seal the exec trampoline".into())?;
    Ok(OwnedFd::from(f))
}

/// Execs `program` with `argv` through the trampoline; returns only on failure. The seccomp
/// filter is in by now: execve of /proc/self/fd/N is used rather than fexecve's
/// execveat(N, "", AT_EMPTY_PATH), because execve is the exec call every profile allows
/// (runc's last call is execve too) while older profiles lack execveat.
pub fn exec(
    trampoline: &Trampoline,
    program: &CString,
    argv: &[CString],
    envp: &[CString],
) -> nix::Error {
    let mut args = Vec::with_capacity(argv.len() + 1);
    args.push(program.as_c_str());
    args.extend(argv.iter().map(CString::as_c_str));
    if let Some(path) = &trampoline.proc_path {
        let err = nix::unistd::execve(path, &args, envp).unwrap_err();
        if !matches!(err, nix::errno::Errno::ENOENT | nix::errno::Errno::EACCES) {
            return err;
        }
    }
    match nix::unistd::fexecve(trampoline.fd.as_fd(), &args, envp) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}
