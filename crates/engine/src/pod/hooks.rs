//! The few places where the engine's container code asks about pods: a container joining a
//! pod (`--pod`), its namespaces resolved at each start ("pod:<id>" modes), its cgroup under
//! the pod's cgroup parent.

use rusqlite::Connection;

use super::infra;
use super::store::{self, Pod};
use crate::container::config::{NetworkMode, NsMode, RunConfig, UsernsMode};

use crate::Paths;

/// The pod id a run config belongs to, if any.
pub fn pod_id(cfg: &RunConfig) -> Option<&str> {
    cfg.pod.as_ref().map(|p| p.id.as_str())
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

/// Makes a run config join `pod`: its shared namespaces by "pod:<id>" modes, its hostname,
/// and the pod recorded in `RunConfig::pod`. Flags that would un-share a namespace conflict.
pub fn join(pod: &Pod, cfg: &mut RunConfig) -> Result<(), String> {
    let conflict = |flag: &str| {
        Err(format!(
            "--pod {}: {flag} conflicts with the pod's shared namespaces",
            pod.name
        ))
    };
    let mode = NsMode::Pod(pod.id.clone());
    if cfg.net.as_ref().is_some_and(|n| !n.publish.is_empty()) {
        return Err(format!(
            "--pod {}: ports are published by the pod (hull pod create -p)",
            pod.name
        ));
    }
    if pod.share.uts {
        if cfg.uts_mode != NsMode::Default {
            return conflict("--uts");
        }
        if !cfg.hostname.is_empty() && cfg.hostname != pod.hostname {
            return conflict("--hostname");
        }
        cfg.uts_mode = mode.clone();
        cfg.hostname = pod.hostname.clone();
    }
    if pod.share.ipc {
        if cfg.ipc_mode != NsMode::Default {
            return conflict("--ipc");
        }
        cfg.ipc_mode = mode.clone();
    }
    if pod.share.pid {
        if cfg.pid_mode != NsMode::Default {
            return conflict("--pid");
        }
        cfg.pid_mode = mode.clone();
    }
    if pod.plan.host_network || pod.share.net {
        if cfg.network_mode != NetworkMode::Default {
            return conflict("--network");
        }
        cfg.network_mode = if pod.plan.host_network {
            NetworkMode::Host
        } else {
            NetworkMode::Pod(pod.id.clone())
        };
    }
    if pod.plan.is_mapped() {
        join_userns(pod, cfg)?;
    }
    cfg.pod = Some(crate::container::modes::PodMember {
        id: pod.id.clone(),
        name: pod.name.clone(),
    });
    Ok(())
}

/// A remapped pod: the container joins the pod's user namespace ("pod:<id>" user mode) with
/// the pod's maps; its own --userns or maps must be the pod's.
fn join_userns(pod: &Pod, cfg: &mut RunConfig) -> Result<(), String> {
    if !matches!(cfg.userns, UsernsMode::Default | UsernsMode::Private) {
        return Err(format!(
            "--pod {}: --userns {:?} conflicts with the pod's user namespace",
            pod.name,
            cfg.userns.to_string()
        ));
    }
    let (uids, gids) = pod.plan.id_maps()?;
    let mine = crate::container::modes::both_maps(&cfg.uidmap, &cfg.gidmap);
    if mine.is_some_and(|m| m != (uids, gids)) {
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
    cfg.userns = UsernsMode::Pod(pod.id.clone());
    // A pid namespace of the container's own would be made by the runtime before it joins
    // the pod's user namespace, so owned by the host's: /proc could not be mounted in it.
    // The infra's is owned by the pod's user namespace, so it is shared.
    let pod_ns = NsMode::Pod(pod.id.clone());
    if cfg.pid_mode == NsMode::Default {
        cfg.pid_mode = pod_ns;
    } else if cfg.pid_mode != pod_ns {
        return Err(format!(
            "--pod {}: --pid conflicts with the pod's user namespace (its containers share the \
             infra's pid namespace)",
            pod.name
        ));
    }
    cfg.uidmap = super::plan::id_maps("--uidmap", &pod.plan.uidmap)?;
    cfg.gidmap = super::plan::id_maps("--gidmap", &pod.plan.gidmap)?;
    Ok(())
}
