//! The OCI bundle's config.json, generated from a container's run config at every start. One
//! step per concern, each a function over the JSON document, applied in order; later steps
//! (network, clock) are added to `STEPS`-style calls in `generate`.

mod mounts;
mod namespaces;
mod process;
mod resources;
mod security;

pub use process::resolve_user;
pub use security::{capabilities, DEFAULT_CAPS, MASKED, READONLY};

use std::path::PathBuf;

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::{Container, Paths};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    Invalid(String),
    #[error("{flag}: container {name:?} is not running")]
    NotRunning { flag: String, name: String },
    #[error(transparent)]
    Container(#[from] crate::ContainerError),
    #[error("seccomp profile: {0}")]
    Seccomp(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, SpecError>;

/// What the steps read.
pub struct Ctx<'a> {
    pub paths: &'a Paths,
    pub conn: &'a Connection,
    pub c: &'a Container,
    /// The merged overlay mount (users and groups are resolved in it).
    pub rootfs: PathBuf,
    /// hull's init binary on the host, bind-mounted at /dev/init with --init.
    pub init: Option<PathBuf>,
}

/// The whole config.json for a container.
pub fn generate(ctx: &Ctx<'_>) -> Result<Value> {
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "root": { "path": ctx.rootfs, "readonly": ctx.c.config.read_only },
        "hostname": "",
        "mounts": [],
        "process": {},
        "linux": {
            "cgroupsPath": crate::container::cgroup::cgroups_path(ctx.c),
            "namespaces": [],
            "resources": {},
        },
        "annotations": { "org.hull.container.name": ctx.c.name },
    });
    namespaces::apply(ctx, &mut spec)?;
    process::apply(ctx, &mut spec)?;
    mounts::apply(ctx, &mut spec)?;
    resources::apply(ctx, &mut spec)?;
    security::apply(ctx, &mut spec)?;
    crate::container::tuning::apply(ctx, &mut spec)?;
    crate::container::clock::apply(ctx, &mut spec)?;
    Ok(spec)
}

/// Appends to a JSON array field, creating it.
pub(crate) fn push(v: &mut Value, key: &str, item: Value) {
    if !v[key].is_array() {
        v[key] = json!([]);
    }
    v[key].as_array_mut().expect("array").push(item);
}

/// What `create` can check of a run config before anything is made: capabilities, the
/// seccomp profile, id maps, devices.
pub fn check(cfg: &crate::RunConfig) -> Result<()> {
    let caps = security::capabilities(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)?;
    if let Some(p) = cfg.seccomp.as_deref().filter(|p| *p != "unconfined") {
        hull_seccomp::docker_to_oci(p.as_bytes(), &caps, hull_seccomp::native_arch())
            .map_err(|e| SpecError::Seccomp(e.to_string()))?;
    }
    for (flag, maps) in [("--uidmap", &cfg.uidmap), ("--gidmap", &cfg.gidmap)] {
        for m in maps {
            crate::container::config::idmap(flag, m).map_err(SpecError::Invalid)?;
        }
    }
    for d in &cfg.devices {
        if security::device_numbers(&d.host).is_none() {
            return Err(SpecError::Invalid(format!(
                "invalid --device {:?}: no such device node",
                d.host
            )));
        }
    }
    // runc's rule, also applied by hullrt: only sysctls of a namespace the container has of
    // its own (--network none and container:NAME are private too).
    let private = hull_runtime::sysctl::Private {
        ipc: !cfg.ipc_mode.is_host(),
        net: cfg.network_mode != "host",
        uts: !cfg.uts_mode.is_host(),
    };
    for (k, v) in &cfg.sysctls {
        hull_runtime::sysctl::check(k, private)
            .map_err(|why| SpecError::Invalid(format!("invalid --sysctl \"{k}={v}\": {why}")))?;
    }
    if cfg.memory_swap != 0 && cfg.memory_swap != -1 && cfg.memory_swap < cfg.memory {
        return Err(SpecError::Invalid(format!(
            "invalid --memory-swap {}: must be at least --memory ({})",
            cfg.memory_swap, cfg.memory
        )));
    }
    Ok(())
}

#[cfg(test)]
mod golden;
