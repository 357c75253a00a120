//! Mounts: docker's defaults (/proc, /dev, /dev/pts, /dev/shm of 64m, /dev/mqueue, /sys,
//! the cgroup tree read-only), the container's /etc/hostname, /etc/hosts and
//! /etc/resolv.conf, then binds, named volumes and tmpfs from -v/--mount/--tmpfs, and
//! /dev/init for --init.

use serde_json::{json, Value};

use super::{push, Ctx, Result};

fn default_mounts(privileged: bool) -> Vec<Value> {
    let ro = if privileged { "rw" } else { "ro" };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", ro]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", ro]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}),
    ]
}

pub fn apply(ctx: &Ctx<'_>, spec: &mut Value) -> Result<()> {
    let cfg = &ctx.c.config;
    let dir = ctx.paths.container_dir(&ctx.c.id);
    let mut mounts = default_mounts(cfg.privileged);
    if cfg.ipc_mode == "host" {
        // The host's ipc namespace: its /dev/shm and mqueue too.
        mounts.retain(|m| m["destination"] != "/dev/shm" && m["destination"] != "/dev/mqueue");
        mounts.push(
            json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm",
                           "options": ["rbind", "rw"]}),
        );
    }
    // /dev/shm: the host-side tmpfs of this container (crate::bundle::shm; start mounted it just
    // before the spec is made), or of the container whose ipc namespace it joins (checked), so
    // both see the same POSIX shared memory.
    let shm_src = if crate::bundle::shm::owns_ipc(cfg) {
        Some(crate::bundle::shm::path(ctx.paths, &ctx.c.id))
    } else if let Some(pod) = cfg.ipc_mode.strip_prefix("pod:") {
        Some(crate::bundle::shm::pod_path(ctx.paths, pod))
            .filter(|p| crate::bundle::rootfs::is_mounted(p))
    } else {
        cfg.ipc_mode
            .strip_prefix("container:")
            .and_then(|name| crate::container::lookup(ctx.conn, name).ok())
            .map(|other| crate::bundle::shm::path(ctx.paths, &other.id))
            .filter(|p| crate::bundle::rootfs::is_mounted(p))
    };
    if let Some(src) = shm_src {
        mounts.retain(|m| m["destination"] != "/dev/shm");
        mounts.push(
            json!({"destination": "/dev/shm", "type": "bind", "source": src,
                           "options": ["rbind", "nosuid", "noexec", "nodev"]}),
        );
    }
    // sysfs needs a network namespace of our own, owned by the container's user namespace:
    // bind the host's /sys instead on the host's network, or when a remapped container joins
    // another's or a pod's. A remapped container's own namespace is made by the runtime in
    // its user namespace.
    let joins_netns =
        cfg.network_mode.starts_with("container:") || cfg.network_mode.starts_with("pod:");
    if cfg.network_mode == "host" || (cfg.userns_is_mapped() && joins_netns) {
        for m in mounts.iter_mut().filter(|m| m["destination"] == "/sys") {
            *m = json!({"destination": "/sys", "type": "bind", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
    let etc_ro = if cfg.read_only { "ro" } else { "rw" };
    for f in ["hostname", "hosts", "resolv.conf"] {
        let src = dir.join(f);
        if src.exists() {
            mounts.push(json!({"destination": format!("/etc/{f}"), "type": "bind",
                               "source": src, "options": ["rbind", "rprivate", etc_ro]}));
        }
    }
    for m in &cfg.mounts {
        let mut options: Vec<String> = Vec::new();
        let entry = match m.kind.as_str() {
            "tmpfs" => {
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
                json!({"destination": m.target, "type": "tmpfs", "source": "tmpfs", "options": options})
            }
            kind => {
                let source = if kind == "volume" {
                    ctx.paths.volume_dir(&m.source).join("_data")
                } else {
                    std::path::PathBuf::from(&m.source)
                };
                options.push("rbind".into());
                options.push(if m.read_only { "ro" } else { "rw" }.into());
                options.push(m.propagation.clone().unwrap_or_else(|| "rprivate".into()));
                json!({"destination": m.target, "type": "bind", "source": source, "options": options})
            }
        };
        mounts.push(entry);
    }
    if let Some(init) = ctx.init.as_ref().filter(|_| cfg.init) {
        mounts.push(
            json!({"destination": "/dev/init", "type": "bind", "source": init,
                           "options": ["bind", "ro", "nosuid", "nodev"]}),
        );
    }
    for m in mounts {
        push(spec, "mounts", m);
    }
    let needs_shared = cfg.mounts.iter().any(|m| {
        matches!(
            m.propagation.as_deref(),
            Some("shared" | "rshared" | "slave" | "rslave")
        )
    });
    if needs_shared {
        spec["linux"]["rootfsPropagation"] = json!("rslave");
    }
    Ok(())
}
