//! The pod verbs over the engine: create (row, cgroup parent, volumes, network, infra), status,
//! start, stop, kill, pause, unpause, and rm, which takes everything away and goes on past
//! each failure.

use std::time::Duration;

use serde_json::{json, Value};

use super::infra::{self, InfraError};
use super::plan::PodPlan;
use super::store::{self, Pod, PodError};
use crate::container::{self, Container, Status};
use crate::engine::Engine;
use crate::{container::names, container::stop, ocirt::driver};

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Store(#[from] PodError),
    #[error(transparent)]
    Infra(#[from] InfraError),
    #[error(transparent)]
    Container(#[from] container::ContainerError),
    #[error("{0}")]
    Invalid(String),
    #[error("pod {pod}: container {name}: {msg}")]
    Member {
        pod: String,
        name: String,
        msg: String,
    },
}

/// A pod's containers (the infra is not one), oldest first, statuses checked.
pub fn members(eng: &Engine, p: &Pod) -> Result<Vec<Container>, OpError> {
    store::init(&eng.conn)?;
    let mut out = Vec::new();
    for id in store::container_ids(&eng.conn, &p.id)? {
        if let Ok(c) = eng.lookup(&id) {
            out.push(c);
        }
    }
    Ok(out)
}

/// podman's pod states: Created, Running, Paused, Degraded, Exited. A pod whose infra is gone
/// while a container still runs is Degraded (its namespaces can no longer be joined).
pub fn status(eng: &Engine, p: &Pod, cs: &[Container]) -> &'static str {
    let infra = infra::pid(&eng.paths, &p.id).is_some();
    let live = cs.iter().filter(|c| c.status.is_live()).count();
    let paused = cs.iter().filter(|c| c.status == Status::Paused).count();
    let ever = cs.iter().any(|c| c.started_at.is_some());
    match (infra, live) {
        (false, 0) if ever => "Exited",
        (false, 0) if cs.is_empty() && p.infra_id.is_empty() => "Created",
        (false, 0) => "Exited",
        (false, _) => "Degraded",
        (true, _) if paused > 0 && paused == cs.len() => "Paused",
        (true, n) if n == cs.len() => "Running",
        (true, 0) if !ever => "Created",
        (true, _) => "Degraded",
    }
}

pub fn lookup(eng: &Engine, key: &str) -> Result<Pod, OpError> {
    store::init(&eng.conn)?;
    Ok(store::lookup(&eng.conn, key)?)
}

/// Creates the pod and starts its infra; on any failure nothing is left.
pub fn create(eng: &mut Engine, mut plan: PodPlan, kube_source: &str) -> Result<Pod, OpError> {
    store::init(&eng.conn)?;
    if plan.name.is_empty() {
        plan.name = names::random_name();
    } else if !names::valid_name(&plan.name) {
        return Err(OpError::Invalid(format!(
            "invalid pod name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            plan.name
        )));
    }
    if plan.hostname.is_empty() {
        plan.hostname = plan.name.clone();
    }
    plan.id_maps().map_err(OpError::Invalid)?;
    if plan.host_network && !plan.ports.is_empty() {
        return Err(OpError::Invalid(
            "ports cannot be published with the host's network".into(),
        ));
    }
    let id = names::new_id();
    let p = Pod {
        id: id.clone(),
        name: plan.name.clone(),
        hostname: plan.hostname.clone(),
        share: plan.share,
        infra_id: id.clone(),
        cgroup_parent: infra::cgroup_parent(eng, &id),
        labels: plan.labels.clone(),
        created: crate::time::nanotime::now_nanos(),
        plan,
        kube_source: kube_source.into(),
    };
    store::insert(&eng.conn, &p)?;
    let made = (|| -> Result<(), OpError> {
        infra::make_cgroup(&p)?;
        infra::make_volumes(eng, &p)?;
        infra::make_network(eng, &p)?;
        infra::start(eng, &p)?;
        Ok(())
    })();
    if let Err(e) = made {
        teardown(eng, &p);
        return Err(e);
    }
    Ok(p)
}

/// Starts the infra if it is not running. A pod whose infra died while containers still run is
/// degraded: they hold namespaces a new infra would not share, so it is refused.
pub fn ensure_infra(eng: &Engine, p: &Pod) -> Result<(), OpError> {
    if infra::pid(&eng.paths, &p.id).is_some() {
        return Ok(());
    }
    if members(eng, p)?.iter().any(|c| c.status.is_live()) {
        return Err(OpError::Invalid(super::hooks::degraded(&p.name)));
    }
    infra::restore(eng, p)?;
    infra::start(eng, p)?;
    Ok(())
}

/// Starts the infra, then every container that is not running (init containers, which ran
/// to completion, are left).
pub fn start(eng: &Engine, p: &Pod) -> Result<(), OpError> {
    ensure_infra(eng, p)?;
    for c in members(eng, p)? {
        if c.status.is_live() || c.labels.contains_key(super::INIT_LABEL) {
            continue;
        }
        crate::container::start::start(eng, &c, crate::container::start::Attach::default())
            .map_err(|e| OpError::Member {
                pod: p.name.clone(),
                name: c.name.clone(),
                msg: e.to_string(),
            })?;
    }
    Ok(())
}

/// Stops every container, then the infra.
pub fn stop(eng: &Engine, p: &Pod, timeout: Option<u32>) -> Result<(), OpError> {
    for c in members(eng, p)? {
        let _ = stop::stop(eng, &c, timeout);
    }
    infra::stop(eng, p);
    Ok(())
}

/// Sends `sig` to every running container.
pub fn kill(eng: &Engine, p: &Pod, sig: i32) -> Result<usize, OpError> {
    let mut n = 0;
    for c in members(eng, p)? {
        if c.status.is_live() && stop::kill(eng, &c, sig).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// Freezes (or thaws) every container of the pod.
pub fn pause(eng: &Engine, p: &Pod, on: bool) -> Result<(), OpError> {
    for c in members(eng, p)? {
        let (from, to, verb) = if on {
            (Status::Running, Status::Paused, "pause")
        } else {
            (Status::Paused, Status::Running, "resume")
        };
        if c.status != from {
            continue;
        }
        driver::run(eng, verb, &[&c.id]).map_err(|e| OpError::Member {
            pod: p.name.clone(),
            name: c.name.clone(),
            msg: e.to_string(),
        })?;
        container::set_status(&eng.conn, &c.id, to)?;
    }
    Ok(())
}

/// Removes the pod: its containers (running ones only with `force`), the infra, network,
/// cgroup parent, volumes and row.
pub fn remove(eng: &mut Engine, p: &Pod, force: bool) -> Result<(), OpError> {
    let cs = members(eng, p)?;
    if !force && cs.iter().any(|c| c.status.is_live()) {
        return Err(OpError::Invalid(format!(
            "pod {} has running containers: stop the pod first or use -f",
            p.name
        )));
    }
    for c in &cs {
        if c.status.is_live() {
            let _ = stop::stop(eng, c, Some(0));
        }
        let _ = crate::container::remove::remove(eng, c, true, false);
    }
    teardown(eng, p);
    Ok(())
}

/// Everything of the pod but its containers; every step runs whatever failed before.
fn teardown(eng: &mut Engine, p: &Pod) {
    infra::stop(eng, p);
    let _ = infra::remove_network(eng, p);
    let _ = infra::remove_cgroup(p);
    infra::remove_volumes(eng, p);
    let _ = std::fs::remove_dir_all(infra::dir(&eng.paths, &p.id));
    let _ = store::delete(&eng.conn, &p.id);
}

/// `pod inspect`.
pub fn inspect(eng: &Engine, p: &Pod) -> Result<Value, OpError> {
    let cs = members(eng, p)?;
    let state = status(eng, p, &cs);
    let infra_pid = infra::pid(&eng.paths, &p.id).unwrap_or(0);
    Ok(json!({
        "Id": p.id,
        "Name": p.name,
        "Created": p.created,
        "State": state,
        "Hostname": p.hostname,
        "Labels": p.labels,
        "SharedNamespaces": p.share.names().split(',').filter(|s| *s != "none").collect::<Vec<_>>(),
        "InfraContainerID": p.infra_id,
        "InfraPid": infra_pid,
        "CgroupParent": p.cgroup_parent,
        "NetworkNamespace": if p.share.net && !p.plan.host_network {
            infra::netns(eng, &p.id).display().to_string()
        } else {
            String::new()
        },
        "HostNetwork": p.plan.host_network,
        "Network": if p.plan.network.is_empty() { crate::network::DEFAULT } else { &p.plan.network },
        "Ports": p.plan.ports,
        "Memory": p.plan.memory,
        "NanoCpus": p.plan.nano_cpus,
        "Volumes": p.plan.volumes,
        "KubeSource": p.kube_source,
        "NumContainers": cs.len(),
        "Containers": cs.iter().map(|c| json!({
            "Id": c.id, "Name": c.name, "State": c.status.as_str(),
        })).collect::<Vec<_>>(),
    }))
}

/// Waits for a container to exit; its exit code, or None after `timeout`.
pub fn wait_exit(eng: &Engine, c: &Container, timeout: Duration) -> Option<i32> {
    stop::wait_exit(eng, c, Some(timeout))
}
