//! The pod's infra: hull-pause run by the OCI runtime in a rootfs that holds nothing but
//! itself (bind-mounted read-only), holding the pod's uts, ipc and pid namespaces; the pod's
//! network namespace, pinned at <runroot>/netns/<pod id>; and the pod's cgroup parent
//! `/hull/pod-<id>` with the pod-level limits, under which every container's cgroup lives.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use oci_spec::runtime::{
    Linux, LinuxCapabilities, LinuxCpu, LinuxMemory, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxResources, MountBuilder, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};

use super::store::Pod;
use crate::engine::{find_binary, Engine};
use crate::network::endpoint;
use crate::Paths;

#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    #[error("pod {pod}: {path}: {source}")]
    Io {
        pod: String,
        path: String,
        source: std::io::Error,
    },
    #[error("pod {pod}: infra: {msg}")]
    Runtime { pod: String, msg: String },
    #[error("pod {pod}: cgroup {path}: {msg}")]
    Cgroup {
        pod: String,
        path: String,
        msg: String,
    },
    #[error("pod {pod}: network: {msg}")]
    Network { pod: String, msg: String },
}

/// <runroot>/pods/<id>: the infra's bundle (config.json, rootfs/), its pid file and log.
pub fn dir(paths: &Paths, id: &str) -> PathBuf {
    paths.runroot.join("pods").join(id)
}

/// <root>/pods/<id>/volumes/<name>: a pod's emptyDir volumes.
pub fn volume_dir(eng: &Engine, id: &str, name: &str) -> PathBuf {
    eng.paths
        .root
        .join("pods")
        .join(id)
        .join("volumes")
        .join(name)
}

/// The cgroup parent of a new pod: a slice under systemd, a path under cgroupfs.
pub fn cgroup_parent(eng: &Engine, id: &str) -> String {
    crate::container::cgroup::pod_parent(eng.cgroup_manager(), id)
}

/// The pod's cgroup parent as recorded (pods made before it was recorded: the path), under
/// which its infra and its containers live.
pub fn parent(p: &Pod) -> String {
    if p.cgroup_parent.is_empty() {
        crate::container::cgroup::pod_parent(
            crate::container::cgroup::CgroupManager::Cgroupfs,
            &p.id,
        )
    } else {
        p.cgroup_parent.clone()
    }
}

/// The infra's cgroupsPath: `PARENT/infra`, or its own scope in the pod's slice.
fn infra_cgroups_path(p: &Pod) -> String {
    let parent = parent(p);
    match crate::container::cgroup::manager_of_parent(&parent) {
        crate::container::cgroup::CgroupManager::Systemd => {
            crate::container::cgroup::child_path(&parent, &p.id)
        }
        crate::container::cgroup::CgroupManager::Cgroupfs => {
            crate::container::cgroup::child_path(&parent, "infra")
        }
    }
}

/// The pod's pinned network namespace.
pub fn netns(eng: &Engine, id: &str) -> PathBuf {
    endpoint::netns_path(&eng.paths, id)
}

/// The infra's runtime id (the pod's id: no container has it).
pub fn runtime_id(p: &Pod) -> &str {
    &p.id
}

/// The infra's pid if it is alive and is hull-pause (not a recycled pid), else None.
pub fn pid(paths: &Paths, pod_id: &str) -> Option<i32> {
    let text = std::fs::read_to_string(dir(paths, pod_id).join("infra.pid")).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "hull-pause" && crate::container::process_alive(pid)).then_some(pid)
}

fn io(p: &Pod, path: &Path) -> impl FnOnce(std::io::Error) -> InfraError {
    let (pod, path) = (p.name.clone(), path.display().to_string());
    move |source| InfraError::Io { pod, path, source }
}

fn cgroup_err(p: &Pod, e: impl std::fmt::Display) -> InfraError {
    InfraError::Cgroup {
        pod: p.name.clone(),
        path: parent(p),
        msg: e.to_string(),
    }
}

/// Creates the cgroup parent and writes the pod-level limits into it.
pub fn make_cgroup(p: &Pod) -> Result<(), InfraError> {
    let path = crate::container::cgroup::parent_path(&parent(p));
    let m = crate::container::cgroup::manager(&path, &p.id).map_err(|e| cgroup_err(p, e))?;
    m.create().map_err(|e| cgroup_err(p, e))?;
    let mut res = LinuxResources::default();
    if p.plan.memory > 0 {
        let mut mem = LinuxMemory::default();
        mem.set_limit(Some(p.plan.memory));
        res.set_memory(Some(mem));
    }
    if p.plan.nano_cpus > 0 {
        let mut cpu = LinuxCpu::default();
        cpu.set_period(Some(100_000));
        cpu.set_quota(Some(p.plan.nano_cpus / 10_000));
        res.set_cpu(Some(cpu));
    }
    m.apply(&res).map_err(|e| cgroup_err(p, e))
}

