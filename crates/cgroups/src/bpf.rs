//! The cgroup v2 device allow-list: v2 has no devices.allow file, so the list becomes a
//! BPF_PROG_TYPE_CGROUP_DEVICE program, built by hand here (no compiler, no libbpf) and
//! attached to the cgroup directory with BPF_PROG_ATTACH, which is what runc and crun do.
//!
//! The kernel runs the program on every device access with a `bpf_cgroup_dev_ctx`
//! { u32 access_type (access << 16 | type); u32 major; u32 minor; } and allows the access
//! iff it returns 1.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;

use crate::devices::Rule;
use crate::error::{Error, Result};

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst_reg in the low nibble, src_reg in the high nibble.
    regs: u8,
    off: i16,
    imm: i32,
}

// Opcodes (linux/bpf_common.h, linux/bpf.h), spelled out once.
const LDX_W_MEM: u8 = 0x61; // BPF_LDX | BPF_W | BPF_MEM
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// bpf_cgroup_dev_ctx values (linux/bpf.h).
const DEV_BLOCK: i32 = 1; // BPF_DEVCG_DEV_BLOCK
const DEV_CHAR: i32 = 2; // BPF_DEVCG_DEV_CHAR
const ACC_MKNOD: i32 = 1; // BPF_DEVCG_ACC_MKNOD
const ACC_READ: i32 = 2; // BPF_DEVCG_ACC_READ
const ACC_WRITE: i32 = 4; // BPF_DEVCG_ACC_WRITE

// Registers: r1 holds the context on entry; r2..r5 hold its decoded fields.
const R0: u8 = 0;
const R1: u8 = 1;
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |acc, c| {
        acc | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        }
    })
}

/// Compile the rules. OCI semantics: rules apply in order and a later rule overrides an
/// earlier one, so the program tests them last-to-first and returns on the first match;
/// nothing matching means deny.
pub(crate) fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_W_MEM, R_TYPE, R1, 0, 0),
        insn(ALU32_AND_K, R_TYPE, 0, 0, 0xffff),
        insn(LDX_W_MEM, R_ACCESS, R1, 0, 0),
        insn(ALU32_RSH_K, R_ACCESS, 0, 0, 16),
        insn(LDX_W_MEM, R_MAJOR, R1, 4, 0),
        insn(LDX_W_MEM, R_MINOR, R1, 8, 0),
    ];
    for r in rules.iter().rev() {
        // Each block's conditional jumps skip to the end of the block; offsets are
        // filled in once the block length is known (usize::MAX marks "to be patched").
        let mut block: Vec<(Insn, bool)> = Vec::new();
        let skip = |code, reg, imm| (insn(code, reg, 0, 0, imm), true);
        match r.kind {
            'b' => block.push(skip(JMP_JNE_K, R_TYPE, DEV_BLOCK)),
            'c' => block.push(skip(JMP_JNE_K, R_TYPE, DEV_CHAR)),
            _ => {}
        }
        let bits = access_bits(&r.access);
        if bits != 7 {
            block.push((insn(ALU32_MOV_X, R1, R_ACCESS, 0, 0), false));
            if r.allow {
                // An allow rule matches when every requested bit is allowed.
                block.push((insn(ALU32_AND_K, R1, 0, 0, !bits & 7), false));
                block.push(skip(JMP_JNE_K, R1, 0));
            } else {
                // A deny rule matches when any requested bit is denied.
                block.push((insn(ALU32_AND_K, R1, 0, 0, bits), false));
                block.push(skip(JMP_JEQ_K, R1, 0));
            }
        }
        // Device numbers fit in 32 bits; the ctx fields are zero-extended u32 loads.
        if let Some(maj) = r.major {
            block.push(skip(JMP_JNE_K, R_MAJOR, maj as i32));
        }
        if let Some(min) = r.minor {
            block.push(skip(JMP_JNE_K, R_MINOR, min as i32));
        }
        block.push((insn(ALU32_MOV_K, R0, 0, 0, i32::from(r.allow)), false));
        block.push((insn(JMP_EXIT, 0, 0, 0, 0), false));
        let len = block.len();
        let matches_all = !block.iter().any(|(_, is_jump)| *is_jump);
        for (i, (mut ins, is_jump)) in block.into_iter().enumerate() {
            if is_jump {
                // Offset counts from the next instruction; land just past the exit.
                ins.off = i16::try_from(len - i - 1).unwrap_or(i16::MAX);
            }
            p.push(ins);
        }
        // A rule that matches every access ends the program: the verifier rejects the
        // unreachable instructions that earlier rules would compile to.
        if matches_all {
            return p;
        }
    }
    p.push(insn(ALU32_MOV_K, R0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

// bpf(2) commands, program and attach types (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

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

/// bpf(cmd, attr, sizeof attr). Returns the syscall's non-negative result.
///
/// # Safety
/// `T` must be one of the `bpf_attr` prefixes above, filled as the kernel expects for `cmd`;
/// any pointers inside must be valid for the duration of the call.
unsafe fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> std::result::Result<RawFd, Errno> {
    // SAFETY: per this function's contract `attr` points to a properly laid out bpf_attr
    // prefix of size_of::<T>() bytes; the kernel zero-extends shorter attrs.
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

fn load(prog: &[Insn], path: &Path) -> Result<OwnedFd> {
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"hull_devices");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(prog.len()).unwrap_or(u32::MAX),
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: u32::try_from(log.len()).unwrap_or(u32::MAX),
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_LOAD prefix; insns, license and log_buf point to live
    // buffers of the advertised sizes that outlive the call.
    match unsafe { bpf(BPF_PROG_LOAD, &mut attr) } {
        // SAFETY: a successful BPF_PROG_LOAD returns a new fd that we now own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        Err(errno) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            Err(Error::Bpf {
                op: "prog_load",
                path: path.to_path_buf(),
                errno,
                log: String::from_utf8_lossy(&log[..end]).trim().to_string(),
            })
        }
    }
}

