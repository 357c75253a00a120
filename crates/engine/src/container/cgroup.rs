//! Where a container's cgroup is: the one home of that fact. The cgroup manager (systemd or
//! cgroupfs), the parent (--cgroup-parent, a pod's) and the cgroup namespace (--cgroupns) are
//! settled at create and kept in the run config (`RunConfig::cgroup`), so every later verb finds
//! the same cgroup whatever the engine's setting is by then.
//!
//! - systemd (podman's and docker's choice where systemd is PID 1 on cgroup v2): the
//!   cgroupsPath is "slice:hull:ID", a transient `hull-ID.scope` in `machine.slice` (or the
//!   --cgroup-parent slice) that the runtime asks systemd for; a pod is the slice
//!   `machine-hull_pod_ID.slice`.
//! - cgroupfs: the path `/hull/ID` (or `PARENT/ID`); a pod is `/hull/pod-ID`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::container::config::RunConfig;
use crate::container::Container;

/// The slice of containers (and pods) under systemd, as podman's.
pub const MACHINE_SLICE: &str = "machine.slice";
/// The unit prefix of containers under systemd: `hull-ID.scope`.
pub const SCOPE_PREFIX: &str = "hull";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupManager {
    Systemd,
    Cgroupfs,
}

impl CgroupManager {
    /// `--cgroup-manager` / `HULL_CGROUP_MANAGER`.
    pub fn parse(s: &str) -> Result<CgroupManager, String> {
        match s {
            "systemd" => Ok(CgroupManager::Systemd),
            "cgroupfs" => Ok(CgroupManager::Cgroupfs),
            _ => Err(format!(
                "--cgroup-manager: invalid value {s:?}: expected systemd or cgroupfs"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CgroupManager::Systemd => "systemd",
            CgroupManager::Cgroupfs => "cgroupfs",
        }
    }

    /// podman's default: systemd when it is PID 1 (it made /run/systemd/system) on a pure
    /// cgroup v2 host, cgroupfs otherwise (v1 and hybrid hosts, no systemd).
    pub fn host_default() -> CgroupManager {
        static D: OnceLock<CgroupManager> = OnceLock::new();
        *D.get_or_init(|| {
            if std::path::Path::new("/run/systemd/system").is_dir()
                && crate::sysinfo::cgroup_version() == "2"
            {
                CgroupManager::Systemd
            } else {
                CgroupManager::Cgroupfs
            }
        })
    }
}

/// A container's cgroup settings, as created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// None only before create settles it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<CgroupManager>,
    /// --cgroup-parent (a slice under systemd, a path under cgroupfs), or the pod's; empty:
    /// the manager's default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// --cgroupns (None only before create settles it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<CgroupNs>,
}

/// `--cgroupns`: a cgroup namespace of the container's own (it sees its cgroup as "/") or
/// the host's. Stored as the flag's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupNs {
    Private,
    Host,
}

impl CgroupNs {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupNs::Private => "private",
            CgroupNs::Host => "host",
        }
    }
}

impl Settings {
    pub fn of(cfg: &RunConfig) -> Option<Settings> {
        cfg.cgroup.clone()
    }

    pub fn store(&self, cfg: &mut RunConfig) {
        cfg.cgroup = Some(self.clone());
    }
}

/// `--cgroupns` as given: "host" or "private".
pub fn parse_ns(s: &str) -> Result<CgroupNs, String> {
    match s {
        "host" => Ok(CgroupNs::Host),
        "private" => Ok(CgroupNs::Private),
        _ => Err(format!(
            "--cgroupns: invalid value {s:?}: expected host or private"
        )),
    }
}

/// The manager a cgroup parent belongs to: systemd names slices, cgroupfs paths.
pub fn manager_of_parent(parent: &str) -> CgroupManager {
    if parent.ends_with(".slice") {
        CgroupManager::Systemd
    } else {
        CgroupManager::Cgroupfs
    }
}

