//! The /dev/shm of a `--ipc shareable` container, as docker makes it: a tmpfs mounted on the
//! host under the container's run dir and bound into the container, so that `--ipc
//! container:NAME` can bind the same one (an ipc namespace is shared, and POSIX shared memory
//! lives in /dev/shm). A tmpfs made inside the container's own mount namespace could not be
//! bound by another. A private ipc namespace (docker's default) gets its tmpfs in the spec
//! instead, inside the container's mount namespace: one mount fewer in the host's table,
//! which every new mount namespace copies.

use std::path::PathBuf;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::bundle::rootfs::RootfsError;
use crate::container::config::RunConfig;
use crate::paths::Paths;

/// Where the container's /dev/shm lives on the host.
pub fn path(paths: &Paths, id: &str) -> PathBuf {
    paths.run_dir(id).join("shm")
}

/// Whether the container's /dev/shm lives on the host (`--ipc shareable`).
pub fn on_host(cfg: &RunConfig) -> bool {
    cfg.ipc_mode == crate::container::config::NsMode::Shareable
}

/// Mounts the container's /dev/shm tmpfs on the host, if it is not mounted yet (a restart
/// keeps the one it has).
pub fn mount_for(paths: &Paths, id: &str, size: i64) -> Result<(), RootfsError> {
    mount_at(&path(paths, id), size)
}

/// A pod's /dev/shm, which its containers share as they share its ipc namespace (podman's
/// and Kubernetes' pods do): mounted when the infra starts, under the infra's directory.
pub fn pod_path(paths: &Paths, pod_id: &str) -> PathBuf {
    crate::pod::infra::dir(paths, pod_id).join("shm")
}

/// Mounts a /dev/shm tmpfs of `size` bytes at `target` on the host, if none is there yet.
pub fn mount_at(target: &std::path::Path, size: i64) -> Result<(), RootfsError> {
    let target = target.to_path_buf();
    std::fs::create_dir_all(&target).map_err(|source| RootfsError::Io {
        path: target.display().to_string(),
        source,
    })?;
    if crate::bundle::rootfs::is_mounted(&target) {
        return Ok(());
    }
    mount(
        Some("shm"),
        &target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV,
        Some(format!("mode=1777,size={size}").as_str()),
    )
    .map_err(|source| RootfsError::Mount {
        path: target.display().to_string(),
        source,
    })
}

/// Unmounts it (lazily: a process still inside cannot keep it busy); no error if it was not
/// mounted.
pub fn unmount(paths: &Paths, id: &str) {
    unmount_at(&path(paths, id));
}

/// Unmounts every mount at `target` (lazily).
pub fn unmount_at(target: &std::path::Path) {
    while umount2(target, MntFlags::MNT_DETACH).is_ok() {}
}
