//! From the typed manifest to `PodPlan`s: Kubernetes' defaults and rules applied, every
//! value checked, every error naming its field.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Container, Deployment, Pod, PodSpec, Resources};
use super::Ctx;
use crate::pod::plan::{
    ContainerPlan, MountPlan, PodPlan, PortPlan, ShareSet, VolumePlan, VolumeSource,
};

pub fn pod(cx: &mut Ctx, p: Pod) -> Result<PodPlan, String> {
    let name = object_name(&p.metadata.name, "metadata.name")?;
    pod_spec(cx, name, p.metadata.labels, &p.spec, "spec")
}

pub fn deployment(cx: &mut Ctx, d: Deployment) -> Result<Vec<PodPlan>, String> {
    let name = object_name(&d.metadata.name, "metadata.name")?;
    let labels = d.spec.template.metadata.labels.clone();
    for (k, v) in &d.spec.selector.match_labels {
        if labels.get(k) != Some(v) {
            return Err(format!(
                "spec.selector.matchLabels: {k}={v} does not match spec.template.metadata.labels"
            ));
        }
    }
    let replicas = d.spec.replicas.unwrap_or(1);
    if replicas == 0 {
        cx.warn("spec.replicas: 0, no pod is created".into());
    }
    let spec = &d.spec.template.spec;
    if let Some(p) = spec.restart_policy.as_deref().filter(|p| *p != "Always") {
        return Err(format!(
            "spec.template.spec.restartPolicy: {p:?}: a Deployment's pods restart Always"
        ));
    }
    let mut pods = Vec::new();
    for n in 0..replicas {
        let mut sub = Ctx::default();
        let plan = pod_spec(
            &mut sub,
            format!("{name}-{n}"),
            labels.clone(),
            spec,
            "spec.template.spec",
        )?;
        if n == 0 {
            cx.warnings.append(&mut sub.warnings);
        }
        if replicas > 1 && !plan.ports.is_empty() {
            return Err(format!(
                "spec.template.spec: hostPort {} cannot be published by {replicas} replicas \
                 on one host",
                plan.ports[0].host_port
            ));
        }
        pods.push(plan);
    }
    Ok(pods)
}

fn object_name(name: &str, path: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err(format!("{path}: required"));
    }
    let ok = name.len() <= 253 && name.split('.').all(dns_label);
    if !ok {
        return Err(format!(
            "{path}: invalid name {name:?} (lowercase letters, digits, '-' and '.')"
        ));
    }
    Ok(name.to_string())
}

fn pod_spec(
    cx: &mut Ctx,
    name: String,
    labels: BTreeMap<String, String>,
    spec: &PodSpec,
    path: &str,
) -> Result<PodPlan, String> {
    if spec.containers.is_empty() {
        return Err(format!(
            "{path}.containers: a pod needs at least one container"
        ));
    }
    let restart_policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());
    let restart = match restart_policy.as_str() {
        "Always" => "always",
        "OnFailure" => "on-failure",
        "Never" => "no",
        other => {
            return Err(format!(
                "{path}.restartPolicy: {other:?} (Always, OnFailure, Never)"
            ))
        }
    };
    let hostname = match &spec.hostname {
        Some(h) if !valid_hostname(h) => {
            return Err(format!("{path}.hostname: invalid hostname {h:?}"))
        }
        Some(h) => h.clone(),
        None => name.clone(),
    };
    let host_network = spec.host_network.unwrap_or(false);
    let share = ShareSet {
        net: !host_network,
        pid: spec.share_process_namespace.unwrap_or(false),
        ..ShareSet::default()
    };
    let volumes = volumes(cx, spec, path)?;
    let (memory, nano_cpus) = limits(spec.resources.as_ref(), &format!("{path}.resources"))?;
    let mut plan = PodPlan {
        name,
        hostname,
        share,
        host_network,
        memory,
        nano_cpus,
        labels,
        volumes,
        restart_policy,
        ..PodPlan::default()
    };
    let mut seen = BTreeSet::new();
    for (list, key, restart) in [
        (&spec.init_containers, "initContainers", "no"),
        (&spec.containers, "containers", restart),
    ] {
        for (i, c) in list.iter().enumerate() {
            let cpath = format!("{path}.{key}[{i}]");
            let cp = container(cx, c, &plan.volumes, restart, &cpath)?;
            if !seen.insert(cp.name.clone()) {
                return Err(format!(
                    "{cpath}.name: duplicate container name {:?}",
                    cp.name
                ));
            }
            for (j, port) in cp.ports.iter().enumerate() {
                if port.host_port == 0 || host_network {
                    continue;
                }
                if plan
                    .ports
                    .iter()
                    .any(|p| p.host_port == port.host_port && p.protocol == port.protocol)
                {
                    return Err(format!(
                        "{cpath}.ports[{j}].hostPort: {} is published twice",
                        port.host_port
                    ));
                }
                plan.ports.push(port.clone());
            }
            if key == "initContainers" {
                plan.init_containers.push(cp);
            } else {
                plan.containers.push(cp);
            }
        }
    }
    Ok(plan)
}

