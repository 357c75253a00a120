//! The neutral description of a pod that `hull pod create` and `hull kube play` both produce
//! and the engine executes: which namespaces the containers share, what the pod publishes and
//! limits, its volumes, and its containers as docker-run-like options. `kube generate` goes
//! the other way, from a plan rebuilt out of the state back to a manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The namespaces the containers of a pod share through its infra process. Kubernetes'
/// default is uts, ipc and net; pid only with shareProcessNamespace (`--share +pid`). The
/// mount namespace is never shared: files are shared through volumes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareSet {
    pub uts: bool,
    pub ipc: bool,
    pub net: bool,
    pub pid: bool,
}

impl Default for ShareSet {
    fn default() -> Self {
        ShareSet {
            uts: true,
            ipc: true,
            net: true,
            pid: false,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareError {
    #[error("--share: unknown namespace {0:?} (uts, ipc, net, pid)")]
    Unknown(String),
    #[error("--share: the mount namespace is never shared (share files through volumes)")]
    Mount,
    #[error("--share: {0:?} mixes a plain list with +/- changes")]
    Mixed(String),
}

impl ShareSet {
    pub const NONE: ShareSet = ShareSet {
        uts: false,
        ipc: false,
        net: false,
        pid: false,
    };

    /// Parses `--share`: "uts,net" replaces the default set, "+pid" and "-ipc" change it,
    /// "none" (or "") shares nothing.
    pub fn parse(s: &str) -> Result<ShareSet, ShareError> {
        let items: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        if items.is_empty() || items == ["none"] {
            return Ok(ShareSet::NONE);
        }
        let changes = items.iter().filter(|i| i.starts_with(['+', '-'])).count();
        if changes != 0 && changes != items.len() {
            return Err(ShareError::Mixed(s.into()));
        }
        let mut set = if changes == 0 {
            ShareSet::NONE
        } else {
            ShareSet::default()
        };
        for item in items {
            let (on, name) = match item.as_bytes()[0] {
                b'+' => (true, &item[1..]),
                b'-' => (false, &item[1..]),
                _ => (true, item),
            };
            let slot = match name {
                "uts" => &mut set.uts,
                "ipc" => &mut set.ipc,
                "net" | "network" => &mut set.net,
                "pid" => &mut set.pid,
                "mnt" | "mount" => return Err(ShareError::Mount),
                _ => return Err(ShareError::Unknown(name.into())),
            };
            *slot = on;
        }
        Ok(set)
    }

    /// "ipc,net,uts" (podman's order), or "none".
    pub fn names(&self) -> String {
        let names: Vec<&str> = [
            (self.ipc, "ipc"),
            (self.net, "net"),
            (self.pid, "pid"),
            (self.uts, "uts"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(",")
        }
    }
}

/// A port the pod publishes on the host (the infra holds the network namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortPlan {
    /// "" for every address.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    /// "tcp", "udp" or "sctp".
    pub protocol: String,
}

impl PortPlan {
    /// `-p [IP:]HOST:CONTAINER[/PROTO]` (a bare CONTAINER publishes the same host port).
    pub fn parse(s: &str) -> Result<PortPlan, String> {
        let bad = || format!("invalid -p {s:?}: expected [IP:]HOST:CONTAINER[/tcp|udp]");
        let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        if !matches!(proto, "tcp" | "udp" | "sctp") {
            return Err(bad());
        }
        let parts: Vec<&str> = ports.rsplitn(3, ':').collect();
        let num = |t: &str| t.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(bad);
        let (ip, host, cont) = match parts.as_slice() {
            [c] => ("", num(c)?, num(c)?),
            [c, h] => ("", num(h)?, num(c)?),
            [c, h, ip] => (*ip, num(h)?, num(c)?),
            _ => return Err(bad()),
        };
        Ok(PortPlan {
            host_ip: ip.to_string(),
            host_port: host,
            container_port: cont,
            protocol: proto.into(),
        })
    }
}

/// What backs a pod volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum VolumeSource {
    /// A directory the pod owns (removed with it); in memory (tmpfs) when `memory`.
    EmptyDir {
        memory: bool,
        /// Bytes; 0 for no limit (only enforced for tmpfs).
        size_limit: i64,
    },
    /// A host path; `kind` is Kubernetes' hostPath type ("" checks nothing).
    HostPath { path: String, kind: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePlan {
    pub name: String,
    pub source: VolumeSource,
}

/// A volume mounted into one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPlan {
    /// The pod volume's name.
    pub volume: String,
    pub target: String,
    pub read_only: bool,
}

/// One container of a pod, as docker-run-like options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerPlan {
    /// The name inside the pod; the container itself is named "<pod>-<name>".
    pub name: String,
    pub image: String,
    /// Replaces the image's ENTRYPOINT (Kubernetes' command).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's CMD (Kubernetes' args; Some(empty) when only command was given,
    /// since Kubernetes then ignores the image's CMD).
    pub cmd: Option<Vec<String>>,
    /// "NAME=value" each, in order.
    pub env: Vec<String>,
    pub working_dir: String,
    /// "uid", "uid:gid" or "" for the image's user.
    pub user: String,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    pub no_new_privileges: bool,
    /// Bytes, 0 for none.
    pub memory: i64,
    /// CPUs in billionths, 0 for none.
    pub nano_cpus: i64,
    pub mounts: Vec<MountPlan>,
    /// Ports the container declares (published at the pod level; kept for generate).
    pub ports: Vec<PortPlan>,
    /// docker's restart policy name: "no", "on-failure", "always".
    pub restart: String,
}

/// A whole pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodPlan {
    pub name: String,
    /// The shared uts namespace's hostname (Kubernetes: the pod's name).
    pub hostname: String,
    pub share: ShareSet,
    /// The containers use the host's network namespace (no infra network, no ports).
    pub host_network: bool,
    /// "" for hull's default network, else a network name (`--network`).
    pub network: String,
    pub ports: Vec<PortPlan>,
    /// Pod-level limits on the pod's cgroup parent (bytes, billionths of CPUs), 0 for none.
    pub memory: i64,
    pub nano_cpus: i64,
    pub labels: BTreeMap<String, String>,
    pub volumes: Vec<VolumePlan>,
    /// Run one after another to completion before `containers` start.
    pub init_containers: Vec<ContainerPlan>,
    pub containers: Vec<ContainerPlan>,
    /// Kubernetes' restartPolicy ("Always", "OnFailure", "Never").
    pub restart_policy: String,
    /// A user namespace of the pod's with these maps (podman's --uidmap/--gidmap), joined
    /// by every container; empty for the host's.
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
}

impl PodPlan {
    /// Whether the pod has a user namespace of its own.
    pub fn is_mapped(&self) -> bool {
        !self.uidmap.is_empty() || !self.gidmap.is_empty()
    }

