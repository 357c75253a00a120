//! `hull kube play` / `kube down` / `kube generate`: pod plans become pods with their
//! containers (init containers first, each run to completion), and a pod is described back
//! as a plan.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::hooks;
use super::infra;
use super::ops::{self, OpError};
use super::plan::{ContainerPlan, MountPlan, PodPlan, VolumePlan, VolumeSource};
use super::store::{self, Pod};
use crate::container::config::{MountSpec, Restart, RestartPolicy, RunConfig};
use crate::container::Container;
use crate::engine::Engine;
use crate::kube::Manifests;

fn member_err(p: &Pod, name: &str, e: impl std::fmt::Display) -> OpError {
    OpError::Member {
        pod: p.name.clone(),
        name: name.into(),
        msg: e.to_string(),
    }
}

/// Checks (and for the *OrCreate types makes) a hostPath as Kubernetes' type asks.
fn host_path(p: &Pod, v: &VolumePlan, path: &str, kind: &str) -> Result<(), OpError> {
    let bad = |what: &str| {
        Err(OpError::Invalid(format!(
            "pod {}: volume {}: hostPath {path}: {what}",
            p.name, v.name
        )))
    };
    let md = std::fs::metadata(path);
    use std::os::unix::fs::FileTypeExt;
    match kind {
        "DirectoryOrCreate" if md.is_err() => {
            std::fs::create_dir_all(path).or_else(|e| bad(&e.to_string()))?
        }
        "FileOrCreate" if md.is_err() => {
            std::fs::write(path, "").or_else(|e| bad(&e.to_string()))?
        }
        "" | "DirectoryOrCreate" | "FileOrCreate" => {}
        _ => {
            let Ok(md) = md else {
                return bad("does not exist");
            };
            let ft = md.file_type();
            let ok = match kind {
                "Directory" => ft.is_dir(),
                "File" => ft.is_file(),
                "Socket" => ft.is_socket(),
                "CharDevice" => ft.is_char_device(),
                "BlockDevice" => ft.is_block_device(),
                _ => false,
            };
            if !ok {
                return bad(&format!("is not a {kind}"));
            }
        }
    }
    Ok(())
}

/// Creates and starts one container of the pod; an init container is waited for and must
/// exit 0.
pub fn add_container(
    eng: &Engine,
    p: &Pod,
    cp: &ContainerPlan,
    init: bool,
) -> Result<Container, OpError> {
    let mut mounts = Vec::new();
    for m in &cp.mounts {
        let v = p
            .plan
            .volumes
            .iter()
            .find(|v| v.name == m.volume)
            .ok_or_else(|| member_err(p, &cp.name, format!("no volume {:?}", m.volume)))?;
        let source = match &v.source {
            VolumeSource::EmptyDir { .. } => {
                infra::volume_dir(eng, &p.id, &v.name).display().to_string()
            }
            VolumeSource::HostPath { path, kind } => {
                host_path(p, v, path, kind)?;
                path.clone()
            }
        };
        mounts.push(MountSpec {
            kind: crate::container::config::MountKind::Bind,
            source,
            target: m.target.clone(),
            read_only: m.read_only,
            propagation: None,
            options: Vec::new(),
            anonymous: false,
        });
    }
    let mut cfg = RunConfig {
        cmd: cp.cmd.clone().unwrap_or_default(),
        env: cp.env.clone(),
        working_dir: cp.working_dir.clone(),
        user: cp.user.clone(),
        cap_add: cp.cap_add.clone(),
        cap_drop: cp.cap_drop.clone(),
        privileged: cp.privileged,
        read_only: cp.read_only,
        no_new_privileges: cp.no_new_privileges,
        memory: cp.memory,
        nano_cpus: cp.nano_cpus,
        mounts,
        restart: RestartPolicy {
            name: if init {
                Restart::No
            } else {
                Restart::parse(&cp.restart).unwrap_or_default()
            },
            max_retries: 0,
        },
        ..RunConfig::default()
    };
    hooks::join(p, &mut cfg).map_err(OpError::Invalid)?;
    let mut labels =
        BTreeMap::from([("io.kubernetes.container.name".to_string(), cp.name.clone())]);
    if init {
        labels.insert(super::INIT_LABEL.into(), String::new());
    }
    let req = crate::container::create::Request {
        image: cp.image.clone(),
        name: Some(p.plan.container_name(cp)),
        entrypoint: cp.entrypoint.clone(),
        config: cfg,
        labels,
    };
    let c = crate::container::create::create(eng, req).map_err(|e| member_err(p, &cp.name, e))?;
    let started =
        crate::container::start::start(eng, &c, crate::container::start::Attach::default())
            .map_err(|e| member_err(p, &cp.name, e))?;
    drop(started);
    if init {
        let c = eng.lookup(&c.id)?;
        match ops::wait_exit(eng, &c, Duration::from_secs(600)) {
            Some(0) => {}
            Some(code) => {
                return Err(member_err(
                    p,
                    &cp.name,
                    format!("init container exited with {code}"),
                ))
            }
            None => return Err(member_err(p, &cp.name, "init container did not finish")),
        }
    }
    Ok(c)
}