/// Kills whatever is left in the cgroup parent and removes it.
pub fn remove_cgroup(p: &Pod) -> Result<(), InfraError> {
    let path = crate::container::cgroup::parent_path(&parent(p));
    let m = crate::container::cgroup::manager(&path, &p.id).map_err(|e| cgroup_err(p, e))?;
    m.destroy().map_err(|e| cgroup_err(p, e))
}

/// Pins the pod's network namespace and connects it (default network unless `none`/`host`);
/// the loopback is up in every case.
///
/// A remapped pod's namespace is the infra's own, created in its user namespace (one owned
/// by the host's could not be joined from there): it is pinned and wired by [`start`]
/// between the runtime's create and start.
pub fn make_network(eng: &Engine, p: &Pod) -> Result<(), InfraError> {
    if p.plan.host_network || !p.share.net || p.plan.is_mapped() {
        return Ok(());
    }
    let ns = endpoint::pin(&eng.paths, &p.id).map_err(|e| net_err(p, &e))?;
    wire(eng, p, &ns)
}

fn net_err(p: &Pod, e: &dyn std::fmt::Display) -> InfraError {
    InfraError::Network {
        pod: p.name.clone(),
        msg: e.to_string(),
    }
}

/// Pins the created infra's own network namespace (a remapped pod) and wires it.
fn make_mapped_network(eng: &Engine, p: &Pod, pid: i32) -> Result<(), InfraError> {
    let _ = remove_network(eng, p);
    let ns =
        hull_net::netns::pin_pid(&eng.paths.runroot, &p.id, pid).map_err(|e| net_err(p, &e))?;
    wire(eng, p, &ns)
}

/// Connects the pod's pinned namespace `ns`; the loopback is up in every case.
fn wire(eng: &Engine, p: &Pod, ns: &Path) -> Result<(), InfraError> {
    let err = |e: &dyn std::fmt::Display| net_err(p, e);
    if p.plan.network == "none" {
        let mut nl = hull_net::netlink::Netlink::in_netns(ns).map_err(|e| err(&e))?;
        let lo = nl.index("lo").map_err(|e| err(&e))?;
        return nl.set_up(lo, true).map_err(|e| err(&e));
    }
    let req = endpoint::NetRequest {
        networks: if p.plan.network.is_empty() {
            Vec::new()
        } else {
            vec![p.plan.network.clone()]
        },
        publish: p
            .plan
            .ports
            .iter()
            .map(|port| {
                let ip = if port.host_ip.is_empty() {
                    String::new()
                } else {
                    format!("{}:", port.host_ip)
                };
                format!(
                    "{ip}{}:{}/{}",
                    port.host_port, port.container_port, port.protocol
                )
            })
            .collect(),
        hostname: p.hostname.clone(),
        ..Default::default()
    };
    let paths = eng.paths.clone();
    endpoint::connect(&eng.conn, &paths, &p.id, &p.name, &req)
        .map(|_| ())
        .map_err(|e| err(&e))
}

/// Unpublishes, disconnects and unpins the pod's network; every failure is returned.
pub fn remove_network(eng: &Engine, p: &Pod) -> Vec<String> {
    if p.plan.host_network || !p.share.net {
        return Vec::new();
    }
    let paths = eng.paths.clone();
    endpoint::teardown(&eng.conn, &paths, &p.id)
        .into_iter()
        .filter(|e| netns(eng, &p.id).exists() || !e.contains("No such file"))
        .collect()
}

/// Before the infra starts again: what a reboot takes away (the pinned network namespace
/// under /run, tmpfs volumes) is made again; the stale leases and rules go first.
pub fn restore(eng: &Engine, p: &Pod) -> Result<(), InfraError> {
    if !p.plan.host_network && p.share.net && !netns(eng, &p.id).exists() {
        let _ = remove_network(eng, p);
        make_network(eng, p)?;
    }
    make_volumes(eng, p)
}