/// RFC 1123 label: what Kubernetes wants of container names and each part of a pod name.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 63
        && !h.starts_with('-')
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn volumes(cx: &mut Ctx, spec: &PodSpec, path: &str) -> Result<Vec<VolumePlan>, String> {
    let mut out: Vec<VolumePlan> = Vec::new();
    for (i, v) in spec.volumes.iter().enumerate() {
        let vpath = format!("{path}.volumes[{i}]");
        if v.name.is_empty() {
            return Err(format!("{vpath}.name: required"));
        }
        if out.iter().any(|o| o.name == v.name) {
            return Err(format!("{vpath}.name: duplicate volume name {:?}", v.name));
        }
        let source = match (&v.empty_dir, &v.host_path) {
            (Some(_), Some(_)) => {
                return Err(format!("{vpath}: emptyDir and hostPath are exclusive"))
            }
            (Some(e), None) => {
                let memory = match e.medium.as_deref().unwrap_or("") {
                    "" => false,
                    "Memory" => true,
                    m => {
                        return Err(format!(
                            "{vpath}.emptyDir.medium: {m:?} (\"\" or \"Memory\")"
                        ))
                    }
                };
                let size_limit = match &e.size_limit {
                    None => 0,
                    Some(q) => q.bytes().ok_or_else(|| {
                        format!("{vpath}.emptyDir.sizeLimit: invalid quantity {:?}", q.0)
                    })?,
                };
                if size_limit > 0 && !memory {
                    cx.warn(format!(
                        "{vpath}.emptyDir.sizeLimit: enforced only with medium Memory, ignored"
                    ));
                }
                VolumeSource::EmptyDir { memory, size_limit }
            }
            (None, Some(h)) => {
                if !h.path.starts_with('/') {
                    return Err(format!("{vpath}.hostPath.path: must be absolute"));
                }
                let kind = h.kind.clone().unwrap_or_default();
                const KINDS: [&str; 8] = [
                    "",
                    "DirectoryOrCreate",
                    "Directory",
                    "FileOrCreate",
                    "File",
                    "Socket",
                    "CharDevice",
                    "BlockDevice",
                ];
                if !KINDS.contains(&kind.as_str()) {
                    return Err(format!("{vpath}.hostPath.type: unknown type {kind:?}"));
                }
                VolumeSource::HostPath {
                    path: h.path.clone(),
                    kind,
                }
            }
            (None, None) => {
                cx.warn(format!(
                    "{vpath}: no supported source (emptyDir, hostPath), an empty directory \
                     is mounted instead"
                ));
                VolumeSource::EmptyDir {
                    memory: false,
                    size_limit: 0,
                }
            }
        };
        out.push(VolumePlan {
            name: v.name.clone(),
            source,
        });
    }
    Ok(out)
}

fn limits(r: Option<&Resources>, path: &str) -> Result<(i64, i64), String> {
    let Some(r) = r else { return Ok((0, 0)) };
    let mut memory = 0;
    let mut cpus = 0;
    if let Some(q) = r.limits.get("memory") {
        memory = q
            .bytes()
            .filter(|b| *b > 0)
            .ok_or_else(|| format!("{path}.limits.memory: invalid quantity {:?}", q.0))?;
    }
    if let Some(q) = r.limits.get("cpu") {
        cpus = q
            .nano_cpus()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{path}.limits.cpu: invalid quantity {:?}", q.0))?;
    }
    Ok((memory, cpus))
}

