//! docker's seccomp profile format -> OCI `linux.seccomp`, and docker's default profile.
//!
//! `hull run --security-opt seccomp=FILE` takes profiles written for docker. Their extra
//! fields (`archMap`, per-entry `includes`/`excludes` by capability, arch and kernel version,
//! the single `name`) are resolved here for one container, following the rules of moby's
//! profiles/seccomp `setupSeccomp`:
//! - `architectures` and `archMap` together are an error; `architectures` is copied; from
//!   `archMap` only the entry for the native arch is used (it and its `subArchitectures`);
//! - an entry is dropped if `excludes.arches` has the arch, if any of `excludes.caps` is in the
//!   capability set, or if the kernel is at least `excludes.minKernel`;
//! - an entry is dropped if `includes.arches` is non-empty and lacks the arch, if any of
//!   `includes.caps` is missing from the capability set, or if the kernel is older than
//!   `includes.minKernel`;
//! - `name` and `names` together are an error; `name` becomes `names: [name]`.
//!
//! The capability set is the container's bounding set, as moby passes
//! `rs.Process.Capabilities.Bounding`.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSyscall};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::parse;

/// docker's default seccomp profile (moby profiles/seccomp/default.json; see
/// profiles/README.md for its origin).
pub const DEFAULT_PROFILE_JSON: &[u8] = include_bytes!("../profiles/default.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    default_action: String,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMap>>,
    syscalls: Option<Vec<Syscall>>,
    flags: Option<Vec<String>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Syscall {
    name: Option<String>,
    names: Option<Vec<String>>,
    #[serde(default)]
    action: String,
    errno_ret: Option<u32>,
    args: Option<Vec<Arg>>,
    includes: Option<Filter>,
    excludes: Option<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    index: usize,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// The native architecture in the names docker profiles use in `includes.arches` (`amd64`,
/// `arm64`, `x86`, `ppc64le`, `s390x`, `riscv64`, ...).
pub fn native_arch() -> &'static str {
    if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
        "x32"
    } else if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "x86") {
        "x86"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "arm") {
        "arm"
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        "ppc64le"
    } else if cfg!(target_arch = "powerpc64") {
        "ppc64"
    } else if cfg!(target_arch = "s390x") {
        "s390x"
    } else if cfg!(target_arch = "riscv64") {
        "riscv64"
    } else if cfg!(target_arch = "loongarch64") {
        "loong64"
    } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
        "mipsel64"
    } else if cfg!(target_arch = "mips64") {
        "mips64"
    } else {
        std::env::consts::ARCH
    }
}

/// Accepts Rust's arch names too (`x86_64`, `aarch64`) and returns docker's.
fn docker_arch_name(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "x86",
        other => other,
    }
}

/// docker arch name -> the `SCMP_ARCH_*` whose `archMap` entry applies (moby nativeToSeccomp).
fn seccomp_arch_for(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "x86" => "SCMP_ARCH_X86",
        "amd64" => "SCMP_ARCH_X86_64",
        "arm" => "SCMP_ARCH_ARM",
        "arm64" => "SCMP_ARCH_AARCH64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64n32" => "SCMP_ARCH_MIPS64N32",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mipsel64n32" => "SCMP_ARCH_MIPSEL64N32",
        "mipsle" => "SCMP_ARCH_MIPSEL",
        "ppc" => "SCMP_ARCH_PPC",
        "ppc64" => "SCMP_ARCH_PPC64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "s390" => "SCMP_ARCH_S390",
        "s390x" => "SCMP_ARCH_S390X",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "loong64" => "SCMP_ARCH_LOONGARCH64",
        _ => return None,
    })
}

/// `MAJOR.MINOR[anything]` -> (major, minor), as moby's parseRelease (`%d.%d`) reads it.
fn parse_kernel_version(s: &str) -> Option<(u32, u32)> {
    let (major, rest) = s.split_once('.')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, digits.parse().ok()?))
}

fn running_kernel() -> Result<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").map_err(|e| {
        Error::KernelRelease {
            reason: e.to_string(),
        }
    })?;
    let release = release.trim();
    parse_kernel_version(release).ok_or_else(|| Error::KernelRelease {
        reason: format!("cannot parse {release:?}"),
    })
}

/// Resolves the running kernel once per conversion, and only if a profile asks.
struct Kernel(Option<(u32, u32)>);

