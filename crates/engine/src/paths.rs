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
}