/// Settles the settings of a container being created: the manager (the pod's, else the
/// engine's), the parent checked against it, the cgroup namespace (docker's default:
/// private on v2, host on v1). `pod_parent` is the pod's cgroup parent, for its members.
pub fn settle(
    cfg: &mut RunConfig,
    manager: CgroupManager,
    pod_parent: Option<&str>,
) -> Result<(), String> {
    let mut s = Settings::of(cfg).unwrap_or_default();
    match pod_parent {
        Some(_) if !s.parent.is_empty() => {
            return Err(
                "--cgroup-parent conflicts with --pod: a pod's containers go under its cgroup"
                    .into(),
            )
        }
        Some(p) => {
            s.parent = p.to_string();
            s.manager = Some(manager_of_parent(p));
        }
        None => {
            check_parent(manager, &s.parent)?;
            s.manager = Some(manager);
        }
    }
    if s.ns.is_none() {
        s.ns = Some(if crate::sysinfo::cgroup_version() == "2" {
            CgroupNs::Private
        } else {
            CgroupNs::Host
        });
    }
    s.store(cfg);
    Ok(())
}

fn check_parent(manager: CgroupManager, parent: &str) -> Result<(), String> {
    if parent.is_empty() {
        return Ok(());
    }
    let bad = |why: &str| Err(format!("--cgroup-parent {parent:?}: {why}"));
    match manager {
        CgroupManager::Systemd => {
            if !parent.ends_with(".slice") || parent.contains('/') {
                return bad("the systemd cgroup manager needs a slice name (\"name.slice\")");
            }
            if hull_cgroups::systemd::expand_slice(parent).is_none() {
                return bad("not a valid systemd slice name (\"a-b.slice\": no empty part)");
            }
        }
        CgroupManager::Cgroupfs => {
            if parent.ends_with(".slice") {
                return bad("a systemd slice needs --cgroup-manager systemd");
            }
            if parent.split('/').any(|p| p == "..") || parent.contains(':') {
                return bad("must be a cgroup path without \"..\" or ':'");
            }
        }
    }
    Ok(())
}

/// The cgroupsPath of `name` under `parent`: "slice:hull:name" under a slice, else
/// "parent/name".
pub fn child_path(parent: &str, name: &str) -> String {
    if manager_of_parent(parent) == CgroupManager::Systemd {
        format!("{parent}:{SCOPE_PREFIX}:{name}")
    } else {
        format!("/{}/{name}", parent.trim_matches('/'))
    }
}

/// The cgroupsPath of a parent itself (a pod's, which hull makes and removes): the slice
/// unit in its containing slice ("machine.slice::machine-hull_pod_ID.slice"), or the path.
pub fn parent_path(parent: &str) -> String {
    if manager_of_parent(parent) == CgroupManager::Systemd {
        let outer = match parent.trim_end_matches(".slice").rsplit_once('-') {
            Some((outer, _)) => format!("{outer}.slice"),
            None => "-.slice".into(),
        };
        format!("{outer}::{parent}")
    } else {
        parent.to_string()
    }
}

/// The cgroup parent of a new pod under `manager`.
pub fn pod_parent(manager: CgroupManager, pod_id: &str) -> String {
    match manager {
        CgroupManager::Systemd => format!("machine-hull_pod_{pod_id}.slice"),
        CgroupManager::Cgroupfs => format!("/hull/pod-{pod_id}"),
    }
}

/// The OCI linux.cgroupsPath of a container. Containers created before the settings
/// existed: `/hull/ID`, or under their pod's `/hull/pod-ID`.
pub fn cgroups_path(c: &Container) -> String {
    match Settings::of(&c.config) {
        Some(s) => {
            let parent = match (s.manager, s.parent.as_str()) {
                (Some(CgroupManager::Systemd), "") => MACHINE_SLICE,
                (_, "") => "/hull",
                (_, p) => p,
            };
            child_path(parent, &c.id)
        }
        None => match crate::pod::hooks::pod_id(&c.config) {
            Some(pod) => child_path(&pod_parent(CgroupManager::Cgroupfs, pod), &c.id),
            None => child_path("/hull", &c.id),
        },
    }
}

