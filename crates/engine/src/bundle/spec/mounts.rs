//! Mounts: docker's defaults (/proc, /dev, /dev/pts, /dev/shm of 64m, /dev/mqueue, /sys,
//! the cgroup tree read-only), the container's /etc/hostname, /etc/hosts and
//! /etc/resolv.conf, then binds, named volumes and tmpfs from -v/--mount/--tmpfs, and
//! /dev/init for --init.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder, Spec};

use super::{linux_mut, Ctx, Result, SpecError};
use crate::container::config::{MountKind, NsMode, Propagation};

/// A mount entry of config.json.
fn mount(destination: &str, typ: &str, source: impl Into<PathBuf>, options: &[&str]) -> Mount {
    owned(
        destination,
        typ,
        source,
        options.iter().map(|o| o.to_string()).collect(),
    )
}

fn owned(destination: &str, typ: &str, source: impl Into<PathBuf>, options: Vec<String>) -> Mount {
    MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source.into())
        .options(options)
        .build()
        .expect("a mount with a destination is complete")
}

fn default_mounts(privileged: bool) -> Vec<Mount> {
    let ro = if privileged { "rw" } else { "ro" };
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", ro]),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", ro],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        ),
    ]
}

fn at(m: &Mount, dst: &str) -> bool {
    m.destination() == Path::new(dst)
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<()> {
    let cfg = &ctx.c.config;
    let dir = ctx.paths.container_dir(&ctx.c.id);
    let mut mounts = default_mounts(cfg.privileged);
    if cfg.ipc_mode.is_host() {
        // The host's ipc namespace: its /dev/shm and mqueue too.
        mounts.retain(|m| !at(m, "/dev/shm") && !at(m, "/dev/mqueue"));
        mounts.push(mount("/dev/shm", "bind", "/dev/shm", &["rbind", "rw"]));
    }
    // /dev/shm: a private ipc namespace's (docker's default) is a tmpfs of --shm-size made
    // in the container's own mount namespace; `shareable`'s is the host-side tmpfs of this
    // container (crate::bundle::shm; start mounted it just before the spec is made), bound
    // in, and `container:NAME` binds the one of the container it joins, which must be
    // shareable (or the host's, or a pod's), so both see the same POSIX shared memory.
    if cfg.ipc_mode.is_own() && !crate::bundle::shm::on_host(cfg) {
        for m in mounts.iter_mut().filter(|m| at(m, "/dev/shm")) {
            let size = format!("size={}", cfg.tuning.shm_size());
            *m = mount(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", &size],
            );
        }
    }
    let shm_src = if crate::bundle::shm::on_host(cfg) {
        Some(crate::bundle::shm::path(ctx.paths, &ctx.c.id))
    } else if let Some(pod) = cfg.ipc_mode.pod() {
        Some(crate::bundle::shm::pod_path(ctx.paths, pod))
            .filter(|p| crate::bundle::rootfs::is_mounted(p))
    } else if let Some(name) = cfg.ipc_mode.container() {
        let other = crate::container::lookup(ctx.conn, name)?;
        match &other.config.ipc_mode {
            NsMode::Shareable => Some(crate::bundle::shm::path(ctx.paths, &other.id)),
            NsMode::Host => Some("/dev/shm".into()),
            NsMode::Pod(pod) => Some(crate::bundle::shm::pod_path(ctx.paths, pod)),
            _ => {
                return Err(SpecError::Invalid(format!(
                    "can't join IPC of container {name}: non-shareable IPC (hint: use \
                     IpcMode:shareable for the donor container)"
                )))
            }
        }
        .filter(|p| crate::bundle::rootfs::is_mounted(p))
    } else {
        None
    };
    if let Some(src) = shm_src {
        mounts.retain(|m| !at(m, "/dev/shm"));
        mounts.push(mount(
            "/dev/shm",
            "bind",
            src,
            &["rbind", "nosuid", "noexec", "nodev"],
        ));
    }
    // sysfs needs a network namespace of our own, owned by the container's user namespace:
    // bind the host's /sys instead on the host's network, or when a remapped container joins
    // another's or a pod's. A remapped container's own namespace is made by the runtime in
    // its user namespace.
    if cfg.network_mode.is_host() || (cfg.userns_is_mapped() && cfg.network_mode.joins()) {
        for m in mounts.iter_mut().filter(|m| at(m, "/sys")) {
            *m = mount(
                "/sys",
                "bind",
                "/sys",
                &["rbind", "nosuid", "noexec", "nodev", "ro"],
            );
        }
    }
    let etc_ro = if cfg.read_only { "ro" } else { "rw" };
    for f in ["hostname", "hosts", "resolv.conf"] {
        let src = dir.join(f);
        if src.exists() {
            mounts.push(mount(
                &format!("/etc/{f}"),
                "bind",
                src,
                &["rbind", "rprivate", etc_ro],
            ));
        }
    }
    for m in &cfg.mounts {
        let mut options: Vec<String> = Vec::new();
        let entry = match m.kind {
            MountKind::Tmpfs => {
                // docker's defaults for --tmpfs and --mount type=tmpfs: noexec, nosuid,
                // nodev, each lifted by its opposite (exec, suid, dev) among the options.
                for (default, lifted) in [("nosuid", "suid"), ("nodev", "dev"), ("noexec", "exec")]
                {
                    if !m.options.iter().any(|o| o == lifted) {
                        options.push(default.into());
                    }
                }
                if !m.options.iter().any(|o| o.starts_with("mode=")) {
                    options.push("mode=1777".into());
                }
                options.extend(m.options.iter().cloned());
                if m.read_only {
                    options.push("ro".into());
                }
                owned(&m.target, "tmpfs", "tmpfs", options)
            }
            kind => {
                let source = if kind == MountKind::Volume {
                    ctx.paths.volume_dir(&m.source).join("_data")
                } else {
                    PathBuf::from(&m.source)
                };
                options.push("rbind".into());
                options.push(if m.read_only { "ro" } else { "rw" }.into());
                options.push(
                    m.propagation
                        .unwrap_or(Propagation::Rprivate)
                        .as_str()
                        .into(),
                );
                owned(&m.target, "bind", source, options)
            }
        };
        mounts.push(entry);
    }
    if let Some(init) = ctx.init.as_ref().filter(|_| cfg.init) {
        mounts.push(mount(
            "/dev/init",
            "bind",
            init,
            &["bind", "ro", "nosuid", "nodev"],
        ));
    }
    spec.mounts_mut()
        .get_or_insert_with(Vec::new)
        .extend(mounts);
    let needs_shared = cfg
        .mounts
        .iter()
        .any(|m| m.propagation.is_some_and(Propagation::needs_shared_root));
    if needs_shared {
        linux_mut(spec).set_rootfs_propagation(Some("rslave".into()));
    }
    Ok(())
}
