//! `hull kube generate`: a Kubernetes `Pod` manifest from a pod's plan (rebuilt from the
//! state), readable by `hull kube play` and by kubectl.

use serde_json::{json, Map, Value};

use super::quantity::{format_bytes, format_cpus};
use crate::pod::plan::{ContainerPlan, PodPlan, PortPlan, VolumeSource};

fn limits(memory: i64, nano_cpus: i64) -> Option<Value> {
    let mut l = Map::new();
    if nano_cpus > 0 {
        l.insert("cpu".into(), json!(format_cpus(nano_cpus)));
    }
    if memory > 0 {
        l.insert("memory".into(), json!(format_bytes(memory)));
    }
    (!l.is_empty()).then(|| json!({ "limits": l }))
}

fn port(p: &PortPlan) -> Value {
    let mut m = Map::new();
    m.insert("containerPort".into(), json!(p.container_port));
    if p.host_port != 0 {
        m.insert("hostPort".into(), json!(p.host_port));
    }
    if !p.host_ip.is_empty() {
        m.insert("hostIP".into(), json!(p.host_ip));
    }
    m.insert("protocol".into(), json!(p.protocol.to_ascii_uppercase()));
    Value::Object(m)
}

fn cap(c: &str) -> String {
    c.strip_prefix("CAP_").unwrap_or(c).to_string()
}

fn container(c: &ContainerPlan, extra_ports: &[PortPlan]) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("image".into(), json!(c.image));
    if let Some(e) = &c.entrypoint {
        m.insert("command".into(), json!(e));
    }
    match &c.cmd {
        Some(a) if !a.is_empty() || c.entrypoint.is_none() => {
            m.insert("args".into(), json!(a));
        }
        _ => {}
    }
    if !c.env.is_empty() {
        let env: Vec<Value> = c
            .env
            .iter()
            .map(|e| {
                let (k, v) = e.split_once('=').unwrap_or((e, ""));
                json!({ "name": k, "value": v })
            })
            .collect();
        m.insert("env".into(), json!(env));
    }
    if !c.working_dir.is_empty() {
        m.insert("workingDir".into(), json!(c.working_dir));
    }
    let ports: Vec<Value> = c.ports.iter().chain(extra_ports).map(port).collect();
    if !ports.is_empty() {
        m.insert("ports".into(), json!(ports));
    }
    if let Some(l) = limits(c.memory, c.nano_cpus) {
        m.insert("resources".into(), l);
    }
    let mut sc = Map::new();
    if !c.user.is_empty() {
        let (u, g) = c.user.split_once(':').unwrap_or((&c.user, ""));
        if let Ok(u) = u.parse::<u32>() {
            sc.insert("runAsUser".into(), json!(u));
        }
        if let Ok(g) = g.parse::<u32>() {
            sc.insert("runAsGroup".into(), json!(g));
        }
    }
    if !c.cap_add.is_empty() || !c.cap_drop.is_empty() {
        let mut caps = Map::new();
        if !c.cap_add.is_empty() {
            caps.insert(
                "add".into(),
                json!(c.cap_add.iter().map(|c| cap(c)).collect::<Vec<_>>()),
            );
        }
        if !c.cap_drop.is_empty() {
            caps.insert(
                "drop".into(),
                json!(c.cap_drop.iter().map(|c| cap(c)).collect::<Vec<_>>()),
            );
        }
        sc.insert("capabilities".into(), Value::Object(caps));
    }
    if c.privileged {
        sc.insert("privileged".into(), json!(true));
    }
    if c.read_only {
        sc.insert("readOnlyRootFilesystem".into(), json!(true));
    }
    if c.no_new_privileges {
        sc.insert("allowPrivilegeEscalation".into(), json!(false));
    }
    if !sc.is_empty() {
        m.insert("securityContext".into(), Value::Object(sc));
    }
    if !c.mounts.is_empty() {
        let mounts: Vec<Value> = c
            .mounts
            .iter()
            .map(|v| {
                let mut mm = Map::new();
                mm.insert("name".into(), json!(v.volume));
                mm.insert("mountPath".into(), json!(v.target));
                if v.read_only {
                    mm.insert("readOnly".into(), json!(true));
                }
                Value::Object(mm)
            })
            .collect();
        m.insert("volumeMounts".into(), json!(mounts));
    }
    Value::Object(m)
}

/// The manifest as YAML text.
pub fn pod_manifest(plan: &PodPlan) -> String {
    // Pod-level ports no container declares (`hull pod create -p`) go on the first container,
    // where Kubernetes expects them.
    let orphans: Vec<PortPlan> = plan
        .ports
        .iter()
        .filter(|p| {
            !plan
                .containers
                .iter()
                .chain(&plan.init_containers)
                .any(|c| c.ports.contains(p))
        })
        .cloned()
        .collect();
    let mut spec = Map::new();
    let containers: Vec<Value> = plan
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| container(c, if i == 0 { &orphans } else { &[] }))
        .collect();
    spec.insert("containers".into(), json!(containers));
    if !plan.init_containers.is_empty() {
        let init: Vec<Value> = plan
            .init_containers
            .iter()
            .map(|c| container(c, &[]))
            .collect();
        spec.insert("initContainers".into(), json!(init));
    }
    if plan.hostname != plan.name && !plan.hostname.is_empty() {
        spec.insert("hostname".into(), json!(plan.hostname));
    }
    if plan.share.pid {
        spec.insert("shareProcessNamespace".into(), json!(true));
    }
    if plan.host_network {
        spec.insert("hostNetwork".into(), json!(true));
    }
    if !plan.restart_policy.is_empty() {
        spec.insert("restartPolicy".into(), json!(plan.restart_policy));
    }
    if let Some(l) = limits(plan.memory, plan.nano_cpus) {
        spec.insert("resources".into(), l);
    }
    if !plan.volumes.is_empty() {
        let vols: Vec<Value> = plan
            .volumes
            .iter()
            .map(|v| match &v.source {
                VolumeSource::EmptyDir { memory, size_limit } => {
                    let mut e = Map::new();
                    if *memory {
                        e.insert("medium".into(), json!("Memory"));
                    }
                    if *size_limit > 0 {
                        e.insert("sizeLimit".into(), json!(format_bytes(*size_limit)));
                    }
                    json!({ "name": v.name, "emptyDir": e })
                }
                VolumeSource::HostPath { path, kind } => {
                    let mut h = Map::new();
                    h.insert("path".into(), json!(path));
                    if !kind.is_empty() {
                        h.insert("type".into(), json!(kind));
                    }
                    json!({ "name": v.name, "hostPath": h })
                }
            })
            .collect();
        spec.insert("volumes".into(), json!(vols));
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(plan.name));
    if !plan.labels.is_empty() {
        metadata.insert("labels".into(), json!(plan.labels));
    }
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
    });
    serde_norway::to_string(&doc).expect("a manifest serializes")
}