impl Kernel {
    /// Is the running kernel at least `min` (the value of `field`)?
    fn at_least(&mut self, min: &str, field: &str) -> Result<bool> {
        let want = parse_kernel_version(min).ok_or_else(|| Error::KernelVersion {
            field: field.to_owned(),
            value: min.to_owned(),
        })?;
        let have = match self.0 {
            Some(v) => v,
            None => *self.0.insert(running_kernel()?),
        };
        Ok(have >= want)
    }
}

/// Should `syscalls[i]` be kept for this container? (moby's includes/excludes rules.)
fn applies(
    call: &Syscall,
    i: usize,
    caps: &[String],
    arch: &str,
    kernel: &mut Kernel,
) -> Result<bool> {
    let has_cap = |c: &String| caps.contains(c);
    if let Some(ex) = &call.excludes {
        if ex.arches.iter().flatten().any(|a| a == arch) {
            return Ok(false);
        }
        if ex.caps.iter().flatten().any(has_cap) {
            return Ok(false);
        }
        if let Some(min) = &ex.min_kernel {
            if kernel.at_least(min, &format!("syscalls[{i}].excludes.minKernel"))? {
                return Ok(false);
            }
        }
    }
    if let Some(inc) = &call.includes {
        let arches = inc.arches.as_deref().unwrap_or_default();
        if !arches.is_empty() && !arches.iter().any(|a| a == arch) {
            return Ok(false);
        }
        if !inc.caps.iter().flatten().all(has_cap) {
            return Ok(false);
        }
        if let Some(min) = &inc.min_kernel {
            if !kernel.at_least(min, &format!("syscalls[{i}].includes.minKernel"))? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn convert_syscall(call: Syscall, i: usize) -> Result<LinuxSyscall> {
    let names = match (call.name, call.names) {
        (Some(n), Some(ns)) if !n.is_empty() && !ns.is_empty() => {
            return Err(Error::Conflict {
                field: format!("syscalls[{i}]"),
                reason: "'name' and 'names' were both specified, use one",
            })
        }
        (Some(n), _) if !n.is_empty() => vec![n],
        (_, ns) => ns.unwrap_or_default(),
    };
    let action = parse::action(&call.action, &format!("syscalls[{i}].action"))?;
    let mut args = Vec::new();
    for (j, a) in call.args.unwrap_or_default().into_iter().enumerate() {
        let op = parse::operator(&a.op, &format!("syscalls[{i}].args[{j}].op"))?;
        let mut b = LinuxSeccompArgBuilder::default()
            .index(a.index)
            .value(a.value)
            .op(op);
        if a.value_two != 0 {
            b = b.value_two(a.value_two);
        }
        // Every field of the builder has a default, so build() cannot fail on a missing one.
        args.push(b.build().map_err(|_| Error::BadSyscall {
            field: format!("syscalls[{i}].args[{j}]"),
            reason: "cannot build the OCI argument",
        })?);
    }
    let mut out = LinuxSyscall::default();
    out.set_names(names)
        .set_action(action)
        .set_errno_ret(call.errno_ret)
        .set_args((!args.is_empty()).then_some(args));
    Ok(out)
}

/// Converts a profile in docker's JSON format to the OCI `linux.seccomp` object for one
/// container with capability set `caps` (bounding set, `CAP_*` names) on `arch` (docker's
/// names, see [`native_arch`]; `x86_64`/`aarch64` are accepted too).
///
/// Field errors name the profile's own fields, e.g. `syscalls[3].action: unknown action
/// "SCMP_ACT_FOO"`. A profile with neither `defaultAction` nor `syscalls` means "no seccomp"
/// to docker; here it becomes a filter that allows everything.
pub fn docker_to_oci(profile_json: &[u8], caps: &[String], arch: &str) -> Result<LinuxSeccomp> {
    let p: Profile = parse::from_json(profile_json, "")?;
    let arch = docker_arch_name(arch);
    let mut out = LinuxSeccomp::default();

    let syscalls = p.syscalls.unwrap_or_default();
    if p.default_action.is_empty() && syscalls.is_empty() {
        out.set_default_action(LinuxSeccompAction::ScmpActAllow);
        return Ok(out);
    }

    let listed = p.architectures.unwrap_or_default();
    let arch_map = p.arch_map.unwrap_or_default();
    if !listed.is_empty() && !arch_map.is_empty() {
        return Err(Error::Conflict {
            field: "archMap".to_owned(),
            reason: "'architectures' and 'archMap' were both specified, use one",
        });
    }
    let mut arches = Vec::new();
    for (i, a) in listed.iter().enumerate() {
        arches.push(parse::arch(a, &format!("architectures[{i}]"))?);
    }
    if let Some(native) = seccomp_arch_for(arch) {
        if let Some((i, m)) = arch_map
            .iter()
            .enumerate()
            .find(|(_, m)| m.architecture == native)
        {
            arches.push(parse::arch(
                &m.architecture,
                &format!("archMap[{i}].architecture"),
            )?);
            for (j, s) in m.sub_architectures.iter().flatten().enumerate() {
                arches.push(parse::arch(
                    s,
                    &format!("archMap[{i}].subArchitectures[{j}]"),
                )?);
            }
        }
    }

    let mut flags = Vec::new();
    for (i, f) in p.flags.iter().flatten().enumerate() {
        flags.push(parse::flag(f, &format!("flags[{i}]"))?);
    }

    out.set_default_action(parse::action(&p.default_action, "defaultAction")?)
        .set_default_errno_ret(p.default_errno_ret)
        .set_architectures((!arches.is_empty()).then_some(arches))
        .set_flags((!flags.is_empty()).then_some(flags))
        .set_listener_path(p.listener_path.map(Into::into))
        .set_listener_metadata(p.listener_metadata);

    let mut kernel = Kernel(None);
    let mut rules = Vec::new();
    for (i, call) in syscalls.into_iter().enumerate() {
        if applies(&call, i, caps, arch, &mut kernel)? {
            rules.push(convert_syscall(call, i)?);
        }
    }
    out.set_syscalls(Some(rules));
    Ok(out)
}

/// hull's default profile (docker's) for a container with capability set `caps` on the
/// native arch.
pub fn default_profile(caps: &[String]) -> Result<LinuxSeccomp> {
    docker_to_oci(DEFAULT_PROFILE_JSON, caps, native_arch())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Arch, LinuxSeccompOperator};

    fn caps(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    /// Every action a rule for `name` gets, in order.
    fn actions_for(s: &LinuxSeccomp, name: &str) -> Vec<LinuxSeccompAction> {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names().iter().any(|n| n == name))
            .map(|c| c.action())
            .collect()
    }

    #[test]
    fn sys_admin_opens_mount_and_namespaces() {
        let without = default_profile(&caps(&["CAP_CHOWN"])).unwrap();
        let with = default_profile(&caps(&["CAP_CHOWN", "CAP_SYS_ADMIN"])).unwrap();
        for name in ["mount", "umount2", "unshare", "setns", "sethostname", "bpf"] {
            assert!(actions_for(&without, name).is_empty(), "{name} without");
            assert_eq!(
                actions_for(&with, name),
                vec![LinuxSeccompAction::ScmpActAllow],
                "{name} with"
            );
        }
        // clone3 gets ENOSYS without CAP_SYS_ADMIN so that libc falls back to clone.
        let c3: Vec<_> = without
            .syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names() == &["clone3"])
            .collect();
        assert_eq!(c3.len(), 1);
        assert_eq!(c3[0].errno_ret(), Some(38));
        // clone is allowed only without namespace flags (MASKED_EQ on arg 0, not s390's arg 1).
        let clone: Vec<_> = without
            .syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names() == &["clone"])
            .collect();
        assert_eq!(clone.len(), 1);
        let a = clone[0].args().as_ref().unwrap()[0];
        assert_eq!(
            (a.index(), a.value(), a.op()),
            (0, 2114060288, LinuxSeccompOperator::ScmpCmpMaskedEq)
        );
    }

    #[test]
    fn other_caps_gate_their_syscalls() {
        let none = default_profile(&[]).unwrap();
        let some =
            default_profile(&caps(&["CAP_SYS_PTRACE", "CAP_SYS_CHROOT", "CAP_SYS_TIME"])).unwrap();
        for name in ["chroot", "kcmp", "settimeofday"] {
            assert!(actions_for(&none, name).is_empty(), "{name}");
            assert!(!actions_for(&some, name).is_empty(), "{name}");
        }
        // ptrace is allowed on kernels >= 4.8 even without CAP_SYS_PTRACE (minKernel).
        assert!(!actions_for(&none, "ptrace").is_empty());
    }

    #[test]
    fn arch_includes_and_arch_map() {
        let amd = docker_to_oci(DEFAULT_PROFILE_JSON, &[], "amd64").unwrap();
        assert!(!actions_for(&amd, "arch_prctl").is_empty());
        assert!(actions_for(&amd, "set_tls").is_empty());
        assert!(actions_for(&amd, "s390_runtime_instr").is_empty());
        assert_eq!(
            amd.architectures().as_deref().unwrap(),
            &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        let arm = docker_to_oci(DEFAULT_PROFILE_JSON, &[], "aarch64").unwrap();
        assert!(actions_for(&arm, "arch_prctl").is_empty());
        assert!(!actions_for(&arm, "set_tls").is_empty());
        assert_eq!(
            arm.architectures().as_deref().unwrap(),
            &[Arch::ScmpArchAarch64, Arch::ScmpArchArm]
        );
        // s390x: clone's flags are arg 1 there.
        let s390 = docker_to_oci(DEFAULT_PROFILE_JSON, &[], "s390x").unwrap();
        let clone: Vec<_> = s390
            .syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names() == &["clone"])
            .collect();
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].args().as_ref().unwrap()[0].index(), 1);
    }

    #[test]
    fn personality_conditions_are_kept() {
        let p = default_profile(&[]).unwrap();
        let values: Vec<u64> = p
            .syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names() == &["personality"])
            .flat_map(|c| c.args().clone().unwrap_or_default())
            .inspect(|a| assert_eq!(a.op(), LinuxSeccompOperator::ScmpCmpEq))
            .map(|a| a.value())
            .collect();
        assert_eq!(values, vec![0, 8, 131072, 131080, 4294967295]);
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
    }

    #[test]
    fn default_profile_compiles() {
        for c in [
            caps(&[]),
            caps(&["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_BPF"]),
        ] {
            let f = crate::compile(&default_profile(&c).unwrap()).unwrap();
            assert!(f.instructions() > 100);
            assert!(!f.uses_notify());
        }
    }

    #[test]
    fn min_kernel_excludes_and_bad_versions() {
        let json = br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"99.0"}},
            {"names":["b"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":"3.0"}},
            {"names":["c"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"3.10"}},
            {"name":"d","action":"SCMP_ACT_ALLOW"}]}"#;
        let p = docker_to_oci(json, &[], "amd64").unwrap();
        let names: Vec<_> = p
            .syscalls()
            .iter()
            .flatten()
            .flat_map(|c| c.names().clone())
            .collect();
        assert_eq!(names, vec!["c", "d"]);
        let bad = br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["a"],"action":"SCMP_ACT_ALLOW"},
            {"names":["b"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"four"}}]}"#;
        assert_eq!(
            docker_to_oci(bad, &[], "amd64").unwrap_err().to_string(),
            r#"syscalls[1].includes.minKernel: invalid kernel version "four" (want MAJOR.MINOR)"#
        );
    }

    #[test]
    fn docker_field_errors() {
        let err = |j: &str| {
            docker_to_oci(j.as_bytes(), &[], "amd64")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW"},
                {"names":["b"],"action":"SCMP_ACT_FOO"}]}"#
            ),
            r#"syscalls[1].action: unknown action "SCMP_ACT_FOO""#
        );
        assert_eq!(
            err(
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW",
                "args":[{"index":0,"value":0,"op":"SCMP_CMP_BOGUS"}]}]}"#
            ),
            r#"syscalls[0].args[0].op: unknown operator "SCMP_CMP_BOGUS""#
        );
        assert_eq!(
            err(r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_LOG","X"]}"#),
            r#"flags[1]: unknown flag "X""#
        );
        assert_eq!(
            err(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_PDP11"]}"#),
            r#"architectures[0]: unknown architecture "SCMP_ARCH_PDP11""#
        );
        assert_eq!(
            err(
                r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],
                "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}"#
            ),
            "archMap: 'architectures' and 'archMap' were both specified, use one"
        );
        assert_eq!(
            err(
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}"#
            ),
            "syscalls[0]: 'name' and 'names' were both specified, use one"
        );
        assert!(
            err(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":"a"}]}"#)
                .starts_with("syscalls[0].names: ")
        );
    }

    #[test]
    fn empty_profile_allows_everything() {
        let p = docker_to_oci(b"{}", &[], "amd64").unwrap();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert!(p.syscalls().is_none());
    }

    #[test]
    fn kernel_versions_parse_like_moby() {
        assert_eq!(parse_kernel_version("4.8"), Some((4, 8)));
        assert_eq!(parse_kernel_version("6.18.0-1-amd64"), Some((6, 18)));
        assert_eq!(parse_kernel_version("3.12-1-amd64"), Some((3, 12)));
        assert_eq!(parse_kernel_version("4"), None);
        assert!(running_kernel().is_ok());
    }
}