fn cap_name(c: &str) -> String {
    let up = c.to_ascii_uppercase();
    if up == "ALL" || up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

fn container(
    cx: &mut Ctx,
    c: &Container,
    volumes: &[VolumePlan],
    restart: &str,
    path: &str,
) -> Result<ContainerPlan, String> {
    if c.name.is_empty() {
        return Err(format!("{path}.name: required"));
    }
    if !dns_label(&c.name) {
        return Err(format!(
            "{path}.name: invalid name {:?} (lowercase letters, digits and '-')",
            c.name
        ));
    }
    let image = match c.image.as_deref().map(str::trim) {
        Some(i) if !i.is_empty() => i.to_string(),
        _ => return Err(format!("{path}.image: required")),
    };
    let mut env = Vec::new();
    for (i, e) in c.env.iter().enumerate() {
        if e.name.is_empty() || e.name.contains('=') {
            return Err(format!("{path}.env[{i}].name: invalid name {:?}", e.name));
        }
        match (&e.value, &e.value_from) {
            (_, Some(_)) => cx.warn(format!(
                "{path}.env[{i}].valueFrom: not supported, {} is left unset",
                e.name
            )),
            (Some(v), None) => env.push(format!("{}={}", e.name, v.text())),
            (None, None) => env.push(format!("{}=", e.name)),
        }
    }
    let mut ports = Vec::new();
    for (i, p) in c.ports.iter().enumerate() {
        if p.container_port == 0 {
            return Err(format!(
                "{path}.ports[{i}].containerPort: required (1-65535)"
            ));
        }
        let protocol = match p.protocol.as_deref().unwrap_or("TCP") {
            "TCP" => "tcp",
            "UDP" => "udp",
            "SCTP" => "sctp",
            other => {
                return Err(format!(
                    "{path}.ports[{i}].protocol: {other:?} (TCP, UDP, SCTP)"
                ))
            }
        };
        ports.push(PortPlan {
            host_ip: p.host_ip.clone().unwrap_or_default(),
            host_port: p.host_port.unwrap_or(0),
            container_port: p.container_port,
            protocol: protocol.into(),
        });
    }
    let (memory, nano_cpus) = limits(c.resources.as_ref(), &format!("{path}.resources"))?;
    let sc = c.security_context.clone().unwrap_or_default();
    let user = match (sc.run_as_user, sc.run_as_group) {
        (Some(u), Some(g)) => format!("{u}:{g}"),
        (Some(u), None) => u.to_string(),
        (None, Some(_)) => {
            cx.warn(format!(
                "{path}.securityContext.runAsGroup: not supported without runAsUser, ignored"
            ));
            String::new()
        }
        (None, None) => String::new(),
    };
    let caps = sc.capabilities.unwrap_or_default();
    let mut mounts = Vec::new();
    for (i, m) in c.volume_mounts.iter().enumerate() {
        let mpath = format!("{path}.volumeMounts[{i}]");
        if !volumes.iter().any(|v| v.name == m.name) {
            return Err(format!(
                "{mpath}.name: no volume {:?} in the pod's volumes",
                m.name
            ));
        }
        if !m.mount_path.starts_with('/') {
            return Err(format!("{mpath}.mountPath: must be absolute"));
        }
        mounts.push(MountPlan {
            volume: m.name.clone(),
            target: m.mount_path.clone(),
            read_only: m.read_only,
        });
    }
    let cmd = match (&c.command, &c.args) {
        (_, Some(a)) => Some(a.clone()),
        // Kubernetes: a command without args ignores the image's CMD too.
        (Some(_), None) => Some(Vec::new()),
        (None, None) => None,
    };
    Ok(ContainerPlan {
        name: c.name.clone(),
        image,
        entrypoint: c.command.clone(),
        cmd,
        env,
        working_dir: c.working_dir.clone().unwrap_or_default(),
        user,
        cap_add: caps.add.iter().map(|c| cap_name(c)).collect(),
        cap_drop: caps.drop.iter().map(|c| cap_name(c)).collect(),
        privileged: sc.privileged.unwrap_or(false),
        read_only: sc.read_only_root_filesystem.unwrap_or(false),
        no_new_privileges: sc.allow_privilege_escalation == Some(false),
        memory,
        nano_cpus,
        mounts,
        ports,
        restart: restart.into(),
    })
}
