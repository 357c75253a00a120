//! The last steps before exec, in the container's root: limits, identity, capabilities, and
//! the program to run.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{LinuxCapabilities, PosixRlimitType, Process};

use crate::error::{Context, Error, Result};
use crate::spec::env_get;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn rlimit_resource(t: PosixRlimitType) -> libc::c_int {
    use PosixRlimitType::*;
    (match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }) as libc::c_int
}

pub fn set_rlimits(p: &Process) -> Result<()> {
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        hull_sys::set_rlimit(rlimit_resource(r.typ()), r.soft(), r.hard()).map_err(|e| {
            Error::config(format!("process.rlimits[{i}]"), format!("setrlimit: {e}"))
        })?;
    }
    Ok(())
}

/// Finds the program like execvp would, but with the container's PATH and root.
pub fn resolve_program(p: &Process) -> Result<PathBuf> {
    let args = p.args().as_deref().unwrap_or_default();
    let prog = &args[0];
    let env = p.env().as_deref().unwrap_or_default();
    let is_exec = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.contains('/') {
        let path = if Path::new(prog).is_absolute() {
            PathBuf::from(prog)
        } else {
            p.cwd().join(prog)
        };
        // runc's words: docker and podman turn "no such file or directory" into exit 127 and
        // "permission denied" into 126.
        return match std::fs::metadata(&path) {
            _ if is_exec(&path) => Ok(path),
            Ok(_) => Err(Error::config(
                "process.args[0]",
                format!("exec: {prog:?}: permission denied"),
            )),
            Err(_) => Err(Error::config(
                "process.args[0]",
                format!("exec: {prog:?}: stat {prog}: no such file or directory"),
            )),
        };
    }
    let path_var = env_get(env, "PATH").unwrap_or(DEFAULT_PATH);
    path_var
        .split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(prog))
        .find(|c| is_exec(c))
        .ok_or_else(|| {
            Error::config(
                "process.args[0]",
                format!("exec: {prog:?}: executable file not found in $PATH"),
            )
        })
}

/// `process.env`, with `HOME` added when it lacks one, as runc does: the home directory of
/// the process's uid in the container's /etc/passwd, else `/`. Read in the container's root
/// (after pivot_root, or after joining its mount namespace for exec).
pub fn env_with_home(p: &Process) -> Vec<String> {
    let mut env = p.env().clone().unwrap_or_default();
    if env_get(&env, "HOME").is_none_or(str::is_empty) {
        // An empty HOME counts as none, as runc's os.Getenv test has it.
        env.retain(|kv| kv != "HOME=");
        let home = passwd_home(p.user().uid()).unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    env
}

/// The home field of `uid`'s first entry in /etc/passwd. Opened non-blocking and read only
/// if it is a regular file, so an image with a fifo there cannot hang the runtime.
fn passwd_home(uid: u32) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/etc/passwd")
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    f.by_ref().take(4 << 20).read_to_string(&mut text).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].trim().parse::<u32>() == Ok(uid)).then(|| f[5].to_string())
    })
}

/// argv and envp as C strings, built before the last steps so nothing allocates after them.
pub fn c_strings(v: &[String], field: &str) -> Result<Vec<CString>> {
    v.iter()
        .enumerate()
        .map(|(i, s)| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::config(format!("{field}[{i}]"), "contains a NUL byte"))
        })
        .collect()
}

/// oci-spec's capability names (already checked by the parser) as the caps crate's values.
fn parse_caps(list: &Option<oci_spec::runtime::Capabilities>, field: &str) -> Result<CapsHashSet> {
    list.iter()
        .flatten()
        .map(|c| {
            let name = format!("CAP_{c}");
            capability_from_name(&name).ok_or_else(|| {
                Error::config(
                    format!("process.capabilities.{field}"),
                    format!("unknown capability {name:?}"),
                )
            })
        })
        .collect()
}

fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Capabilities named in the spec that this kernel does not know are skipped with a warning,
/// as runc does.
fn supported(set: CapsHashSet, field: &str) -> CapsHashSet {
    let last = last_cap();
    set.into_iter()
        .filter(|c| {
            let ok = c.index() <= last;
            if !ok {
                eprintln!("warning: {field}: {c} is not supported by this kernel, skipped");
            }
            ok
        })
        .collect()
}

/// CAP_SYS_ADMIN kept in the effective and permitted sets past [`set_identity`], for a
/// seccomp filter loaded without no_new_privs (the kernel then asks for CAP_SYS_ADMIN): the
/// filter goes in as the last step before exec, and [`HeldAdmin::release`] sets the final
/// capabilities after it with a single capset.
pub struct HeldAdmin {
    effective: u64,
    permitted: u64,
    inheritable: u64,
}