    /// The maps as the OCI spec takes them (one list standing for both when the other is
    /// empty); an error names the flag and the map.
    pub fn id_maps(&self) -> Result<(Vec<IdMap>, Vec<IdMap>), String> {
        let mut uids = id_maps("--uidmap", &self.uidmap)?;
        let mut gids = id_maps("--gidmap", &self.gidmap)?;
        if uids.is_empty() {
            uids = gids.clone();
        }
        if gids.is_empty() {
            gids = uids.clone();
        }
        Ok((uids, gids))
    }

    /// The host uid and gid the pod's root is mapped to.
    pub fn mapped_root(&self) -> Option<(u32, u32)> {
        mapped_root(&self.uidmap, &self.gidmap)
    }

    /// The engine's name of a container of this pod.
    pub fn container_name(&self, c: &ContainerPlan) -> String {
        format!("{}-{}", self.name, c.name)
    }
}

/// One CONTAINER:HOST:SIZE range of a user namespace's map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The host uid and gid that root of a user namespace with these maps is (None when it has
/// no user namespace or its root is unmapped).
pub fn mapped_root(uidmap: &[String], gidmap: &[String]) -> Option<(u32, u32)> {
    let plan = PodPlan {
        uidmap: uidmap.to_vec(),
        gidmap: gidmap.to_vec(),
        ..Default::default()
    };
    let (uids, gids) = plan.id_maps().ok()?;
    let find = |m: &[IdMap]| m.iter().find(|m| m.container == 0).map(|m| m.host);
    Some((find(&uids)?, find(&gids)?))
}

/// Parses the maps of one flag; ranges that overlap, inside the namespace or on the host,
/// are refused (the kernel would refuse the map).
pub fn id_maps(flag: &str, list: &[String]) -> Result<Vec<IdMap>, String> {
    let mut out: Vec<IdMap> = Vec::new();
    for s in list {
        let (container, host, size) = crate::container::config::idmap(flag, s)?;
        let m = IdMap {
            container,
            host,
            size,
        };
        let over = |a: u32, b: u32, n: u32, k: u32| {
            u64::from(a) < u64::from(b) + u64::from(k) && u64::from(b) < u64::from(a) + u64::from(n)
        };
        if let Some(o) = out.iter().find(|o| {
            over(m.container, o.container, m.size, o.size) || over(m.host, o.host, m.size, o.size)
        }) {
            return Err(format!(
                "invalid {flag} {s:?}: overlaps {}:{}:{}",
                o.container, o.host, o.size
            ));
        }
        out.push(m);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_maps_refuse_overlaps() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            id_maps("--uidmap", &v(&["0:100000:1000", "1000:200000:10"]))
                .unwrap()
                .len(),
            2
        );
        let e = id_maps("--uidmap", &v(&["0:100000:1000", "10:300000:10"])).unwrap_err();
        assert!(e.contains("--uidmap") && e.contains("overlaps"), "{e}");
        assert!(id_maps("--gidmap", &v(&["0:100000:1000", "2000:100500:10"])).is_err());
    }

    #[test]
    fn share_parses_lists_and_changes() {
        assert_eq!(ShareSet::parse("+pid").unwrap().names(), "ipc,net,pid,uts");
        assert_eq!(ShareSet::parse("-ipc").unwrap().names(), "net,uts");
        assert_eq!(ShareSet::parse("net").unwrap().names(), "net");
        assert_eq!(ShareSet::parse("uts, ipc").unwrap().names(), "ipc,uts");
        assert_eq!(ShareSet::parse("none").unwrap(), ShareSet::NONE);
        assert_eq!(ShareSet::parse("mnt"), Err(ShareError::Mount));
        assert!(matches!(
            ShareSet::parse("+foo"),
            Err(ShareError::Unknown(_))
        ));
        assert!(matches!(
            ShareSet::parse("net,+pid"),
            Err(ShareError::Mixed(_))
        ));
    }
}
