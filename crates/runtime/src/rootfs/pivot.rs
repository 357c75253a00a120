//! Switching the root of the new mount namespace to the container's rootfs.

use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, fchdir, pivot_root};

use crate::error::{Context, Error, Result};

/// pivot_root(".", ".") in the rootfs, then detaching the old root, step by step:
///
/// 1. Open the old root and the new root as directories, so we can move between them by fd
///    whatever the mount table looks like in between.
/// 2. fchdir into the new root and pivot_root(".", "."): the old root is stacked on top of the
///    new one at the same place, so no directory for it is needed inside the image (the image
///    may be read-only and must not be modified).
/// 3. fchdir back into the old root (now on top) and make it MS_SLAVE|MS_REC, so that the
///    unmount below does not propagate into the host's mounts (it is shared on most hosts).
/// 4. Lazily unmount it: from here on nothing outside the rootfs is reachable.
/// 5. chdir("/") to land on the new root.
pub fn pivot(rootfs: &Path) -> Result<()> {
    let flags = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old = open("/", flags, Mode::empty()).at("open", "/")?;
    let new = open(rootfs, flags, Mode::empty()).at("open", rootfs)?;
    fchdir(&new).at("fchdir", rootfs)?;
    pivot_root(".", ".").at("pivot_root", rootfs)?;
    fchdir(&old).at("fchdir", "old root")?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .at("make old root rslave", "/")?;
    umount2(".", MntFlags::MNT_DETACH).at("unmount old root", "/")?;
    chdir("/").at("chdir", "/")?;
    Ok(())
}

/// The `--no-pivot` path (for roots on ramfs/initramfs, where pivot_root is refused): move the
/// rootfs mount over / and chroot into it. The old root stays reachable to a process that can
/// escape a chroot, which is why pivot_root is the default.
pub fn move_root(rootfs: &Path) -> Result<()> {
    chdir(rootfs).at("chdir", rootfs)?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .at("move mount to /", rootfs)?;
    nix::unistd::chroot(".").at("chroot", rootfs)?;
    chdir("/").at("chdir", "/")?;
    Ok(())
}

/// Sets the propagation of the mount at `/` in the new namespace before anything is mounted:
/// `linux.rootfsPropagation`, or rslave as runc's default, so that mounts made for the
/// container never show up on the host while host mounts can still reach the container.
pub fn set_root_propagation(word: Option<&str>) -> Result<()> {
    let flags = match word {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(w) => super::options::propagation(w).ok_or_else(|| {
            Error::config(
                "linux.rootfsPropagation",
                format!("unknown propagation {w:?}"),
            )
        })?,
    };
    // A shared root would leak our mounts to the host; make it slave first and apply a
    // requested "shared" only to the rootfs bind after pivot (see finish_propagation).
    let first = if flags.contains(MsFlags::MS_SHARED) {
        MsFlags::MS_SLAVE | MsFlags::MS_REC
    } else {
        flags
    };
    mount(None::<&str>, "/", None::<&str>, first, None::<&str>)
        .ctx(|| "set propagation of / in the new mount namespace".into())
}

/// Bind-mounts the rootfs on itself: pivot_root needs the new root to be a mount point, and a
/// mount of our own lets us set its propagation and read-only flag without touching the host.
pub fn bind_rootfs(rootfs: &Path) -> Result<()> {
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .at("bind mount rootfs", rootfs)
}

/// After pivot_root: a requested shared propagation, which was held back as slave until now so
/// that the rootfs setup could not leak into the host (see set_root_propagation).
pub fn finish_propagation(word: Option<&str>) -> Result<()> {
    let Some(flags) = word.and_then(super::options::propagation) else {
        return Ok(());
    };
    if !flags.contains(MsFlags::MS_SHARED) {
        return Ok(());
    }
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .ctx(|| "set propagation of the container's /".into())
}
