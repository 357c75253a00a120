//! The few places where the engine's container code asks about pods: a container joining a
//! pod (`--pod`), its namespaces resolved at each start ("pod:<id>" modes), its cgroup under
//! the pod's cgroup parent, and its `containers.pod_id` after insert.

use rusqlite::Connection;
use serde_json::json;

use super::infra;
use super::store::{self, Pod};
use crate::container::config::RunConfig;
use crate::container::Container;
use crate::Paths;

/// The pod id a run config belongs to, if any.
pub fn pod_id(cfg: &RunConfig) -> Option<&str> {
    cfg.extra.get("pod").and_then(|v| v["id"].as_str())
}

/// The OCI linux.cgroupsPath of a container (crate::container::cgroup, the one home of that fact): the
/// spec, the exit hook's OOM check, stats and top read it here.
pub fn cgroups_path(c: &Container) -> String {
    crate::container::cgroup::cgroups_path(c)
}

/// Resolves a "pod:<id>" namespace mode to the path the runtime joins; an error when the
/// pod's infra is gone (the container is never started half-shared).
pub fn ns_path(conn: &Connection, paths: &Paths, mode: &str, file: &str) -> Result<String, String> {
    let id = mode.strip_prefix("pod:").unwrap_or(mode);
    let name = store::lookup(conn, id)
        .map(|p| p.name)
        .map_err(|e| e.to_string())?;
    let Some(pid) = infra::pid(paths, id) else {
        let live = store::container_ids(conn, id)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| crate::container::lookup(conn, c).ok())
            .any(|c| c.status.is_live() && crate::container::process_alive(c.pid));
        if live {
            return Err(degraded(&name));
        }
        return Err(format!("pod {name} is not running (hull pod start {name})"));
    };
    if file == "net" {
        let ns = crate::network::endpoint::netns_path(paths, id);
        if ns.exists() {
            return Ok(ns.display().to_string());
        }
    }
    Ok(format!("/proc/{pid}/ns/{file}"))
}

pub fn degraded(name: &str) -> String {
    format!(
        "pod {name} is degraded: its infra process is gone, so its namespaces cannot be \
         joined (hull pod restart {name})"
    )
}

/// Records `containers.pod_id` for a container created into a pod.
pub fn after_insert(conn: &Connection, c: &Container) -> Result<(), store::PodError> {
    if let Some(pod) = pod_id(&c.config) {
        store::init(conn)?;
        store::set_container_pod(conn, &c.id, pod)?;
    }
    Ok(())
}

/// Makes a run config join `pod`: its shared namespaces by "pod:<id>" modes, its hostname,
/// and the pod recorded under extra["pod"]. Flags that would un-share a namespace conflict.
pub fn join(pod: &Pod, cfg: &mut RunConfig) -> Result<(), String> {
    let conflict = |flag: &str| {
        Err(format!(
            "--pod {}: {flag} conflicts with the pod's shared namespaces",
            pod.name
        ))
    };
    let mode = format!("pod:{}", pod.id);
    let net = cfg.extra.get(crate::network::hooks::EXTRA_KEY);
    if net.is_some_and(|n| n["publish"].as_array().is_some_and(|a| !a.is_empty())) {
        return Err(format!(
            "--pod {}: ports are published by the pod (hull pod create -p)",
            pod.name
        ));
    }
    if pod.share.uts {
        if !cfg.uts_mode.is_empty() {
            return conflict("--uts");
        }
        if !cfg.hostname.is_empty() && cfg.hostname != pod.hostname {
            return conflict("--hostname");
        }
        cfg.uts_mode = mode.clone();
        cfg.hostname = pod.hostname.clone();
    }
    if pod.share.ipc {
        if !cfg.ipc_mode.is_empty() {
            return conflict("--ipc");
        }
        cfg.ipc_mode = mode.clone();
    }
    if pod.share.pid {
        if !cfg.pid_mode.is_empty() {
            return conflict("--pid");
        }
        cfg.pid_mode = mode.clone();
    }
    if pod.plan.host_network || pod.share.net {
        if !cfg.network_mode.is_empty() {
            return conflict("--network");
        }
        cfg.network_mode = if pod.plan.host_network {
            "host".into()
        } else {
            mode
        };
    }
    if pod.plan.is_mapped() {
        join_userns(pod, cfg)?;
    }
    cfg.extra
        .insert("pod".into(), json!({ "id": pod.id, "name": pod.name }));
    Ok(())
}

/// A remapped pod: the container joins the pod's user namespace ("pod:<id>" user mode) with
/// the pod's maps; its own --userns or maps must be the pod's.
fn join_userns(pod: &Pod, cfg: &mut RunConfig) -> Result<(), String> {
    if !cfg.userns.is_empty() && cfg.userns != "private" {
        return Err(format!(
            "--pod {}: --userns {:?} conflicts with the pod's user namespace",
            pod.name, cfg.userns
        ));
    }
    let (uids, gids) = pod.plan.id_maps()?;
    let mine = super::plan::PodPlan {
        uidmap: cfg.uidmap.clone(),
        gidmap: cfg.gidmap.clone(),
        ..Default::default()
    };
    if mine.is_mapped() && mine.id_maps()? != (uids, gids) {
        let flag = if cfg.uidmap.is_empty() {
            "--gidmap"
        } else {
            "--uidmap"
        };
        return Err(format!(
            "--pod {}: {flag} differs from the pod's maps (uid {}, gid {})",
            pod.name,
            pod.plan.uidmap.join(","),
            if pod.plan.gidmap.is_empty() {
                &pod.plan.uidmap
            } else {
                &pod.plan.gidmap
            }
            .join(",")
        ));
    }
    cfg.userns = format!("pod:{}", pod.id);
    // A pid namespace of the container's own would be made by the runtime before it joins
    // the pod's user namespace, so owned by the host's: /proc could not be mounted in it.
    // The infra's is owned by the pod's user namespace, so it is shared.
    if cfg.pid_mode.is_empty() {
        cfg.pid_mode = cfg.userns.clone();
    } else if cfg.pid_mode != cfg.userns {
        return Err(format!(
            "--pod {}: --pid conflicts with the pod's user namespace (its containers share the \
             infra's pid namespace)",
            pod.name
        ));
    }
    cfg.uidmap = pod.plan.uidmap.clone();
    cfg.gidmap = pod.plan.gidmap.clone();
    Ok(())
}
