//! Reading and writing a traced process's memory.
//!
//! `process_vm_readv`/`process_vm_writev` respect the pages' protection: they serve the
//! process's stack and buffers. The vDSO's pages are read-only and executable, so they are
//! written through `/proc/PID/mem`, which (like a debugger setting a breakpoint) gives the
//! process a private copy of each page written.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::unix::fs::FileExt;

use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

const PAGE: usize = 4096;

pub fn write(pid: Pid, addr: usize, bytes: &[u8]) -> io::Result<()> {
    let remote = [RemoteIoVec {
        base: addr,
        len: bytes.len(),
    }];
    match process_vm_writev(pid, &[IoSlice::new(bytes)], &remote) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(io::Error::from(io::ErrorKind::WriteZero)),
        Err(e) => Err(e.into()),
    }
}

pub fn read(pid: Pid, addr: usize, buf: &mut [u8]) -> Option<usize> {
    let remote = [RemoteIoVec {
        base: addr,
        len: buf.len(),
    }];
    process_vm_readv(pid, &mut [IoSliceMut::new(buf)], &remote).ok()
}

/// Reads from `addr` up to `buf.len()` bytes, page by page, stopping at the first page that
/// is not mapped (the top of the stack).
pub fn read_until_unmapped(pid: Pid, addr: usize, buf: &mut [u8]) -> usize {
    let mut remote = Vec::new();
    let mut at = addr;
    while at < addr + buf.len() {
        let end = ((at / PAGE) + 1) * PAGE;
        let end = end.min(addr + buf.len());
        remote.push(RemoteIoVec {
            base: at,
            len: end - at,
        });
        at = end;
    }
    // process_vm_readv stops at the first element it cannot read.
    process_vm_readv(pid, &mut [IoSliceMut::new(buf)], &remote).unwrap_or(0)
}

/// The process's memory as a file, for writes that pass over page protection.
pub struct Forced(std::fs::File);

impl Forced {
    pub fn open(pid: Pid) -> io::Result<Forced> {
        let path = format!("/proc/{pid}/mem");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map(Forced)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
    }

    pub fn write(&self, addr: usize, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all_at(bytes, addr as u64)
    }
}
