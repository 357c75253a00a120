//! Which sysctls a container may set: only those that live in a namespace the container has
//! of its own, the rule runc applies (libcontainer/configs/validate). Anything else would be
//! written to the host's kernel: `kernel.core_pattern='|/tmp/x'` runs a program of the
//! container's choosing as root on the host at the next crash.

use oci_spec::runtime::{Linux, LinuxNamespaceType};

/// The ipc sysctls (System V IPC limits); `fs.mqueue.*` belongs to the ipc namespace too.
const IPC: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Which namespaces the container does not share with the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct Private {
    pub ipc: bool,
    pub net: bool,
    pub uts: bool,
}

/// Whether `key` (dotted, or with slashes as under /proc/sys) may be set in a container
/// with these namespaces; the reason, naming the sysctl, when it may not.
pub fn check(key: &str, private: Private) -> Result<(), String> {
    let key = key.replace('/', ".");
    if IPC.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
        return if private.ipc {
            Ok(())
        } else {
            Err(format!(
                "sysctl {key:?} is not allowed in the host's ipc namespace"
            ))
        };
    }
    if key.starts_with("net.") {
        return if private.net {
            Ok(())
        } else {
            Err(format!(
                "sysctl {key:?} is not allowed in the host's network namespace"
            ))
        };
    }
    match key.as_str() {
        "kernel.domainname" if private.uts => Ok(()),
        "kernel.hostname" if private.uts => Err(format!(
            "sysctl {key:?} is not allowed: it conflicts with the \"hostname\" field"
        )),
        _ => Err(format!(
            "sysctl {key:?} is not in a separate kernel namespace"
        )),
    }
}

/// The namespaces of `linux.namespaces` that are not the runtime's own: a new one, or one
/// joined by path (a network namespace joined by path counts only when it is not ours).
pub fn private_of(linux: &Linux) -> Private {
    let mut p = Private::default();
    for ns in linux.namespaces().iter().flatten() {
        match ns.typ() {
            LinuxNamespaceType::Ipc => p.ipc = true,
            LinuxNamespaceType::Uts => p.uts = true,
            LinuxNamespaceType::Network => {
                p.net = match ns.path() {
                    None => true,
                    Some(path) => !same_file(path, std::path::Path::new("/proc/self/ns/net")),
                }
            }
            _ => {}
        }
    }
    p
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_namespaced_sysctls_pass() {
        let all = Private {
            ipc: true,
            net: true,
            uts: true,
        };
        let none = Private::default();
        for k in [
            "kernel.shmmax",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
            "kernel.domainname",
        ] {
            assert!(check(k, all).is_ok(), "{k}");
            assert!(check(k, none).unwrap_err().contains(k), "{k}");
        }
        for k in [
            "kernel.core_pattern",
            "vm.overcommit_memory",
            "kernel.hostname",
            "fs.file-max",
        ] {
            assert!(check(k, all).unwrap_err().contains(k), "{k}");
        }
        assert!(check("net/ipv4/ip_forward", all).is_ok());
        assert!(check("kernel/core_pattern", all).is_err());
    }
}
