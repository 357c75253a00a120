//! A container's run config: what `hull create`/`run` was asked for, with the image's
//! defaults merged in at create time. Stored as JSON in the containers table; the OCI spec is
//! generated from it at every start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::modes::{
    IdMap, MountKind, NetworkMode, NsMode, PodMember, Propagation, Restart, UsernsMode,
};

/// A volume or mount (`-v`, `--mount`, `--tmpfs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Host path (bind), volume name (volume; empty for an anonymous one), unused for tmpfs.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// A bind's propagation; unset is rprivate.
    #[serde(default, deserialize_with = "Propagation::deserialize_opt")]
    pub propagation: Option<Propagation>,
    /// tmpfs options ("size=64m,mode=1777") or extra bind options.
    pub options: Vec<String>,
    /// A volume made for this container alone (`-v /dst`), named at create and removed by
    /// `rm -v` with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
}

impl MountSpec {
    /// A mount over /proc or under it only where runc allows one (the runtime checks again
    /// where the destination really lands): a write the runtime makes under /proc must never
    /// meet a file of the container's. The reason when refused.
    pub fn check_destination(&self) -> Result<(), String> {
        let dst = hull_runtime::rootfs::procfs::clean(std::path::Path::new(&self.target));
        let src = (self.kind == MountKind::Bind).then(|| std::path::Path::new(&self.source));
        let fs_type = if self.kind == MountKind::Tmpfs {
            "tmpfs"
        } else {
            "bind"
        };
        hull_runtime::rootfs::procfs::check_mount_destination(&dst, fs_type, src)
    }
}

/// The `--ulimit` names docker accepts, each an `RLIMIT_*` of the OCI spec.
pub const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
    "as",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSpec {
    pub host: String,
    pub container: String,
    /// "rwm" subset.
    pub permissions: String,
}

/// `--restart`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    pub name: Restart,
    /// on-failure's maximum (0: unlimited).
    pub max_retries: u32,
}

impl RestartPolicy {
    pub fn is_none(&self) -> bool {
        self.name == Restart::No
    }
}

/// Everything `create`/`run` stores about how to run a container.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    // What runs (image defaults merged).
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub domainname: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub stop_signal: String,
    pub stop_timeout: Option<u32>,
    pub exposed_ports: Vec<String>,
    pub image_labels: BTreeMap<String, String>,
    // Host config.
    pub auto_remove: bool,
    pub mounts: Vec<MountSpec>,
    pub read_only: bool,
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: u64,
    pub cpuset_cpus: String,
    pub pids_limit: i64,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    /// None: docker's default profile; Some("unconfined"); Some(JSON of a profile file).
    pub seccomp: Option<String>,
    pub no_new_privileges: bool,
    pub ulimits: Vec<Ulimit>,
    pub sysctls: BTreeMap<String, String>,
    pub devices: Vec<DeviceSpec>,
    pub init: bool,
    pub restart: RestartPolicy,
    /// podman's --userns (host or private; a remapped pod's).
    pub userns: UsernsMode,
    /// --uidmap/--gidmap, parsed at create (stored as "CONTAINER_ID:HOST_ID:SIZE" each).
    pub uidmap: Vec<IdMap>,
    pub gidmap: Vec<IdMap>,
    /// "", "host", "container:ID" (resolved to the id at create).
    pub pid_mode: NsMode,
    pub ipc_mode: NsMode,
    pub uts_mode: NsMode,
    /// The default network, a network's name, none, host, container:ID or pod:ID.
    pub network_mode: NetworkMode,
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
    /// --oom-score-adj, --group-add, --shm-size, the finer cgroup limits (tuning.rs).
    pub tuning: crate::container::tuning::Tuning,
    /// The pod it was created into (`--pod`): the one home of its pod id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodMember>,
    /// What it asked of the network (networks, ports, DNS; crate::network).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<crate::network::endpoint::NetRequest>,
    /// `--faketime`/`--time-offset` (crates/clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<hull_clock::Settings>,
    /// The cgroup manager, parent and namespace, settled at create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::container::cgroup::Settings>,
    /// docker's Config.Healthcheck: the image's merged with --health-* (container::health).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<crate::container::health::HealthConfig>,
    /// `--volumes-from`, as given (HostConfig.VolumesFrom); their mounts are in `mounts`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// `--link NAME[:ALIAS]`, the name resolved to the container's at create.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

impl RunConfig {
    /// The process args: entrypoint then cmd.
    pub fn args(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }

    /// The signal `stop` sends first.
    pub fn stop_signal(&self) -> &str {
        if self.stop_signal.is_empty() {
            "SIGTERM"
        } else {
            &self.stop_signal
        }
    }

    /// Seconds `stop` waits before KILL (docker's 10).
    pub fn stop_timeout(&self) -> u32 {
        self.stop_timeout.unwrap_or(10)
    }

    pub fn log_driver(&self) -> &str {
        if self.log_driver.is_empty() {
            "json-file"
        } else {
            &self.log_driver
        }
    }
}

impl RunConfig {
    /// A user namespace with id maps is asked for.
    pub fn userns_is_mapped(&self) -> bool {
        !self.userns.is_host() && (!self.uidmap.is_empty() || !self.gidmap.is_empty())
    }

    /// The user namespace's uid and gid maps (one list standing for both), None without
    /// maps or with `--userns host`.
    pub fn id_maps(&self) -> Option<(Vec<IdMap>, Vec<IdMap>)> {
        if self.userns.is_host() {
            return None;
        }
        super::modes::both_maps(&self.uidmap, &self.gidmap)
    }
}

/// Merges env lists: later entries replace earlier ones with the same key.
pub fn merge_env(base: &[String], over: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for e in base.iter().chain(over) {
        let key = e.split_once('=').map(|(k, _)| k).unwrap_or(e).to_string();
        if !map.contains_key(&key) {
            order.push(key.clone());
        }
        map.insert(key, e.clone());
    }
    order.into_iter().filter_map(|k| map.remove(&k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merges() {
        assert_eq!(
            merge_env(&["A=1".into(), "B=2".into()], &["A=3".into()]),
            vec!["A=3", "B=2"]
        );
    }
}
