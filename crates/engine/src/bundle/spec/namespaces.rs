//! Namespaces: pid, ipc, uts, mount and network of the container's own, or the host's
//! (`host`: the namespace is left out), or another container's (`container:NAME`: joined by
//! path); a user namespace with --userns/--uidmap/--gidmap.

use serde_json::{json, Value};

use super::{push, Ctx, Result, SpecError};
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

fn ns(
    ctx: &Ctx<'_>,
    spec: &mut Value,
    kind: &str,
    file: &str,
    mode: &NsMode,
    flag: &str,
) -> Result<()> {
    let linux = &mut spec["linux"];
    if mode.is_host() {
        return Ok(());
    }
    // Pods (crates/engine/src/pod): "pod:<id>" joins the pod's namespace, or fails when
    // the pod's infra is gone.
    if let Some(pod) = mode.pod() {
        let path = crate::pod::hooks::ns_path(ctx.conn, ctx.paths, pod, file)
            .map_err(SpecError::Invalid)?;
        push(linux, "namespaces", json!({"type": kind, "path": path}));
        return Ok(());
    }
    if let Some(name) = mode.container() {
        let pid = target_pid(ctx, flag, name)?;
        push(
            linux,
            "namespaces",
            json!({"type": kind, "path": format!("/proc/{pid}/ns/{file}")}),
        );
    } else {
        push(linux, "namespaces", json!({ "type": kind }));
    }
    Ok(())
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Value) -> Result<()> {
    let cfg = &ctx.c.config;
    ns(ctx, spec, "pid", "pid", &cfg.pid_mode, "--pid")?;
    ns(ctx, spec, "ipc", "ipc", &cfg.ipc_mode, "--ipc")?;
    ns(ctx, spec, "uts", "uts", &cfg.uts_mode, "--uts")?;
    push(&mut spec["linux"], "namespaces", json!({ "type": "mount" }));
    // --cgroupns private (docker's default on v2): the container sees its cgroup as "/".
    if crate::container::cgroup::private_ns(ctx.c) {
        push(
            &mut spec["linux"],
            "namespaces",
            json!({ "type": "cgroup" }),
        );
    }
    // The network's namespace as a namespace mode: the host's, another's, or its own.
    let net = match NsMode::try_from(cfg.network_mode.clone()) {
        Ok(m @ (NsMode::Host | NsMode::Container(_) | NsMode::Pod(_))) => m,
        _ => NsMode::Default,
    };
    match crate::network::hooks::netns_path(ctx.paths, ctx.c) {
        // Bridge networks: the namespace hull pinned and wired before the spec.
        Some(p) => push(
            &mut spec["linux"],
            "namespaces",
            json!({"type": "network", "path": p}),
        ),
        None => ns(ctx, spec, "network", "net", &net, "--network")?,
    }
    if cfg.userns == "host" {
        return Ok(());
    }
    // A remapped pod's user namespace, joined (its maps are the infra's).
    if cfg.userns.starts_with("pod:") {
        let path = crate::pod::hooks::ns_path(ctx.conn, ctx.paths, &cfg.userns, "user")
            .map_err(SpecError::Invalid)?;
        push(
            &mut spec["linux"],
            "namespaces",
            json!({"type": "user", "path": path}),
        );
        return Ok(());
    }
    let maps = |list: &[String], flag: &str| -> Result<Vec<Value>> {
        list.iter()
            .map(|m| {
                let (c, h, n) =
                    crate::container::config::idmap(flag, m).map_err(SpecError::Invalid)?;
                Ok(json!({"containerID": c, "hostID": h, "size": n}))
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
    push(&mut spec["linux"], "namespaces", json!({ "type": "user" }));
    spec["linux"]["uidMappings"] = Value::Array(uids);
    spec["linux"]["gidMappings"] = Value::Array(gids);
    Ok(())
}
