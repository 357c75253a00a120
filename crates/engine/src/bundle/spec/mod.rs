//! The OCI bundle's config.json, generated from a container's run config at every start as a
//! typed `oci_spec::runtime::Spec`. One step per concern, each a function over the spec,
//! applied in order by `generate`.
//!
//! oci-spec's `Default` for `Spec`, `Process`, `Linux`, `Root` and `LinuxCapabilities` (and so
//! their builders, which fill unset fields from it) is runc's example config: its namespaces,
//! masked paths, rlimits, mounts and capabilities would leak into hull's. Every field those
//! defaults fill is therefore set explicitly here (to `None` where hull has nothing); the
//! other types' defaults are empty.

mod mounts;
mod namespaces;
mod process;
mod resources;
mod security;

pub use process::resolve_user;
pub use security::{capabilities, DEFAULT_CAPS, MASKED, READONLY};

use std::path::PathBuf;

use oci_spec::runtime::{Linux, LinuxResources, Process, RootBuilder, Spec};
use rusqlite::Connection;

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
pub fn generate(ctx: &Ctx<'_>) -> Result<Spec> {
    let mut linux = Linux::default();
    linux.set_cgroups_path(Some(crate::container::cgroup::cgroups_path(ctx.c).into()));
    linux.set_namespaces(Some(Vec::new()));
    linux.set_resources(Some(LinuxResources::default()));
    linux.set_masked_paths(None);
    linux.set_readonly_paths(None);
    let root = RootBuilder::default()
        .path(ctx.rootfs.clone())
        .readonly(ctx.c.config.read_only)
        .build()
        .map_err(invalid)?;
    let mut spec = Spec::default();
    spec.set_version("1.0.2".into());
    spec.set_root(Some(root));
    spec.set_hostname(None);
    spec.set_domainname(None);
    spec.set_mounts(Some(Vec::new()));
    spec.set_process(None);
    spec.set_linux(Some(linux));
    spec.set_hooks(None);
    spec.set_annotations(Some(
        [("org.hull.container.name".to_string(), ctx.c.name.clone())].into(),
    ));
    namespaces::apply(ctx, &mut spec)?;
    process::apply(ctx, &mut spec)?;
    mounts::apply(ctx, &mut spec)?;
    resources::apply(ctx, &mut spec)?;
    security::apply(ctx, &mut spec)?;
    crate::container::tuning::apply(ctx, &mut spec)?;
    crate::container::clock::apply(ctx, &mut spec)?;
    Ok(spec)
}

/// The spec's process (`process::apply` makes it; the steps after it edit it).
pub(crate) fn process_mut(spec: &mut Spec) -> &mut Process {
    spec.process_mut().get_or_insert_with(Process::default)
}

/// The spec's linux section (`generate` makes one before the steps run).
pub(crate) fn linux_mut(spec: &mut Spec) -> &mut Linux {
    spec.linux_mut().get_or_insert_with(Linux::default)
}

/// linux.resources (`generate` makes it before the steps run).
pub(crate) fn resources_mut(spec: &mut Spec) -> &mut LinuxResources {
    linux_mut(spec)
        .resources_mut()
        .get_or_insert_with(LinuxResources::default)
}

/// A builder's error (a required field left unset) as a spec error.
pub(crate) fn invalid(e: oci_spec::OciSpecError) -> SpecError {
    SpecError::Invalid(format!("config.json: {e}"))
}

/// What `create` can check of a run config before anything is made: capabilities, the
/// seccomp profile, devices, sysctls (id maps and modes were parsed with the flags).
pub fn check(cfg: &crate::RunConfig) -> Result<()> {
    let caps = security::capabilities(cfg.privileged, &cfg.cap_add, &cfg.cap_drop)?;
    if let Some(p) = cfg.seccomp.as_deref().filter(|p| *p != "unconfined") {
        hull_seccomp::docker_to_oci(p.as_bytes(), &caps, hull_seccomp::native_arch())
            .map_err(|e| SpecError::Seccomp(e.to_string()))?;
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
        net: !cfg.network_mode.is_host(),
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
