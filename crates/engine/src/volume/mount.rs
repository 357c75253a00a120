//! docker's local driver options (`volume create -o type=T -o device=D -o o=OPTS`): such a
//! volume is a filesystem mounted over its `_data` directory while a container that uses it
//! runs, as docker mounts it: `type=tmpfs,device=tmpfs,o=size=64m`, `type=none,o=bind,
//! device=/srv/data`, `type=nfs,o=addr=...,device=:/export`.
//!
//! The first container to start mounts it, the last to stop unmounts it. Who uses it is a
//! file per container under `<runroot>/volumes/<name>/`, changed under a lock on that
//! directory: a container starting while another stops never finds the mount gone, and the
//! list is on the runroot (a tmpfs), so it does not outlive the mounts at a reboot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::container::Container;
use crate::engine::Engine;
use crate::volume::{self, io_err, Result, Volume, VolumeError};
use crate::Paths;

/// The option keys docker's local driver takes.
const KEYS: [&str; 3] = ["type", "device", "o"];

/// Checks `volume create`'s driver options: only docker's keys, a device with a type, and
/// mount options that mean something.
pub fn validate(opts: &BTreeMap<String, String>) -> Result<()> {
    for k in opts.keys() {
        if !KEYS.contains(&k.as_str()) {
            return Err(VolumeError::Option(format!(
                "{k:?} is not an option of the local driver (type, device, o)"
            )));
        }
    }
    if opts.is_empty() {
        return Ok(());
    }
    let ty = opts.get("type").map(String::as_str).unwrap_or("");
    let dev = opts.get("device").map(String::as_str).unwrap_or("");
    if dev.is_empty() {
        return Err(VolumeError::Option(
            "device: missing (a device, path or tmpfs)".into(),
        ));
    }
    if ty.is_empty() {
        return Err(VolumeError::Option(
            "type: missing (a filesystem type, or none with o=bind)".into(),
        ));
    }
    let words = words(opts);
    for w in &words {
        if !hull_runtime::rootfs::options::is_plausible(w) {
            return Err(VolumeError::Option(format!(
                "o: {w:?} is not a mount option"
            )));
        }
    }
    let bind = words.iter().any(|w| w == "bind" || w == "rbind");
    if bind && !Path::new(dev).is_absolute() {
        return Err(VolumeError::Option(format!(
            "device: {dev:?}: a bind mount's device must be an absolute path"
        )));
    }
    Ok(())
}

