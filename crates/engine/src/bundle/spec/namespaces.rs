//! Namespaces: pid, ipc, uts, mount and network of the container's own, or the host's
//! (`host`: the namespace is left out), or another container's (`container:NAME`: joined by
//! path); a user namespace with --userns/--uidmap/--gidmap.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, Spec};

use super::{invalid, linux_mut, Ctx, Result, SpecError};
use crate::container;
use crate::container::config::{IdMap, NsMode};

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
    let net = cfg.network_mode.ns_mode();
    match crate::network::hooks::netns_path(ctx.paths, ctx.c) {
        // Bridge networks: the namespace hull pinned and wired before the spec.
        Some(p) => entry(spec, T::Network, Some(p))?,
        None => ns(ctx, spec, T::Network, "net", &net, "--network")?,
    }
    // A remapped pod's user namespace, joined (its maps are the infra's).
    if let Some(pod) = cfg.userns.pod() {
        let path = crate::pod::hooks::ns_path(ctx.conn, ctx.paths, pod, "user")
            .map_err(SpecError::Invalid)?;
        return entry(spec, T::User, Some(path.into()));
    }
    let Some((uids, gids)) = cfg.id_maps() else {
        return Ok(());
    };
    let maps = |list: Vec<IdMap>| {
        IdMap::to_oci(&list).map_err(|e| SpecError::Invalid(format!("config.json: {e}")))
    };
    entry(spec, T::User, None)?;
    let linux = linux_mut(spec);
    linux.set_uid_mappings(Some(maps(uids)?));
    linux.set_gid_mappings(Some(maps(gids)?));
    Ok(())
}
