//! Reading config.json: parse errors name the JSON path of the bad field, and the checks that
//! serde cannot express are done here, before anything is created on the host.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// A loaded and validated bundle.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    /// root.path made absolute.
    pub rootfs: PathBuf,
}

/// Reads `DIR/config.json`. A malformed field is reported with its JSON path, for example
/// `config.json: linux.namespaces[2].type: unknown variant "foo", expected one of ...`.
pub fn load(dir: &Path) -> Result<Bundle> {
    let dir = std::path::absolute(dir).map_err(|e| Error::sys("bundle", dir, e))?;
    let path = dir.join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| Error::sys("read", &path, e))?;
    let spec = parse(&bytes)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config("root", "missing"))?;
    let rootfs = dir.join(root.path());
    validate(&spec, &rootfs)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// A valid document is read by serde_json alone; only a bad one is read a second time through
/// serde_path_to_error, for the path of the field at fault. Tracking the path on every read
/// would double the deserialising code every create, start and exec runs (and the pages it
/// maps) for what only an error needs.
/// As before and as runc's decoder, whatever follows the document is not looked at.
pub fn parse(bytes: &[u8]) -> Result<Spec> {
    use serde::Deserialize;
    Spec::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
        .map_err(|e| parse_error(bytes, e))
}

/// The error of a document serde_json refused, naming the JSON path of the bad field.
#[cold]
#[inline(never)]
fn parse_error(bytes: &[u8], plain: serde_json::Error) -> Error {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let (field, reason) = match serde_path_to_error::deserialize::<_, Spec>(de) {
        Err(e) => (e.path().to_string(), e.inner().to_string()),
        // Both reads run the same Deserialize code, so this one fails too; if it did not,
        // the first error is still worth showing.
        Ok(_) => (".".to_string(), plain.to_string()),
    };
    let field = if field == "." {
        "(document)".to_string()
    } else {
        field
    };
    // serde_json appends " at line L column C"; the field path says more.
    let reason = match reason.rfind(" at line ") {
        Some(i) => reason[..i].to_string(),
        None => reason,
    };
    Error::config(field, reason.replace('`', "\""))
}

/// Checks what the types alone do not. Field names in messages use the JSON spelling.
pub fn validate(spec: &Spec, rootfs: &Path) -> Result<()> {
    // ociVersion is not checked, as runc does not: any value, even an empty one, is taken.
    if !rootfs.is_dir() {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;
    match process.args() {
        Some(a) if !a.is_empty() && !a[0].is_empty() => {}
        _ => return Err(Error::config("process.args", "must name a program")),
    }
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    for (i, kv) in process.env().iter().flatten().enumerate() {
        if !kv.contains('=') || kv.starts_with('=') {
            return Err(Error::config(
                format!("process.env[{i}]"),
                format!("{kv:?} is not KEY=VALUE"),
            ));
        }
    }
    let mut seen_rlimits = HashSet::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        if !seen_rlimits.insert(format!("{:?}", r.typ())) {
            return Err(Error::config(
                format!("process.rlimits[{i}].type"),
                format!("{:?} given twice", r.typ()),
            ));
        }
        if r.soft() > r.hard() {
            return Err(Error::config(
                format!("process.rlimits[{i}]"),
                "soft limit is above the hard limit",
            ));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(Error::config(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(Error::config(
                format!("mounts[{i}].destination"),
                format!("{:?} is not an absolute path", m.destination()),
            ));
        }
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::config("linux", "missing"))?;
    let mut seen = HashSet::new();
    let mut has_uts = false;
    let mut has_mnt = false;
    let mut has_user = false;
    let mut has_time = false;
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(Error::config(
                format!("linux.namespaces[{i}].type"),
                format!("namespace {:?} given twice", ns.typ().to_string()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() || !p.exists() {
                return Err(Error::config(
                    format!("linux.namespaces[{i}].path"),
                    format!("{p:?} does not exist"),
                ));
            }
        }
        match ns.typ() {
            // runc sets the hostname in a uts namespace joined by path too.
            LinuxNamespaceType::Uts => has_uts = true,
            LinuxNamespaceType::Mount => has_mnt = true,
            LinuxNamespaceType::User => has_user = true,
            LinuxNamespaceType::Time => has_time = ns.path().is_none(),
            _ => {}
        }
    }
    if !has_mnt {
        return Err(Error::config(
            "linux.namespaces",
            "a mount namespace is required to set up the root filesystem",
        ));
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has_uts {
        return Err(Error::config(
            "hostname",
            "setting the hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has_uts {
        return Err(Error::config(
            "domainname",
            "setting the domainname needs a uts namespace",
        ));
    }
    if let Some(offsets) = linux.time_offsets() {
        if !has_time && !offsets.is_empty() {
            return Err(Error::config(
                "linux.timeOffsets",
                "needs a new time namespace",
            ));
        }
        for clock in offsets.keys() {
            if clock != "monotonic" && clock != "boottime" {
                return Err(Error::config(
                    format!("linux.timeOffsets.{clock}"),
                    "only monotonic and boottime clocks can be offset",
                ));
            }
        }
    }
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if has_maps && !has_user {
        return Err(Error::config(
            "linux.uidMappings",
            "id mappings need a user namespace",
        ));
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() || !d.path().starts_with("/dev") {
            return Err(Error::config(
                format!("linux.devices[{i}].path"),
                format!("{:?} is not under /dev", d.path()),
            ));
        }
    }
    let private = crate::sysctl::private_of(linux);
    for (key, _) in linux.sysctl().iter().flatten() {
        if key.is_empty() || key.contains("..") || key.contains('/') && key.contains('.') {
            return Err(Error::config(
                format!("linux.sysctl.{key}"),
                "not a sysctl name",
            ));
        }
        crate::sysctl::check(key, private)
            .map_err(|why| Error::config(format!("linux.sysctl.{key}"), why))?;
    }
    crate::hooks::validate(spec)?;
    crate::init::security::validate(spec)?;
    Ok(())
}

/// `process.env` as a lookup (last wins), used to find PATH for the program.
pub fn env_get<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// The config.json that `hullrt spec` writes: runc's defaults (sh on a terminal, the usual
/// mounts, masked paths and namespaces), or with `rootless` a user namespace mapping the
/// caller's uid and gid to root and no network namespace.
pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_version(crate::state::OCI_VERSION.to_string());
    spec.set_hostname(Some("hull".to_string()));
    spec
}