/// Whether `d` is a mount point (its device differs from its parent's).
fn is_mount_point(d: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(d), d.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// The infra's OCI config: hull-pause alone, no capabilities, nothing masked.
fn spec(eng: &Engine, p: &Pod, rootfs: &Path, pause: &Path) -> Result<Spec, InfraError> {
    use LinuxNamespaceType as T;
    let bad = |e: oci_spec::OciSpecError| InfraError::Runtime {
        pod: p.name.clone(),
        msg: format!("config.json: {e}"),
    };
    let ns = |typ: T, path: Option<PathBuf>| {
        let mut b = LinuxNamespaceBuilder::default().typ(typ);
        if let Some(path) = path {
            b = b.path(path);
        }
        b.build()
    };
    let mut namespaces = vec![
        ns(T::Pid, None),
        ns(T::Ipc, None),
        ns(T::Uts, None),
        ns(T::Mount, None),
    ];
    let mapped = p.plan.is_mapped();
    if !p.plan.host_network {
        let path = (p.share.net && !mapped).then(|| netns(eng, &p.id));
        namespaces.push(ns(T::Network, path));
    }
    if mapped {
        namespaces.push(ns(T::User, None));
    }
    let namespaces = namespaces
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    // Every field the defaults of Process, Linux and Spec fill is set (bundle::spec's doc).
    let mut process = ProcessBuilder::default()
        .terminal(false)
        .user(
            UserBuilder::default()
                .uid(0u32)
                .gid(0u32)
                .build()
                .map_err(bad)?,
        )
        .args(vec!["/hull-pause".to_string()])
        .env(Vec::<String>::new())
        .cwd("/")
        .no_new_privileges(true)
        .build()
        .map_err(bad)?;
    process.set_rlimits(None);
    // No capability at all: every set left out.
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(None);
    caps.set_effective(None);
    caps.set_inheritable(None);
    caps.set_permitted(None);
    caps.set_ambient(None);
    process.set_capabilities(Some(caps));
    let mut linux = Linux::default();
    linux.set_cgroups_path(Some(infra_cgroups_path(p).into()));
    linux.set_namespaces(Some(namespaces));
    linux.set_resources(Some(LinuxResources::default()));
    linux.set_masked_paths(Some(Vec::new()));
    linux.set_readonly_paths(Some(Vec::new()));
    if mapped {
        let (uids, gids) = p.plan.id_maps().unwrap_or_default();
        let list = |m: Vec<super::plan::IdMap>| {
            super::plan::IdMap::to_oci(&m).map_err(|e| InfraError::Runtime {
                pod: p.name.clone(),
                msg: format!("config.json: {e}"),
            })
        };
        linux.set_uid_mappings(Some(list(uids)?));
        linux.set_gid_mappings(Some(list(gids)?));
    }
    let mount = MountBuilder::default()
        .destination("/hull-pause")
        .typ("bind")
        .source(pause)
        .options(["bind", "ro", "nosuid", "nodev"].map(String::from).to_vec())
        .build()
        .map_err(bad)?;
    let root = RootBuilder::default()
        .path(rootfs)
        .readonly(true)
        .build()
        .map_err(bad)?;
    let mut spec = Spec::default();
    spec.set_version("1.0.2".into());
    spec.set_root(Some(root));
    spec.set_hostname(Some(p.hostname.clone()));
    spec.set_mounts(Some(vec![mount]));
    spec.set_process(Some(process));
    spec.set_linux(Some(linux));
    spec.set_annotations(Some(
        [("org.hull.pod.name".to_string(), p.name.clone())].into(),
    ));
    Ok(spec)
}

/// Starts the infra (a stale runtime state of a dead one is deleted first).
pub fn start(eng: &Engine, p: &Pod) -> Result<i32, InfraError> {
    let pause = find_binary("hull-pause").map_err(|e| InfraError::Runtime {
        pod: p.name.clone(),
        msg: e.to_string(),
    })?;
    let d = dir(&eng.paths, &p.id);
    let rootfs = d.join("rootfs");
    std::fs::create_dir_all(&rootfs).map_err(io(p, &rootfs))?;
    let target = rootfs.join("hull-pause");
    if !target.exists() {
        std::fs::write(&target, "").map_err(io(p, &target))?;
    }
    if p.share.ipc {
        crate::bundle::shm::mount_at(
            &crate::bundle::shm::pod_path(&eng.paths, &p.id),
            crate::container::tuning::DEFAULT_SHM,
        )
        .map_err(|e| InfraError::Runtime {
            pod: p.name.clone(),
            msg: e.to_string(),
        })?;
    }
    let config = d.join("config.json");
    let doc = spec(eng, p, &rootfs, &pause)?;
    hull_image::perms::write_private(&config, &serde_json::to_vec(&doc).expect("spec serializes"))
        .map_err(io(p, &config))?;
    eng.oci.delete_force(runtime_id(p));
    let pidfile = d.join("infra.pid");
    let _ = std::fs::remove_file(&pidfile);
    let log = d.join("infra.log");
    let logf = std::fs::File::create(&log).map_err(io(p, &log))?;
    let rt = |verb: &str, extra: &[&std::ffi::OsStr]| -> Result<(), InfraError> {
        let status = crate::ocirt::driver::command(eng)
            .arg(verb)
            .args(extra)
            .arg(runtime_id(p))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf.try_clone().map_err(io(p, &log))?)
            .status()
            .map_err(io(p, &eng.runtime))?;
        if status.success() {
            return Ok(());
        }
        let msg = std::fs::read_to_string(&log).unwrap_or_default();
        Err(InfraError::Runtime {
            pod: p.name.clone(),
            msg: format!("{verb}: {}", msg.trim()),
        })
    };
    rt(
        "create",
        &[
            "--bundle".as_ref(),
            d.as_os_str(),
            "--pid-file".as_ref(),
            pidfile.as_os_str(),
        ],
    )?;
    if p.plan.is_mapped() && p.share.net && !p.plan.host_network {
        let created = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        let wired = match created {
            Some(pid) => make_mapped_network(eng, p, pid),
            None => Err(InfraError::Runtime {
                pod: p.name.clone(),
                msg: format!("no pid in {}", pidfile.display()),
            }),
        };
        if let Err(e) = wired {
            eng.oci.delete_force(runtime_id(p));
            let _ = remove_network(eng, p);
            return Err(e);
        }
    }
    hull_sys::fault_point("hull-pod-infra-created");
    if let Err(e) = rt("start", &[]) {
        eng.oci.delete_force(runtime_id(p));
        return Err(e);
    }
    // `start` returns once the runtime has let init go; the exec of hull-pause follows. Wait
    // for it, so a container joining right after sees a live infra.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(pid) = pid(&eng.paths, &p.id) {
            return Ok(pid);
        }
        if std::time::Instant::now() > end {
            eng.oci.delete_force(runtime_id(p));
            return Err(InfraError::Runtime {
                pod: p.name.clone(),
                msg: "hull-pause did not start".into(),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Stops the infra (TERM, then KILL) and deletes its runtime state.
pub fn stop(eng: &Engine, p: &Pod) {
    if let Some(pid) = pid(&eng.paths, &p.id) {
        let _ = eng.oci.kill(runtime_id(p), 15);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while crate::container::process_alive(pid) && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    eng.oci.delete_force(runtime_id(p));
    let _ = std::fs::remove_file(dir(&eng.paths, &p.id).join("infra.pid"));
    crate::bundle::shm::unmount_at(&crate::bundle::shm::pod_path(&eng.paths, &p.id));
}

/// Sends a signal to the infra (pause/kill of the pod).
pub fn signal(eng: &Engine, p: &Pod, sig: i32) {
    if pid(&eng.paths, &p.id).is_some() {
        let _ = eng.oci.kill(runtime_id(p), sig);
    }
}

/// Runs the runtime's pause/resume on the infra.
pub fn freeze(eng: &Engine, p: &Pod, on: bool) {
    if pid(&eng.paths, &p.id).is_some() {
        let _ = match on {
            true => eng.oci.pause(runtime_id(p)),
            false => eng.oci.resume(runtime_id(p)),
        };
    }
}

/// Makes the pod's emptyDir volumes (a tmpfs for medium Memory).
pub fn make_volumes(eng: &Engine, p: &Pod) -> Result<(), InfraError> {
    for v in &p.plan.volumes {
        if let super::plan::VolumeSource::EmptyDir { memory, size_limit } = &v.source {
            let d = volume_dir(eng, &p.id, &v.name);
            std::fs::create_dir_all(&d).map_err(io(p, &d))?;
            // A remapped pod's root owns its volumes (on the host: the id it maps to).
            if let Some((uid, gid)) = p.plan.mapped_root().filter(|_| !*memory) {
                std::os::unix::fs::chown(&d, Some(uid), Some(gid)).map_err(io(p, &d))?;
            }
            if *memory && !is_mount_point(&d) {
                let mut opts = String::from("mode=1777");
                if *size_limit > 0 {
                    opts.push_str(&format!(",size={size_limit}"));
                }
                nix::mount::mount(
                    Some("tmpfs"),
                    &d,
                    Some("tmpfs"),
                    nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
                    Some(opts.as_str()),
                )
                .map_err(|e| io(p, &d)(e.into()))?;
            }
        }
    }
    Ok(())
}

/// Unmounts and removes the pod's emptyDir volumes.
pub fn remove_volumes(eng: &Engine, p: &Pod) {
    for v in &p.plan.volumes {
        let d = volume_dir(eng, &p.id, &v.name);
        let _ = nix::mount::umount2(&d, nix::mount::MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir_all(eng.paths.root.join("pods").join(&p.id));
}
