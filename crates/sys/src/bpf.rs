//! `bpf(2)` for cgroup device programs (nix and std have no wrapper): load one, list, attach,
//! detach. Each call fills the prefix of `union bpf_attr` its command reads; the kernel
//! zero-extends a shorter attr.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high nibble.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// bpf(2) commands (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;

/// The prefix of `union bpf_attr` used by BPF_PROG_LOAD.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// The prefix of `union bpf_attr` used by BPF_PROG_ATTACH / BPF_PROG_DETACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// The prefix of `union bpf_attr` used by BPF_PROG_QUERY.
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

/// The prefix of `union bpf_attr` used by BPF_PROG_GET_FD_BY_ID.
#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// The attr structs above: the only types `bpf` may be called with.
trait Attr {}
impl Attr for ProgLoadAttr {}
impl Attr for AttachAttr {}
impl Attr for QueryAttr {}
impl Attr for GetFdAttr {}

/// bpf(cmd, attr, sizeof attr). Returns the syscall's non-negative result.
///
/// # Safety
/// `attr` must be filled as the kernel expects for `cmd`; any pointers inside must be valid
/// for the duration of the call.
unsafe fn bpf<T: Attr>(cmd: libc::c_int, attr: &mut T) -> Result<RawFd, Errno> {
    // SAFETY: per this function's contract `attr` points to a properly laid out bpf_attr
    // prefix of size_of::<T>() bytes (T: Attr is one of the repr(C) prefixes above).
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(RawFd::try_from(r).unwrap_or(RawFd::MAX))
    }
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX)
}

/// BPF_PROG_LOAD of `insns` as a program of type `prog_type`, named `name` (at most 15
/// bytes are kept). The verifier's log goes to `log` (NUL-terminated), which is what to show
/// when the load fails.
pub fn prog_load(
    prog_type: u32,
    insns: &[Insn],
    license: &CStr,
    name: &str,
    log: &mut [u8],
) -> Result<OwnedFd, Errno> {
    let mut prog_name = [0u8; 16];
    let n = name.len().min(15);
    prog_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| Errno::E2BIG)?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: u32::try_from(log.len()).unwrap_or(u32::MAX),
        log_buf: log.as_mut_ptr() as u64,
        prog_name,
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_LOAD prefix; insns, license and log_buf point to live
    // buffers of the advertised sizes that outlive the call.
    let fd = unsafe { bpf(BPF_PROG_LOAD, &mut attr) }?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// BPF_PROG_QUERY: the ids of the programs of `attach_type` attached to `target` (a cgroup
/// directory), at most `ids.len()`. Returns how many were written.
pub fn prog_query(
    target: BorrowedFd<'_>,
    attach_type: u32,
    ids: &mut [u32],
) -> Result<usize, Errno> {
    let mut attr = QueryAttr {
        target_fd: fd_u32(target),
        attach_type,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_QUERY prefix; prog_ids points to prog_cnt u32s.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    Ok(usize::try_from(attr.prog_cnt).unwrap_or(0).min(ids.len()))
}

/// BPF_PROG_ATTACH of `prog` to `target` as `attach_type` with BPF_F_* `flags`.
pub fn prog_attach(
    target: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<(), Errno> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(target),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        attach_flags: flags,
    };
    // SAFETY: attr is a BPF_PROG_ATTACH prefix with two fds the caller holds open.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// BPF_PROG_DETACH of `prog` from `target`.
pub fn prog_detach(
    target: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> Result<(), Errno> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(target),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        attach_flags: 0,
    };
    // SAFETY: attr is a BPF_PROG_DETACH prefix with two fds the caller holds open.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// BPF_PROG_GET_FD_BY_ID: an fd for the loaded program with id `id`.
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd, Errno> {
    let mut attr = GetFdAttr {
        prog_id: id,
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_GET_FD_BY_ID prefix; no pointers.
    let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }?;
    // SAFETY: a successful BPF_PROG_GET_FD_BY_ID returns a new fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