fn words(opts: &BTreeMap<String, String>) -> Vec<String> {
    opts.get("o")
        .map(|o| {
            o.split(',')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the volume is mounted while in use (it has driver options).
pub fn is_mounted_kind(v: &Volume) -> bool {
    v.options.contains_key("device")
}

fn users_dir(paths: &Paths, name: &str) -> PathBuf {
    paths.runroot.join("volumes").join(name)
}

fn lock(dir: &Path) -> Result<hull_net::proc::HostLock> {
    std::fs::create_dir_all(dir).map_err(|source| io_err(dir, source))?;
    hull_net::proc::HostLock::acquire(&dir.join(".lock")).map_err(|source| io_err(dir, source))
}

/// The volumes with driver options that `c` mounts.
fn mounted_volumes(eng: &Engine, c: &Container) -> Vec<Volume> {
    c.config
        .mounts
        .iter()
        .filter(|m| m.kind == "volume")
        .filter_map(|m| volume::get(&eng.conn, &m.source).ok().flatten())
        .filter(is_mounted_kind)
        .collect()
}

/// Before `c` starts: registers it as a user of each of its volumes with driver options and
/// mounts those not mounted yet. On an error, what this call did is undone.
pub fn mount_for(eng: &Engine, c: &Container) -> Result<()> {
    let mut done: Vec<Volume> = Vec::new();
    for v in mounted_volumes(eng, c) {
        if let Err(e) = acquire(eng, &v, &c.id) {
            for v in &done {
                release_one(eng, v, &c.id);
            }
            return Err(e);
        }
        done.push(v);
    }
    Ok(())
}

fn acquire(eng: &Engine, v: &Volume, id: &str) -> Result<()> {
    let dir = users_dir(&eng.paths, &v.name);
    let _lock = lock(&dir)?;
    if !crate::bundle::rootfs::is_mounted(&v.mountpoint) {
        mount_volume(v)?;
    }
    let me = dir.join(id);
    std::fs::write(&me, "").map_err(|source| io_err(&me, source))
}

fn mount_volume(v: &Volume) -> Result<()> {
    let words = words(&v.options);
    let parsed = hull_runtime::rootfs::options::parse(&words);
    let dev = v.options.get("device").map(String::as_str).unwrap_or("");
    let ty = v.options.get("type").map(String::as_str).unwrap_or("");
    let fail = |e: nix::Error| {
        VolumeError::Option(format!(
            "mount {dev} ({ty}, {}) on volume {}: {}",
            v.options.get("o").map(String::as_str).unwrap_or(""),
            v.name,
            e.desc()
        ))
    };
    std::fs::create_dir_all(&v.mountpoint).map_err(|source| io_err(&v.mountpoint, source))?;
    match parsed.bind {
        Some(recursive) => {
            let rec = if recursive {
                MsFlags::MS_REC
            } else {
                MsFlags::empty()
            };
            mount(
                Some(dev),
                &v.mountpoint,
                None::<&str>,
                MsFlags::MS_BIND | rec,
                None::<&str>,
            )
            .map_err(fail)?;
            // A bind takes its other flags (ro, nosuid...) only in a remount.
            let rest = parsed.flags - MsFlags::MS_REMOUNT;
            if !rest.is_empty() {
                let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest;
                if let Err(e) = mount(
                    None::<&str>,
                    &v.mountpoint,
                    None::<&str>,
                    flags,
                    None::<&str>,
                ) {
                    let _ = umount2(&v.mountpoint, MntFlags::MNT_DETACH);
                    return Err(fail(e));
                }
            }
        }
        None => {
            let data = parsed.data.join(",");
            mount(
                Some(dev),
                &v.mountpoint,
                Some(ty),
                parsed.flags,
                (!data.is_empty()).then_some(data.as_str()),
            )
            .map_err(fail)?;
        }
    }
    for p in parsed.propagation {
        let _ = mount(None::<&str>, &v.mountpoint, None::<&str>, p, None::<&str>);
    }
    Ok(())
}

/// After `c` stopped (or failed to start): it no longer uses its volumes; each with driver
/// options that no other container uses is unmounted.
pub fn release(eng: &Engine, c: &Container) {
    for v in mounted_volumes(eng, c) {
        release_one(eng, &v, &c.id);
    }
}

fn release_one(eng: &Engine, v: &Volume, id: &str) {
    let dir = users_dir(&eng.paths, &v.name);
    let Ok(_lock) = lock(&dir) else { return };
    let _ = std::fs::remove_file(dir.join(id));
    let others = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_str().is_some_and(|n| !n.starts_with('.')))
        })
        .unwrap_or(false);
    if !others {
        unmount(&v.mountpoint);
    }
}

/// Unmounts a volume's filesystem; true when nothing is mounted there any more (so its
/// directory can be removed without reaching into what was mounted, e.g. a bound host dir).
pub fn unmount(mountpoint: &Path) -> bool {
    for _ in 0..8 {
        if !crate::bundle::rootfs::is_mounted(mountpoint) {
            return true;
        }
        let _ = umount2(mountpoint, MntFlags::MNT_DETACH);
    }
    !crate::bundle::rootfs::is_mounted(mountpoint)
}

/// Forgets the users of a volume being removed.
pub fn forget(paths: &Paths, name: &str) {
    let _ = std::fs::remove_dir_all(users_dir(paths, name));
}
