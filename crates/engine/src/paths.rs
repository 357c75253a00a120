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
