//! The container's root filesystem: an overlay of the image's layers (lowerdir, top first),
//! the container's own upper and work dirs (persistent, under <root>/containers/<id>), mounted
//! at the bundle's rootfs (under <runroot>).

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("mount at {path}: {source}")]
    Mount { path: String, source: nix::Error },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("image has no layers")]
    NoLayers,
    #[error(
        "image has {count} layers: too many for one overlay mount (overlayfs stacks at most \
         {OVERLAY_MAX_LOWER} and its options hold {OVERLAY_MAX_DATA} bytes; these layers \
         need {len})"
    )]
    TooManyLayers { count: usize, len: usize },
}

/// overlayfs's limit on lower layers (OVL_MAX_STACK).
const OVERLAY_MAX_LOWER: usize = 500;
/// mount(2) copies at most one page of options; a longer lowerdir list would be cut short.
const OVERLAY_MAX_DATA: usize = 4095;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RootfsError + '_ {
    move |source| RootfsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Creates the upper and work dirs of a new container.
pub fn prepare(container_dir: &Path) -> Result<(), RootfsError> {
    for d in ["upper", "work"] {
        let p = container_dir.join(d);
        std::fs::create_dir_all(&p).map_err(io(&p))?;
    }
    Ok(())
}

/// Mounts the overlay at `target` (created if missing). `layers` are bottom first.
///
/// `volatile` (for `--rm` containers, whose upper layer is deleted with them) skips the sync
/// of the upper filesystem that overlayfs otherwise does at every unmount and syncfs: that
/// sync flushes the whole host filesystem and was the largest single cost of `run --rm`'s
/// teardown. After a host crash a volatile upper cannot be mounted again; nothing does.
pub fn mount_overlay(
    layers: &[PathBuf],
    container_dir: &Path,
    target: &Path,
    volatile: bool,
) -> Result<(), RootfsError> {
    if layers.is_empty() {
        return Err(RootfsError::NoLayers);
    }
    std::fs::create_dir_all(target).map_err(io(target))?;
    if is_mounted(target) {
        return Ok(());
    }
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|l| l.display().to_string())
        .collect();
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        container_dir.join("upper").display(),
        container_dir.join("work").display()
    );
    if layers.len() > OVERLAY_MAX_LOWER || data.len() + ",volatile".len() > OVERLAY_MAX_DATA {
        return Err(RootfsError::TooManyLayers {
            count: layers.len(),
            len: data.len(),
        });
    }
    if volatile {
        data.push_str(",volatile");
        // A volatile mount leaves work/work/incompat/volatile behind, and overlayfs refuses to
        // mount that workdir again while it exists (its sign of a possible crash). Only this
        // container uses the dir and it was unmounted, so a restart in place may clear it.
        let _ = std::fs::remove_dir_all(container_dir.join("work/work/incompat"));
    }
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|source| RootfsError::Mount {
        path: target.display().to_string(),
        source,
    })
}

/// Unmounts the overlay (lazily, so a process still inside cannot keep it busy); no error if
/// it was not mounted.
pub fn unmount(target: &Path) {
    while umount2(target, MntFlags::MNT_DETACH).is_ok() {}
}

/// `target` is a mount point: the root of the mount that the path reaches, which `statx`
/// tells (STATX_ATTR_MOUNT_ROOT, Linux 5.8) for bind mounts too. Reading
/// /proc/self/mountinfo instead costs a line per mount on the host (two or three per running
/// container), so every verb would slow down as containers are added; it stays only as the
/// fallback for kernels that do not report the attribute.
pub fn is_mounted(target: &Path) -> bool {
    use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags, CWD};
    match statx(
        CWD,
        target,
        AtFlags::NO_AUTOMOUNT | AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::empty(),
    ) {
        Ok(st) if st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) => {
            st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
        }
        Ok(_) | Err(rustix::io::Errno::NOSYS) => in_mountinfo(target),
        Err(_) => false,
    }
}

/// `target` is a mount point listed in /proc/self/mountinfo (kernels before 5.8).
fn in_mountinfo(target: &Path) -> bool {
    let t = target.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|s| s.lines().any(|l| l.split(' ').nth(4) == Some(t.as_str())))
        .unwrap_or(false)
}

/// Idmapped views of an image's layers for a remapped container (`--uidmap/--gidmap`): the
/// layers' files appear owned through the container's maps, so its root owns what the
/// image's root owns, as podman's chowned copy gives, without copying. The views are only
/// needed while the overlay is mounted (overlayfs keeps private clones of its layers), so
/// dropping this unmounts them.
pub struct MappedLayers {
    dirs: Vec<PathBuf>,
    base: PathBuf,
}

impl MappedLayers {
    /// None when the container is not remapped. `layers` bottom first, like the result.
    pub fn new(
        cfg: &crate::container::config::RunConfig,
        layers: &[PathBuf],
        run_dir: &Path,
    ) -> Result<Option<MappedLayers>, RootfsError> {
        if !cfg.userns_is_mapped() {
            return Ok(None);
        }
        let text = |list: &[String], flag: &str| -> String {
            list.iter()
                .filter_map(|m| crate::container::config::idmap(flag, m).ok())
                .map(|(c, h, n)| format!("{c} {h} {n}\n"))
                .collect()
        };
        let (mut uids, mut gids) = (text(&cfg.uidmap, "--uidmap"), text(&cfg.gidmap, "--gidmap"));
        if uids.is_empty() {
            uids = gids.clone();
        }
        if gids.is_empty() {
            gids = uids.clone();
        }
        let base = run_dir.join("lower");
        let userns = hull_sys::idmap::userns_with_maps(&uids, &gids).map_err(io(&base))?;
        let mut mapped = MappedLayers {
            dirs: Vec::new(),
            base: base.clone(),
        };
        for (i, layer) in layers.iter().enumerate() {
            let dir = base.join(i.to_string());
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            hull_sys::idmap::mount_idmapped(layer, userns.as_fd(), &dir).map_err(|e| {
                RootfsError::Io {
                    path: format!("idmapped view of {} at {}", layer.display(), dir.display()),
                    source: e,
                }
            })?;
            mapped.dirs.push(dir);
        }
        Ok(Some(mapped))
    }

    pub fn layers(&self) -> &[PathBuf] {
        &self.dirs
    }
}

impl Drop for MappedLayers {
    fn drop(&mut self) {
        for d in &self.dirs {
            while umount2(d, MntFlags::MNT_DETACH).is_ok() {}
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_told_from_plain_dirs() {
        for p in ["/", "/proc", "/sys"] {
            assert!(is_mounted(Path::new(p)), "{p}");
            assert_eq!(is_mounted(Path::new(p)), in_mountinfo(Path::new(p)), "{p}");
        }
        let dir = std::env::temp_dir().join(format!("hull-is-mounted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!is_mounted(&dir));
        assert!(!is_mounted(&dir.join("missing")));
        std::fs::remove_dir(&dir).unwrap();
    }
}