/// Plays every pod of a manifest; on any failure every pod made so far is removed.
pub(crate) fn play(
    eng: &mut Engine,
    plans: &[PodPlan],
    source: &Path,
) -> Result<Vec<Pod>, OpError> {
    for plan in plans {
        if store::lookup(&eng.conn, &plan.name).is_ok() {
            return Err(OpError::Invalid(format!(
                "pod {} already exists (hull kube down, or hull pod rm)",
                plan.name
            )));
        }
    }
    let src = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let mut made = Vec::new();
    let res = (|| -> Result<(), OpError> {
        for plan in plans {
            let p = ops::create(eng, plan.clone(), &src.display().to_string())?;
            made.push(p.clone());
            for c in &plan.init_containers {
                add_container(eng, &p, c, true)?;
            }
            for c in &plan.containers {
                add_container(eng, &p, c, false)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        for p in &made {
            let _ = ops::remove(eng, p, true);
        }
        return Err(e);
    }
    Ok(made)
}

/// Removes the pods a manifest describes (those that exist); their names.
pub(crate) fn down(eng: &mut Engine, plans: &[PodPlan]) -> Result<Vec<String>, OpError> {
    let mut gone = Vec::new();
    for plan in plans {
        if let Ok(p) = store::lookup(&eng.conn, &plan.name) {
            ops::remove(eng, &p, true)?;
            gone.push(p.name);
        }
    }
    Ok(gone)
}

/// The pod as a plan, from its row and its containers' stored configs (`kube generate`).
pub(crate) fn describe(eng: &Engine, p: &Pod) -> Result<PodPlan, OpError> {
    let mut plan = p.plan.clone();
    plan.init_containers.clear();
    plan.containers.clear();
    let vol_root = eng.paths.root.join("pods").join(&p.id).join("volumes");
    for c in ops::members(eng, p)? {
        let cfg = &c.config;
        let name = c
            .labels
            .get("io.kubernetes.container.name")
            .cloned()
            .unwrap_or_else(|| {
                c.name
                    .strip_prefix(&format!("{}-", p.name))
                    .unwrap_or(&c.name)
                    .to_string()
            });
        let mut mounts = Vec::new();
        for m in &cfg.mounts {
            let rel = Path::new(&m.source).strip_prefix(&vol_root).ok();
            let volume = match rel.and_then(|r| r.to_str()) {
                Some(v) => v.to_string(),
                None => {
                    let v = format!("host-{}", plan.volumes.len());
                    plan.volumes.push(VolumePlan {
                        name: v.clone(),
                        source: VolumeSource::HostPath {
                            path: m.source.clone(),
                            kind: String::new(),
                        },
                    });
                    v
                }
            };
            mounts.push(MountPlan {
                volume,
                target: m.target.clone(),
                read_only: m.read_only,
            });
        }
        let cp = ContainerPlan {
            name,
            image: c.image.clone(),
            entrypoint: (!cfg.entrypoint.is_empty()).then(|| cfg.entrypoint.clone()),
            cmd: Some(cfg.cmd.clone()),
            env: cfg.env.clone(),
            working_dir: cfg.working_dir.clone(),
            user: cfg.user.clone(),
            cap_add: cfg.cap_add.clone(),
            cap_drop: cfg.cap_drop.clone(),
            privileged: cfg.privileged,
            read_only: cfg.read_only,
            no_new_privileges: cfg.no_new_privileges,
            memory: cfg.memory,
            nano_cpus: cfg.nano_cpus,
            mounts,
            ports: Vec::new(),
            restart: cfg.restart.name.as_str().to_string(),
        };
        if c.labels.contains_key(super::INIT_LABEL) {
            plan.init_containers.push(cp);
        } else {
            plan.containers.push(cp);
        }
    }
    if plan.restart_policy.is_empty() {
        plan.restart_policy = match plan.containers.first().map(|c| c.restart.as_str()) {
            Some("on-failure") => "OnFailure",
            Some("always") | Some("unless-stopped") => "Always",
            _ => "Never",
        }
        .into();
    }
    Ok(plan)
}

impl Engine {
    /// `kube play`: creates and starts every pod of `m` (read from `source`, recorded as the
    /// pods' origin); on any failure every pod made so far is removed. The pods made.
    pub fn kube_play(&mut self, m: &Manifests, source: &Path) -> crate::Result<Vec<Pod>> {
        Ok(play(self, &m.pods, source)?)
    }

    /// `kube down`: removes the pods `m` describes (those that exist); their names.
    pub fn kube_down(&mut self, m: &Manifests) -> crate::Result<Vec<String>> {
        Ok(down(self, &m.pods)?)
    }

    /// `kube generate`: the pod `key` as a Pod manifest (YAML).
    pub fn kube_generate(&self, key: &str) -> crate::Result<String> {
        let p = ops::lookup(self, key)?;
        Ok(crate::kube::pod_manifest(&describe(self, &p)?))
    }
}
