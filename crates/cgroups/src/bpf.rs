//! The cgroup v2 device allow-list: v2 has no devices.allow file, so the list becomes a
//! BPF_PROG_TYPE_CGROUP_DEVICE program, built by hand here (no compiler, no libbpf) and
//! attached to the cgroup directory with BPF_PROG_ATTACH, which is what runc and crun do.
//!
//! The kernel runs the program on every device access with a `bpf_cgroup_dev_ctx`
//! { u32 access_type (access << 16 | type); u32 major; u32 minor; } and allows the access
//! iff it returns 1.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use hull_sys::bpf;
use nix::errno::Errno;

use crate::devices::Rule;
use crate::error::{Error, Result};

use hull_sys::bpf::Insn;

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

// Program and attach types, attach flags (linux/bpf.h).
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

fn bpf_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> Error + 'a {
    move |errno| Error::Bpf {
        op,
        path: path.to_path_buf(),
        errno,
        log: String::new(),
    }
}

fn load(prog: &[Insn], path: &Path) -> Result<OwnedFd> {
    let mut log = vec![0u8; 64 * 1024];
    bpf::prog_load(
        BPF_PROG_TYPE_CGROUP_DEVICE,
        prog,
        c"Apache-2.0",
        "hull_devices",
        &mut log,
    )
    .map_err(|errno| {
        let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
        Error::Bpf {
            op: "prog_load",
            path: path.to_path_buf(),
            errno,
            log: String::from_utf8_lossy(&log[..end]).trim().to_string(),
        }
    })
}

/// Ids of the device programs currently attached to the cgroup.
fn query(cgroup: &File, path: &Path) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let n = bpf::prog_query(cgroup.as_fd(), BPF_CGROUP_DEVICE, &mut ids)
        .map_err(bpf_error("prog_query", path))?;
    ids.truncate(n);
    Ok(ids)
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
    bpf::prog_attach(
        cgroup.as_fd(),
        prog.as_fd(),
        BPF_CGROUP_DEVICE,
        BPF_F_ALLOW_MULTI,
    )
    .map_err(bpf_error("prog_attach", dir))?;
    for id in old {
        let old_prog = bpf::prog_get_fd_by_id(id).map_err(bpf_error("prog_get_fd_by_id", dir))?;
        bpf::prog_detach(cgroup.as_fd(), old_prog.as_fd(), BPF_CGROUP_DEVICE)
            .map_err(bpf_error("prog_detach", dir))?;
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