/// Whether the container gets a cgroup namespace of its own.
pub fn private_ns(c: &Container) -> bool {
    Settings::of(&c.config).is_some_and(|s| s.ns == Some(CgroupNs::Private))
}

/// The cgroup manager of a cgroupsPath: systemd's (reads and removal through the unit's
/// cgroup; D-Bus only to stop it) for "slice:prefix:name", cgroupfs otherwise.
pub fn manager(
    path: &str,
    id: &str,
) -> Result<Box<dyn hull_cgroups::Manager>, hull_cgroups::Error> {
    if hull_cgroups::systemd::is_systemd_path(path) {
        hull_cgroups::systemd::manager(path, id)
    } else {
        hull_cgroups::manager(Some(path), id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_each_manager() {
        assert_eq!(child_path("machine.slice", "abc"), "machine.slice:hull:abc");
        assert_eq!(child_path("/hull", "abc"), "/hull/abc");
        assert_eq!(child_path("custom/deep/", "abc"), "/custom/deep/abc");
        let pod = pod_parent(CgroupManager::Systemd, "p1");
        assert_eq!(pod, "machine-hull_pod_p1.slice");
        assert_eq!(
            parent_path(&pod),
            "machine.slice::machine-hull_pod_p1.slice"
        );
        assert_eq!(parent_path("top.slice"), "-.slice::top.slice");
        assert_eq!(parent_path("/hull/pod-p1"), "/hull/pod-p1");
        // systemd's unit and cgroup for a pod member, as the runtime will resolve them
        let u = hull_cgroups::systemd::Unit::parse(&child_path(&pod, "c1")).unwrap();
        assert_eq!(
            u.cgroup_path(),
            std::path::Path::new("machine.slice/machine-hull_pod_p1.slice/hull-c1.scope")
        );
        let u = hull_cgroups::systemd::Unit::parse(&parent_path(&pod)).unwrap();
        assert_eq!(
            u.cgroup_path(),
            std::path::Path::new("machine.slice/machine-hull_pod_p1.slice")
        );
    }

    #[test]
    fn settle_checks_the_parent_against_the_manager() {
        let mut cfg = RunConfig::default();
        Settings {
            parent: "/x/y".into(),
            ..Default::default()
        }
        .store(&mut cfg);
        let e = settle(&mut cfg.clone(), CgroupManager::Systemd, None).unwrap_err();
        assert!(e.contains("--cgroup-parent \"/x/y\""), "{e}");
        settle(&mut cfg, CgroupManager::Cgroupfs, None).unwrap();
        let s = Settings::of(&cfg).unwrap();
        assert_eq!(s.manager, Some(CgroupManager::Cgroupfs));
        assert!(s.ns.is_some());
        let stored: Settings = serde_json::from_value(serde_json::json!({"ns": "host"})).unwrap();
        assert_eq!(stored.ns, Some(CgroupNs::Host));
        assert_eq!(
            serde_json::to_value(&s).unwrap()["ns"],
            s.ns.unwrap().as_str()
        );

        let mut cfg = RunConfig::default();
        Settings {
            parent: "a--b.slice".into(),
            ..Default::default()
        }
        .store(&mut cfg);
        assert!(settle(&mut cfg, CgroupManager::Systemd, None).is_err());

        // A pod's member: the pod's parent and manager, whatever the engine's is.
        let mut cfg = RunConfig::default();
        settle(
            &mut cfg,
            CgroupManager::Cgroupfs,
            Some("machine-hull_pod_p.slice"),
        )
        .unwrap();
        assert_eq!(
            Settings::of(&cfg).unwrap().manager,
            Some(CgroupManager::Systemd)
        );
        let mut cfg = RunConfig::default();
        Settings {
            parent: "/x".into(),
            ..Default::default()
        }
        .store(&mut cfg);
        assert!(settle(&mut cfg, CgroupManager::Cgroupfs, Some("/hull/pod-p")).is_err());
    }
}
