//! Namespaces: pid, ipc, uts, mount and network of the container's own, or the host's
//! (`host`: the namespace is left out), or another container's (`container:NAME`: joined by
//! path); a user namespace with --userns/--uidmap/--gidmap.

use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Spec,
};

use super::{invalid, linux_mut, Ctx, Result, SpecError};
use crate::container;
use crate::container::config::NsMode;

fn target_pid(ctx: &Ctx<'_>, flag: &str, name: &str) -> Result<i32> {
    let other = container::lookup(ctx.conn, name)?;
    if !other.status.is_live() || other.pid <= 0 || !container::process_alive(other.pid) {
        return Err(SpecError::NotRunning {
            flag: flag.into(),
            name: name.into(),
        });
    }
    Ok(other.pid)
}

/// A namespace entry: the container's own (no path) or one to join.
fn entry(spec: &mut Spec, typ: LinuxNamespaceType, path: Option<PathBuf>) -> Result<()> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    let ns = b.build().map_err(invalid)?;
    linux_mut(spec)
        .namespaces_mut()
        .get_or_insert_with(Vec::new)
        .push(ns);
    Ok(())
}

fn ns(
    ctx: &Ctx<'_>,
    spec: &mut Spec,
    typ: LinuxNamespaceType,
    file: &str,
    mode: &NsMode,
    flag: &str,
) -> Result<()> {
    if mode.is_host() {
        return Ok(());
    }
    // Pods (crates/engine/src/pod): "pod:<id>" joins the pod's namespace, or fails when
    // the pod's infra is gone.
    if let Some(pod) = mode.pod() {
        let path = crate::pod::hooks::ns_path(ctx.conn, ctx.paths, pod, file)
            .map_err(SpecError::Invalid)?;
        return entry(spec, typ, Some(path.into()));
    }
    let path = match mode.container() {
        Some(name) => {
            let pid = target_pid(ctx, flag, name)?;
            Some(format!("/proc/{pid}/ns/{file}").into())
        }
        None => None,
    };
    entry(spec, typ, path)
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<()> {
    use LinuxNamespaceType as T;
    let cfg = &ctx.c.config;
    ns(ctx, spec, T::Pid, "pid", &cfg.pid_mode, "--pid")?;
    ns(ctx, spec, T::Ipc, "ipc", &cfg.ipc_mode, "--ipc")?;
    ns(ctx, spec, T::Uts, "uts", &cfg.uts_mode, "--uts")?;
    entry(spec, T::Mount, None)?;
    // --cgroupns private (docker's default on v2): the container sees its cgroup as "/".
    if crate::container::cgroup::private_ns(ctx.c) {
        entry(spec, T::Cgroup, None)?;
    }
    // The network's namespace as a namespace mode: the host's, another's, or its own.
    let net = match NsMode::try_from(cfg.network_mode.clone()) {
        Ok(m @ (NsMode::Host | NsMode::Container(_) | NsMode::Pod(_))) => m,
        _ => NsMode::Default,
    };
    match crate::network::hooks::netns_path(ctx.paths, ctx.c) {
        // Bridge networks: the namespace hull pinned and wired before the spec.
        Some(p) => entry(spec, T::Network, Some(p))?,
        None => ns(ctx, spec, T::Network, "net", &net, "--network")?,
    }
    if cfg.userns == "host" {
        return Ok(());
    }
    // A remapped pod's user namespace, joined (its maps are the infra's).
    if cfg.userns.starts_with("pod:") {
        let path = crate::pod::hooks::ns_path(ctx.conn, ctx.paths, &cfg.userns, "user")
            .map_err(SpecError::Invalid)?;
        return entry(spec, T::User, Some(path.into()));
    }
    let maps = |list: &[String], flag: &str| -> Result<Vec<LinuxIdMapping>> {
        list.iter()
            .map(|m| {
                let (c, h, n) =
                    crate::parse::idmap(flag, m).map_err(|e| SpecError::Invalid(e.to_string()))?;
                LinuxIdMappingBuilder::default()
                    .container_id(c)
                    .host_id(h)
                    .size(n)
                    .build()
                    .map_err(invalid)
            })
            .collect()
    };
    let mut uids = maps(&cfg.uidmap, "--uidmap")?;
    let mut gids = maps(&cfg.gidmap, "--gidmap")?;
    if cfg.userns.starts_with("keep-id") || cfg.userns == "auto" {
        return Err(SpecError::Invalid(format!(
            "invalid --userns {:?}: hull supports host, private and --uidmap/--gidmap",
            cfg.userns
        )));
    }
    if uids.is_empty() && gids.is_empty() {
        return Ok(());
    }
    if gids.is_empty() {
        gids = uids.clone();
    }
    if uids.is_empty() {
        uids = gids.clone();
    }
    entry(spec, T::User, None)?;
    let linux = linux_mut(spec);
    linux.set_uid_mappings(Some(uids));
    linux.set_gid_mappings(Some(gids));
    Ok(())
}
