//! A volume's first use: docker copies what the image holds at the mount point into a volume
//! that is still empty (an image's `VOLUME /data` with files in it gives a volume holding
//! them), owner and modes kept. Done at each start, after the overlay and the volumes'
//! filesystems are mounted and before the runtime binds them, so a volume emptied later by
//! its user gets the image's files again, as docker's does. Also the `mount`/`unmount`
//! events docker gives each volume a container uses.

use std::collections::BTreeMap;
use std::path::Path;

use crate::container::config::MountKind;
use crate::container::Container;
use crate::engine::Engine;

/// Copies the image's content into each empty volume of `c`, and emits the mount events.
pub fn before_start(eng: &Engine, c: &Container) -> Result<(), String> {
    let rootfs = eng.paths.rootfs(&c.id);
    for m in c
        .config
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
    {
        let data = eng.paths.volume_dir(&m.source).join("_data");
        if is_empty_dir(&data) {
            if let Some(src) = inside(&rootfs, &m.target) {
                copy(&src, &data).map_err(|e| {
                    format!(
                        "copy {} of the image into volume {}: {e}",
                        m.target, m.source
                    )
                })?;
            }
        }
        let attrs = BTreeMap::from([
            ("container".to_string(), c.id.clone()),
            ("destination".to_string(), m.target.clone()),
            ("driver".to_string(), "local".to_string()),
            (
                "propagation".to_string(),
                m.propagation.map(|p| p.as_str()).unwrap_or_default().into(),
            ),
            ("read/write".to_string(), (!m.read_only).to_string()),
        ]);
        crate::events::emit(&eng.paths, "volume", "mount", &m.source, attrs);
    }
    Ok(())
}

/// The `unmount` events at the container's stop.
pub fn after_stop(eng: &Engine, c: &Container) {
    for m in c
        .config
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
    {
        let attrs = BTreeMap::from([
            ("container".to_string(), c.id.clone()),
            ("driver".to_string(), "local".to_string()),
        ]);
        crate::events::emit(&eng.paths, "volume", "unmount", &m.source, attrs);
    }
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

/// `target` in the rootfs when it is a non-empty directory there, reached without leaving
/// the rootfs (an image's symlink must not make us copy a host directory).
fn inside(rootfs: &Path, target: &str) -> Option<std::path::PathBuf> {
    let root = rootfs.canonicalize().ok()?;
    let p = rootfs
        .join(target.trim_start_matches('/'))
        .canonicalize()
        .ok()?;
    (p.starts_with(&root) && p != root && p.is_dir() && !is_empty_dir(&p)).then_some(p)
}

/// `cp -a SRC/. DST`: contents, owners, modes, times, links as links; DST takes SRC's owner
/// and mode.
fn copy(src: &Path, dst: &Path) -> std::io::Result<()> {
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg("--")
        .arg(src.join("."))
        .arg(dst)
        .stdin(std::process::Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}
