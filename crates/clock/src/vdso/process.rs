//! The vDSO of one traced process, at its exec stop: found from the auxiliary vector on the
//! new stack, then patched (see `mod.rs`) or, when it cannot be, hidden; and the model
//! written into a patched process again at each update.

use std::io;

use nix::sys::ptrace;
use nix::unistd::Pid;

use super::{data, image_size, plan, DATA, SEQ};
use crate::mem::{self, Forced};
use crate::model::Model;

const AT_NULL: u64 = 0;
const AT_IGNORE: u64 = 1;
const AT_SYSINFO_EHDR: u64 = 33;
/// The code segment of a 64-bit user process (`__USER_CS`; a 32-bit one runs in 0x23).
const USER_CS_64: u64 = 0x33;
/// How much of a new stack is read for argv, envp and auxv: far more than they ever take.
const STACK_READ: usize = 512 * 1024;

/// A process whose vDSO carries the stub.
#[derive(Debug, Clone, Copy)]
pub struct Patched {
    /// The vDSO's range: a clock system call made from there is the vDSO's own fallback.
    pub lo: usize,
    pub hi: usize,
    /// The stub's address (its data block's).
    pub stub: usize,
}

impl Patched {
    pub fn contains(&self, ip: u64) -> bool {
        (self.lo as u64..self.hi as u64).contains(&ip)
    }
}

/// The auxiliary vector's `AT_SYSINFO_EHDR` entry on the new stack: where the entry's type
/// is, and its value (the vDSO's address). The stack holds argc, argv, NULL, envp, NULL, then
/// the auxiliary vector.
/// None too for a 32-bit program (its words are 4 bytes; it is left alone).
fn auxv_vdso(pid: Pid) -> io::Result<Option<(usize, u64)>> {
    let regs = ptrace::getregs(pid)?;
    if regs.cs != USER_CS_64 {
        return Ok(None);
    }
    let sp = regs.rsp as usize;
    let mut buf = vec![0u8; STACK_READ];
    let n = mem::read_until_unmapped(pid, sp, &mut buf);
    let word = |i: usize| -> Option<u64> {
        let b = buf.get(i * 8..i * 8 + 8)?;
        (i * 8 + 8 <= n).then(|| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
    };
    let not_found = || io::Error::other("no auxiliary vector on the new stack");
    let argc = word(0).ok_or_else(not_found)? as usize;
    let mut i = 1 + argc + 1;
    while word(i).ok_or_else(not_found)? != 0 {
        i += 1;
    }
    i += 1;
    loop {
        match word(i).ok_or_else(not_found)? {
            AT_NULL => return Ok(None),
            AT_SYSINFO_EHDR => {
                return Ok(Some((sp + i * 8, word(i + 1).ok_or_else(not_found)?)));
            }
            _ => i += 2,
        }
    }
}

/// Whether the process runs under a seccomp filter: the container's processes do (their
/// filter sends the clock calls here); hull and the runtime on their way in do not, and keep
/// their vDSO as it is (the real clock).
fn filtered(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| s.lines().any(|l| l == "Seccomp:\t2"))
        .unwrap_or(false)
}

/// What was done to a new program image's vDSO.
pub enum AtExec {
    Patched(Patched),
    /// Hidden (the program reads the clock through the system call): why it was not patched.
    Hidden(String),
    /// Left alone (no filter, or no vDSO).
    Untouched,
}

/// At the exec stop: patches the new image's vDSO, or hides it when it cannot be patched.
pub fn at_exec(pid: Pid, model: &Model, seq: u64) -> io::Result<AtExec> {
    let Some((entry, base)) = auxv_vdso(pid)? else {
        return Ok(AtExec::Untouched);
    };
    if !filtered(pid) {
        return Ok(AtExec::Untouched);
    }
    match patch(pid, base as usize, model, seq) {
        Ok(p) => Ok(AtExec::Patched(p)),
        Err(why) => {
            mem::write(pid, entry, &AT_IGNORE.to_ne_bytes())?;
            Ok(AtExec::Hidden(why))
        }
    }
}

fn patch(pid: Pid, base: usize, model: &Model, seq: u64) -> Result<Patched, String> {
    let mut header = [0u8; 64];
    if mem::read(pid, base, &mut header) != Some(64) {
        return Err("vDSO header unreadable".into());
    }
    let size = image_size(&header).ok_or("not a 64-bit ELF image")?;
    let mut image = vec![0u8; size];
    if mem::read(pid, base, &mut image) != Some(size) {
        return Err(format!("vDSO image unreadable ({size} bytes)"));
    }
    let p = plan(&image, base as u64)?;
    let mut code = p.code;
    code[SEQ..SEQ + 8].copy_from_slice(&seq.to_le_bytes());
    code[DATA..DATA + 24].copy_from_slice(&data(model));
    let f = Forced::open(pid).map_err(|e| e.to_string())?;
    let fail = |e: io::Error| format!("write to the vDSO: {e}");
    // The stub first, then the symbols that lead to it: nothing runs meanwhile (exec stop).
    f.write(base + p.at, &code).map_err(fail)?;
    for (off, value) in p.symbols {
        f.write(base + off, &value.to_le_bytes()).map_err(fail)?;
    }
    Ok(Patched {
        lo: base,
        hi: base + p.size,
        stub: base + p.at,
    })
}

/// Writes the model into a patched process, which may be running: the sequence count is odd
/// while the data is being written, and `seq` (even, above any count written before) once
/// it is whole.
pub fn update(pid: Pid, p: &Patched, model: &Model, seq: u64) -> io::Result<()> {
    let f = Forced::open(pid)?;
    f.write(p.stub + SEQ, &(seq - 1).to_le_bytes())?;
    f.write(p.stub + DATA, &data(model))?;
    f.write(p.stub + SEQ, &seq.to_le_bytes())
}
