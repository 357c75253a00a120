//! The tree `cp` works in: a running container's through /proc/PID/root, a stopped one's
//! overlay mounted for the copy.

use std::path::{Path, PathBuf};

use super::ContainerFs;
use crate::bundle::rootfs;
use crate::container::Container;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::image;

/// The host uid and gid of the container's root: from its user namespace's maps while it
/// runs, else from --uidmap/--gidmap, else 0.
pub fn root_ids(c: &Container) -> (u32, u32) {
    let from_map = |text: &str| {
        text.lines().find_map(|l| {
            let f: Vec<u32> = l
                .split(|ch: char| ch.is_whitespace() || ch == ':')
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            (f.len() == 3 && f[0] == 0).then_some(f[1])
        })
    };
    if c.status.is_live() && c.pid > 0 {
        let read = |f: &str| std::fs::read_to_string(format!("/proc/{}/{f}", c.pid)).ok();
        let uid = read("uid_map").and_then(|t| from_map(&t)).unwrap_or(0);
        let gid = read("gid_map").and_then(|t| from_map(&t)).unwrap_or(0);
        return (uid, gid);
    }
    let root = |maps: &[crate::container::config::IdMap]| {
        maps.iter().find_map(|m| m.to_host(0)).unwrap_or(0)
    };
    (root(&c.config.uidmap), root(&c.config.gidmap))
}

impl Engine {
    /// [`Self::with_container_tree`] for a copy out of container `c`: docker's
    /// `archive-path` event when it succeeds.
    pub fn copy_out_of<T>(
        &self,
        c: &Container,
        f: impl FnOnce(&ContainerFs) -> Result<T>,
    ) -> Result<T> {
        self.copy_with_event(c, "archive-path", f)
    }

    /// [`Self::with_container_tree`] for a copy into container `c`: docker's
    /// `extract-to-dir` event when it succeeds.
    pub fn copy_into<T>(
        &self,
        c: &Container,
        f: impl FnOnce(&ContainerFs) -> Result<T>,
    ) -> Result<T> {
        self.copy_with_event(c, "extract-to-dir", f)
    }

    fn copy_with_event<T>(
        &self,
        c: &Container,
        action: &str,
        f: impl FnOnce(&ContainerFs) -> Result<T>,
    ) -> Result<T> {
        let v = self.with_container_tree(c, f)?;
        crate::events::container(&self.paths, c, action, &[]);
        Ok(v)
    }

    /// Runs `f` on the tree of container `c`: a running one's through /proc/PID/root, a
    /// stopped one's overlay (mounted for this call when it is not mounted, with its volumes
    /// and binds where it sees them).
    pub fn with_container_tree<T>(
        &self,
        c: &Container,
        f: impl FnOnce(&ContainerFs) -> Result<T>,
    ) -> Result<T> {
        if c.status.is_live() && c.pid > 0 {
            let fs = ContainerFs::open(Path::new(&format!("/proc/{}/root", c.pid)))?;
            return f(&fs);
        }
        let merged = self.paths.rootfs(&c.id);
        if rootfs::is_mounted(&merged) {
            return f(&ContainerFs::open(&merged)?);
        }
        // Stopped: the overlay of the image's layers and the container's upper dir, mounted at a
        // private place for this copy only.
        let img = image::resolve(&self.paths, &c.image_id)?;
        let target: PathBuf =
            self.paths
                .runroot
                .join("cp")
                .join(format!("{}-{}", c.short_id(), std::process::id()));
        rootfs::mount_overlay(
            &img.layers,
            &self.paths.container_dir(&c.id),
            &target,
            false,
        )?;
        let res = ContainerFs::open(&target)
            .map_err(Error::from)
            .and_then(|fs| {
                // The container's volumes and binds, where it sees them.
                for m in &c.config.mounts {
                    let source = match m.kind.as_str() {
                        "volume" => self.paths.volume_dir(&m.source).join("_data"),
                        "bind" => PathBuf::from(&m.source),
                        _ => continue,
                    };
                    fs.bind_inside(&source, &m.target, m.read_only)?;
                }
                f(&fs)
            });
        // Lazy and recursive: the binds go with the overlay.
        rootfs::unmount(&target);
        let _ = std::fs::remove_dir(&target);
        res
    }
}