impl HeldAdmin {
    pub fn release(self) -> Result<()> {
        hull_sys::capset(self.effective, self.permitted, self.inheritable)
            .ctx(|| "capset: drop CAP_SYS_ADMIN held for the seccomp filter".into())
    }
}

fn bits(set: &CapsHashSet) -> u64 {
    set.iter().fold(0, |b, c| b | 1u64 << c.index())
}

/// Sets uid/gid/groups and the five capability sets in the order the kernel requires:
/// the bounding set is reduced while we are still root (needs CAP_SETPCAP); keep-caps keeps
/// the permitted set across the setuid; then effective/permitted/inheritable are set exactly
/// and the ambient ones raised (each must already be permitted and inheritable).
/// With `hold_admin`, CAP_SYS_ADMIN stays effective until the returned [`HeldAdmin`] is
/// released (nothing is held if the process keeps it anyway).
pub fn set_identity(p: &Process, in_userns: bool, hold_admin: bool) -> Result<Option<HeldAdmin>> {
    let user = p.user();
    let c = p.capabilities().clone().unwrap_or_else(empty_caps);
    let bounding = supported(
        parse_caps(c.bounding(), "bounding")?,
        "process.capabilities.bounding",
    );
    let effective = supported(
        parse_caps(c.effective(), "effective")?,
        "process.capabilities.effective",
    );
    let permitted = supported(
        parse_caps(c.permitted(), "permitted")?,
        "process.capabilities.permitted",
    );
    let inheritable = supported(
        parse_caps(c.inheritable(), "inheritable")?,
        "process.capabilities.inheritable",
    );
    let ambient = supported(
        parse_caps(c.ambient(), "ambient")?,
        "process.capabilities.ambient",
    );

    let last = last_cap();
    for cap in caps::all() {
        if cap.index() <= last && !bounding.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| Error::Other(format!("drop {cap} from the bounding set: {e}")))?;
        }
    }
    hull_sys::set_keep_caps(true).ctx(|| "prctl(PR_SET_KEEPCAPS)".into())?;
    let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    // In a user namespace whose setgroups is "deny", setgroups fails; only an explicit list
    // of additional groups makes that an error.
    match hull_sys::set_groups(&groups) {
        Ok(()) => {}
        Err(e) if in_userns && groups.is_empty() => {
            let _ = e;
        }
        Err(e) => {
            return Err(Error::config(
                "process.user.additionalGids",
                format!("setgroups: {e}"),
            ))
        }
    }
    hull_sys::set_ids(user.uid(), user.gid()).map_err(|e| {
        Error::config(
            "process.user",
            format!("set uid {} gid {}: {e}", user.uid(), user.gid()),
        )
    })?;
    hull_sys::set_keep_caps(false).ctx(|| "prctl(PR_SET_KEEPCAPS)".into())?;
    let err = |set: &str, e: caps::errors::CapsError| {
        Error::Other(format!("set {set} capabilities: {e}"))
    };
    let held = (hold_admin && !effective.contains(&Capability::CAP_SYS_ADMIN)).then(|| HeldAdmin {
        effective: bits(&effective),
        permitted: bits(&permitted),
        inheritable: bits(&inheritable),
    });
    let (mut effective, mut permitted) = (effective, permitted);
    if held.is_some() {
        effective.insert(Capability::CAP_SYS_ADMIN);
        permitted.insert(Capability::CAP_SYS_ADMIN);
    }
    // Effective first (it must stay within permitted at every step), then inheritable
    // (checked against the still-full permitted set), and permitted last.
    caps::set(None, CapSet::Effective, &effective).map_err(|e| err("effective", e))?;
    caps::set(None, CapSet::Inheritable, &inheritable).map_err(|e| err("inheritable", e))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(|e| err("permitted", e))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| err("ambient", e))?;
    // The kernel raises an ambient capability only if it is permitted and inheritable.
    // `runc spec` lists ambient capabilities that are not inheritable; runc and crun warn and
    // go on, and so do we.
    for cap in ambient {
        if let Err(e) = caps::raise(None, CapSet::Ambient, cap) {
            eprintln!("warning: process.capabilities.ambient: cannot raise {cap}: {e}");
        }
    }
    Ok(held)
}

fn empty_caps() -> LinuxCapabilities {
    let mut c = LinuxCapabilities::default();
    let none = Some(oci_spec::runtime::Capabilities::new());
    c.set_bounding(none.clone())
        .set_effective(none.clone())
        .set_permitted(none.clone())
        .set_inheritable(none.clone())
        .set_ambient(none);
    c
}

pub fn capability_from_name(name: &str) -> Option<Capability> {
    name.parse().ok()
}
