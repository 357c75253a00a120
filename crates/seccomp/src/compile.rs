//! OCI `linux.seccomp` -> a BPF program plus the `seccomp(2)` flags to load it with.
//!
//! libseccomp builds the program (arch dispatch, syscall number translation per arch, argument
//! comparisons on 32- and 64-bit arches); we export it with `seccomp_export_bpf` and keep the
//! instructions, so [`crate::load`] is one system call on memory that already exists.
//!
//! Rule semantics follow runc (libcontainer/seccomp/seccomp_linux.go), because OCI profiles
//! are written against it:
//! - a syscall name libseccomp does not know is skipped, not an error: profiles list syscalls
//!   of newer kernels and of other arches;
//! - a rule whose action equals the default action is skipped (libseccomp refuses it);
//! - conditions on distinct arguments AND together in one rule; if two conditions name the same
//!   argument, libseccomp cannot AND them, so each condition becomes a rule of its own and they
//!   OR (this is what docker's default profile relies on for `personality`);
//! - `SCMP_ACT_KILL` is `SCMP_ACT_KILL_THREAD`; `errnoRet` defaults to EPERM for ERRNO/TRACE.

use std::fmt;
use std::io::{Read, Seek};

use libc::c_ulong;
use libseccomp::{error::SeccompError, ScmpSyscall};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

use crate::error::{Error, Result};

const ROOT: &str = "linux.seccomp";
/// Syscalls take at most six arguments; `seccomp_data.args` has six slots.
const MAX_ARGS: usize = 6;

/// A compiled seccomp filter: the BPF program and the flags for `seccomp(2)`.
///
/// Built by [`compile`] in the runtime, loaded by [`crate::load`] in the container init. It is
/// plain data (no libseccomp handle), so it can be built before the init is cloned.
#[derive(Clone)]
pub struct Filter {
    pub(crate) program: Vec<libc::sock_filter>,
    pub(crate) flags: c_ulong,
    pub(crate) notify: bool,
}

impl Filter {
    /// Number of BPF instructions in the program.
    pub fn instructions(&self) -> usize {
        self.program.len()
    }

