//! Where hull keeps things: persistent state under `root` (/var/lib/hull), things that die
//! with a reboot under `runroot` (/run/hull).

use std::path::PathBuf;

/// The two directories every hull command works in.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Persistent state: the database, image blobs and layers, volumes, container layers.
    pub root: PathBuf,
    /// Runtime state: bundles, monitor sockets, the OCI runtime's own state dir.
    pub runroot: PathBuf,
}

impl Paths {
    pub fn new(root: PathBuf, runroot: PathBuf) -> Self {
        Paths { root, runroot }
    }

    /// The state database, shared by the engine's and the image store's tables.
    pub fn db(&self) -> PathBuf {
        self.root.join("hull.db")
    }

    /// <root>/containers/<id>: overlay upper and work dirs, logs, hostname, hosts, resolv.conf.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    /// <runroot>/containers/<id>: the bundle (config.json, rootfs mount point), the monitor's
    /// pid file, exit file and attach socket.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.runroot.join("containers").join(id)
    }

    /// The bundle's rootfs: the merged overlay mount.
    pub fn rootfs(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("rootfs")
    }

    /// docker's json-file log.
    pub fn log_file(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }

    /// Written by the monitor when the container's init exits: its exit code.
    pub fn exit_file(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("exit")
    }

    /// Written by the monitor when the kernel OOM-killed in the container's cgroup v2 while
    /// it ran (crates/monitor-bin/src/oom.rs).
    pub fn oom_file(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("oom")
    }

    /// The monitor's unix socket for attach, logs -f, wait and stop.
    pub fn attach_socket(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("attach")
    }

    /// The OCI runtime's --root.
    pub fn runtime_root(&self) -> PathBuf {
        self.runroot.join("runtime")
    }

    /// Named volumes: <root>/volumes/<name>/_data.
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        self.root.join("volumes").join(name)
    }
}

/// Directory modes of the store (see hull_image::perms for why): crossable by a remapped
/// container's root where its init must reach a bind source or its rootfs, private where
/// only hull and the kernel (overlay uses the mounter's credentials) go.
const DIR_MODES: &[(&str, &str, u32)] = &[
    ("root", "", 0o711),
    ("root", "containers", 0o711),
    ("root", "volumes", 0o711),
    ("root", "layers", 0o700),
    ("root", "blobs", 0o700),
    ("runroot", "", 0o711),
    ("runroot", "containers", 0o711),
    ("runroot", "pods", 0o711),
    ("runroot", "runtime", 0o700),
];

impl Paths {
    /// Creates the store's directories with their modes. When one had another mode (a store
    /// made by an older hull), every container's directories and bundle are fixed as well.
    pub fn secure(&self) -> std::io::Result<()> {
        let mut fixed = false;
        for (base, sub, mode) in DIR_MODES {
            let base = if *base == "root" {
                &self.root
            } else {
                &self.runroot
            };
            let dir = if sub.is_empty() {
                base.clone()
            } else {
                base.join(sub)
            };
            fixed |= hull_image::perms::ensure_dir(&dir, *mode)?;
        }
        if fixed {
            for dir in ["containers", "pods"].map(|d| self.runroot.join(d)) {
                for e in std::fs::read_dir(&dir)?.flatten() {
                    let gid = std::os::unix::fs::MetadataExt::gid(&e.metadata()?);
                    private_dir(&e.path(), (gid != 0).then_some(gid))?;
                    for f in std::fs::read_dir(e.path())?.flatten() {
                        if f.file_name().to_string_lossy().ends_with(".json") {
                            hull_image::perms::fix_file(&f.path(), 0o600)?;
                        }
                    }
                }
            }
            for e in std::fs::read_dir(self.root.join("containers"))?.flatten() {
                let gid = std::os::unix::fs::MetadataExt::gid(&e.metadata()?);
                private_dir(&e.path(), (gid != 0).then_some(gid))?;
            }
        }
        Ok(())
    }
}

/// A container's own directory (its layer, logs and bind sources; its bundle): 0700, or
/// with a remapped root 0710 and that root's group, so it alone may cross it (as docker
/// does for userns-remap).
pub fn private_dir(dir: &std::path::Path, mapped_gid: Option<u32>) -> std::io::Result<()> {
    let mode = if let Some(gid) = mapped_gid {
        hull_image::perms::ensure_dir(dir, 0o710)?;
        std::os::unix::fs::chown(dir, Some(0), Some(gid))?;
        0o710
    } else {
        0o700
    };
    hull_image::perms::ensure_dir(dir, mode).map(drop)
}