/// Ids of the device programs currently attached to the cgroup.
fn query(cgroup: &File, path: &Path) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: fd_u32(cgroup.as_raw_fd()),
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: u32::try_from(ids.len()).unwrap_or(0),
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_QUERY prefix; prog_ids points to prog_cnt u32s.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }.map_err(|errno| Error::Bpf {
        op: "prog_query",
        path: path.to_path_buf(),
        errno,
        log: String::new(),
    })?;
    ids.truncate(usize::try_from(attr.prog_cnt).unwrap_or(0));
    Ok(ids)
}

fn fd_u32(fd: RawFd) -> u32 {
    u32::try_from(fd).unwrap_or(u32::MAX)
}

/// Replace the cgroup's device program by one compiled from `rules`.
pub(crate) fn apply(dir: &Path, rules: &[Rule]) -> Result<()> {
    let cgroup = File::open(dir).map_err(|e| Error::Dir {
        op: "open",
        path: dir.to_path_buf(),
        errno: crate::error::errno(&e),
    })?;
    let prog = load(&program(rules), dir)?;
    let old = query(&cgroup, dir)?;
    // Attach the new program before detaching the old ones: with ALLOW_MULTI every attached
    // program must allow an access, so the overlap is never looser than either list.
    let mut attr = AttachAttr {
        target_fd: fd_u32(cgroup.as_raw_fd()),
        attach_bpf_fd: fd_u32(prog.as_raw_fd()),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    // SAFETY: attr is a BPF_PROG_ATTACH prefix with two fds we hold open.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map_err(|errno| Error::Bpf {
        op: "prog_attach",
        path: dir.to_path_buf(),
        errno,
        log: String::new(),
    })?;
    for id in old {
        let mut get = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        // SAFETY: attr is a BPF_PROG_GET_FD_BY_ID prefix; no pointers.
        let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut get) }.map_err(|errno| Error::Bpf {
            op: "prog_get_fd_by_id",
            path: dir.to_path_buf(),
            errno,
            log: String::new(),
        })?;
        // SAFETY: a successful BPF_PROG_GET_FD_BY_ID returns a new fd that we now own.
        let old_prog = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut det = AttachAttr {
            target_fd: fd_u32(cgroup.as_raw_fd()),
            attach_bpf_fd: fd_u32(old_prog.as_raw_fd()),
            attach_type: BPF_CGROUP_DEVICE,
            attach_flags: 0,
        };
        // SAFETY: attr is a BPF_PROG_DETACH prefix with two fds we hold open.
        unsafe { bpf(BPF_PROG_DETACH, &mut det) }.map_err(|errno| Error::Bpf {
            op: "prog_detach",
            path: dir.to_path_buf(),
            errno,
            log: String::new(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: char, major: Option<u32>, minor: Option<u32>, access: &str) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access: access.to_string(),
        }
    }

    #[test]
    fn deny_all_then_allow_null() {
        let p = program(&[
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', Some(1), Some(3), "rwm"),
        ]);
        // 6 prologue + (type, major, minor, mov, exit) + (mov, exit); the deny-all rule
        // matches everything, so no default (it would be unreachable).
        assert_eq!(p.len(), 6 + 5 + 2);
        // The last rule (allow c 1:3) is tested first; its jumps land after its exit.
        assert_eq!(p[6], insn(JMP_JNE_K, R_TYPE, 0, 4, DEV_CHAR));
        assert_eq!(p[7], insn(JMP_JNE_K, R_MAJOR, 0, 3, 1));
        assert_eq!(p[8], insn(JMP_JNE_K, R_MINOR, 0, 2, 3));
        assert_eq!(p[9], insn(ALU32_MOV_K, R0, 0, 0, 1));
        assert_eq!(p[11], insn(ALU32_MOV_K, R0, 0, 0, 0));
        assert_eq!(p[12].code, JMP_EXIT);
    }

    #[test]
    fn partial_access() {
        let p = program(&[rule(true, 'b', Some(8), None, "rw")]);
        assert_eq!(p[6], insn(JMP_JNE_K, R_TYPE, 0, 6, DEV_BLOCK));
        assert_eq!(p[7], insn(ALU32_MOV_X, R1, R_ACCESS, 0, 0));
        assert_eq!(p[8], insn(ALU32_AND_K, R1, 0, 0, ACC_MKNOD));
        assert_eq!(p[9], insn(JMP_JNE_K, R1, 0, 3, 0));
    }
}