    /// True if a rule uses `SCMP_ACT_NOTIFY`: [`crate::load`] then returns a listener fd.
    pub fn uses_notify(&self) -> bool {
        self.notify
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits [`crate::load`] passes to `seccomp(2)`.
    pub fn kernel_flags(&self) -> c_ulong {
        self.flags
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("notify", &self.notify)
            .finish()
    }
}

fn libseccomp_err(field: impl Into<String>) -> impl FnOnce(SeccompError) -> Error {
    let field = field.into();
    move |source| Error::Libseccomp { field, source }
}

/// Compiles the whole `linux.seccomp` object into a [`Filter`].
///
/// `no_new_privs` is not set by the filter: as in runc, the runtime sets it (or not) from
/// `process.noNewPrivileges`, and loading without it needs CAP_SYS_ADMIN.
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter> {
    let default = scmp_action(
        spec.default_action(),
        spec.default_errno_ret(),
        &format!("{ROOT}.defaultErrnoRet"),
    )?;
    if default == ScmpAction::Notify {
        return Err(Error::NotifyDefault {
            field: format!("{ROOT}.defaultAction"),
        });
    }
    let mut ctx =
        ScmpFilterContext::new(default).map_err(libseccomp_err(format!("{ROOT}.defaultAction")))?;
    for (i, arch) in spec.architectures().iter().flatten().enumerate() {
        ctx.add_arch(scmp_arch(*arch))
            .map_err(libseccomp_err(format!("{ROOT}.architectures[{i}]")))?;
    }
    let mut notify = false;
    for (i, call) in spec.syscalls().iter().flatten().enumerate() {
        notify |= add_syscall(&mut ctx, default, i, call)?;
    }
    let flags = kernel_flags(spec.flags().as_deref().unwrap_or_default(), notify)?;
    let program = export(&ctx)?;
    Ok(Filter {
        program,
        flags,
        notify,
    })
}

/// Maps an OCI action (and its `errnoRet`) to libseccomp's.
fn scmp_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    errno_field: &str,
) -> Result<ScmpAction> {
    use LinuxSeccompAction as A;
    let data = || -> Result<u16> {
        match errno_ret {
            None => Ok(libc::EPERM as u16),
            Some(v) => u16::try_from(v).map_err(|_| Error::ErrnoRange {
                field: errno_field.to_owned(),
                value: v,
            }),
        }
    };
    // The spec: "When the action doesn't support an errno, the runtime MUST print an error
    // and fail."
    let no_errno = |name: &'static str, act: ScmpAction| match errno_ret {
        None => Ok(act),
        Some(_) => Err(Error::ErrnoNotAllowed {
            field: errno_field.to_owned(),
            action: name,
        }),
    };
    match action {
        A::ScmpActErrno => Ok(ScmpAction::Errno(i32::from(data()?))),
        A::ScmpActTrace => Ok(ScmpAction::Trace(data()?)),
        A::ScmpActKill => no_errno("SCMP_ACT_KILL", ScmpAction::KillThread),
        A::ScmpActKillThread => no_errno("SCMP_ACT_KILL_THREAD", ScmpAction::KillThread),
        A::ScmpActKillProcess => no_errno("SCMP_ACT_KILL_PROCESS", ScmpAction::KillProcess),
        A::ScmpActTrap => no_errno("SCMP_ACT_TRAP", ScmpAction::Trap),
        A::ScmpActNotify => no_errno("SCMP_ACT_NOTIFY", ScmpAction::Notify),
        A::ScmpActLog => no_errno("SCMP_ACT_LOG", ScmpAction::Log),
        A::ScmpActAllow => no_errno("SCMP_ACT_ALLOW", ScmpAction::Allow),
    }
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn condition(arg: &LinuxSeccompArg, field: &str) -> Result<ScmpArgCompare> {
    use LinuxSeccompOperator as O;
    let index = arg.index();
    if index >= MAX_ARGS {
        return Err(Error::ArgIndex {
            field: format!("{field}.index"),
            index,
        });
    }
    // For MASKED_EQ, `value` is the mask and `valueTwo` the datum, as libseccomp-golang's
    // MakeCondition(index, op, value, valueTwo) reads them in runc.
    let (op, datum) = match arg.op() {
        O::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        O::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        O::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        O::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        O::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        O::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        O::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    // `index < MAX_ARGS` was checked above, so it fits.
    Ok(ScmpArgCompare::new(index as u32, op, datum))
}

/// Adds the rules of `syscalls[i]`; returns true if a NOTIFY rule was added.
fn add_syscall(
    ctx: &mut ScmpFilterContext,
    default: ScmpAction,
    i: usize,
    call: &LinuxSyscall,
) -> Result<bool> {
    let field = format!("{ROOT}.syscalls[{i}]");
    let action = scmp_action(
        call.action(),
        call.errno_ret(),
        &format!("{field}.errnoRet"),
    )?;
    if call.names().is_empty() {
        return Err(Error::BadSyscall {
            field: format!("{field}.names"),
            reason: "must contain at least one syscall name",
        });
    }
    let args = call.args().as_deref().unwrap_or_default();
    let conds = args
        .iter()
        .enumerate()
        .map(|(j, a)| condition(a, &format!("{field}.args[{j}]")))
        .collect::<Result<Vec<_>>>()?;
    if action == default {
        return Ok(false);
    }
    let mut per_arg = [0usize; MAX_ARGS];
    for a in args {
        per_arg[a.index()] += 1;
    }
    let same_arg_twice = per_arg.iter().any(|&n| n > 1);

    let mut added = false;
    for (k, name) in call.names().iter().enumerate() {
        let name_field = format!("{field}.names[{k}]");
        if name.is_empty() {
            return Err(Error::BadSyscall {
                field: name_field,
                reason: "empty syscall name",
            });
        }
        let Ok(nr) = ScmpSyscall::from_name(name) else {
            continue;
        };
        let res = if conds.is_empty() {
            ctx.add_rule(action, nr).map(drop)
        } else if same_arg_twice {
            conds
                .iter()
                .try_for_each(|c| ctx.add_rule_conditional(action, nr, &[*c]).map(drop))
        } else {
            ctx.add_rule_conditional(action, nr, &conds).map(drop)
        };
        res.map_err(libseccomp_err(name_field))?;
        added = true;
    }
    Ok(added && action == ScmpAction::Notify)
}

fn kernel_flags(flags: &[LinuxSeccompFilterFlag], notify: bool) -> Result<c_ulong> {
    use LinuxSeccompFilterFlag as F;
    let mut out: c_ulong = 0;
    for (i, f) in flags.iter().enumerate() {
        let (bit, name) = match f {
            F::SeccompFilterFlagTsync => {
                (libc::SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC")
            }
            F::SeccompFilterFlagLog => (libc::SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"),
            F::SeccompFilterFlagSpecAllow => (
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            ),
            F::SeccompFilterFlagWaitKillableRecv => (
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            ),
        };
        // The kernel only takes WAIT_KILLABLE_RECV together with NEW_LISTENER.
        let wait_killable = bit == libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        let probe = if wait_killable {
            bit | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        } else {
            bit
        };
        if !hull_sys::seccomp::filter_flags_supported(probe) {
            return Err(Error::UnsupportedFlag {
                field: format!("{ROOT}.flags[{i}]"),
                flag: name,
            });
        }
        // Without a NOTIFY rule there is no listener for it to apply to.
        if wait_killable && !notify {
            continue;
        }
        out |= bit;
    }
    if notify {
        out |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC and NEW_LISTENER both want the return value; TSYNC_ESRCH makes a sync
        // failure an error (ESRCH) so the return value is the listener fd.
        if out & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            out |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    Ok(out)
}

/// Has libseccomp generate the program and reads it back as instructions.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>> {
    const INSN: usize = std::mem::size_of::<libc::sock_filter>();
    // A file, not a pipe: a large program would fill a pipe and block the export.
    let mut file = tempfile::tempfile().map_err(Error::Export)?;
    ctx.export_bpf(&file).map_err(libseccomp_err(ROOT))?;
    let mut bytes = Vec::new();
    file.rewind().map_err(Error::Export)?;
    file.read_to_end(&mut bytes).map_err(Error::Export)?;
    if bytes.is_empty() || bytes.len() % INSN != 0 {
        return Err(Error::Export(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} bytes is not a whole number of instructions",
                bytes.len()
            ),
        )));
    }
    // seccomp_export_bpf writes `struct sock_filter` in host layout: u16 code, u8 jt, u8 jf,
    // u32 k.
    let program: Vec<libc::sock_filter> = bytes
        .chunks_exact(INSN)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let max = libc::BPF_MAXINSNS as usize;
    if program.len() > max {
        return Err(Error::TooLong {
            len: program.len(),
            max,
        });
    }
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_oci;

    fn compile_json(json: &str) -> Result<Filter> {
        compile(&parse_oci(json.as_bytes()).unwrap())
    }

    #[test]
    fn every_action_compiles() {
        for act in [
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
        ] {
            let f = compile_json(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],"action":"{act}"}}]}}"#
            ))
            .unwrap_or_else(|e| panic!("{act}: {e}"));
            assert!(f.instructions() > 0);
            assert_eq!(f.uses_notify(), act == "SCMP_ACT_NOTIFY", "{act}");
        }
    }

    #[test]
    fn every_operator_compiles() {
        for op in [
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
        ] {
            compile_json(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["personality"],
                    "action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":8,"valueTwo":8,"op":"{op}"}}]}}]}}"#
            ))
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        }
    }

    #[test]
    fn errno_ret_only_with_errno_or_trace() {
        let e = compile_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["getpid"],"action":"SCMP_ACT_ALLOW"},
                {"names":["getppid"],"action":"SCMP_ACT_ALLOW","errnoRet":5}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.seccomp.syscalls[1].errnoRet: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"
        );
        compile_json(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_TRACE","errnoRet":7}]}"#,
        )
        .unwrap();
    }

    #[test]
    fn bad_fields_are_named() {
        let e = compile_json(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO",
                "args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.seccomp.syscalls[0].args[0].index: argument index 6 is out of range (0..=5)"
        );
        let e = compile_json(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.seccomp.syscalls[0].names: must contain at least one syscall name"
        );
        let e = compile_json(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"
        );
        let e = compile_json(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.seccomp.defaultErrnoRet: errnoRet 70000 does not fit in 16 bits"
        );
    }

    #[test]
    fn unknown_syscalls_and_default_action_rules_are_skipped() {
        let f = compile_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["no_such_syscall_xyz","getpid"],"action":"SCMP_ACT_ALLOW"},
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        assert!(f.instructions() > 0);
    }

    #[test]
    fn architectures_and_flags() {
        let f = compile_json(
            r#"{"defaultAction":"SCMP_ACT_ALLOW",
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32","SCMP_ARCH_AARCH64"],
                "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap();
        let want = libc::SECCOMP_FILTER_FLAG_TSYNC
            | libc::SECCOMP_FILTER_FLAG_LOG
            | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        assert_eq!(f.kernel_flags(), want);
    }

    #[test]
    fn multi_arch_program_is_longer() {
        let one = compile_json(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#)
            .unwrap();
        let three = compile_json(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        assert!(three.instructions() > one.instructions());
    }
}
