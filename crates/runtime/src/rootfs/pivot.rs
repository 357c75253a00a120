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

/// Sets the propagation of every mount in the new namespace before anything is mounted:
/// `linux.rootfsPropagation` (runc's words, applied as given), or rslave as runc's default.
/// A shared root is what makes an `rshared` bind a peer of the host's mount, so that mounts
/// made in the container reach the host (Kubernetes' Bidirectional propagation).
pub fn set_root_propagation(word: Option<&str>, rootfs: &Path) -> Result<()> {
    let flags = match word {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(w) => super::options::propagation(w).ok_or_else(|| {
            Error::config(
                "linux.rootfsPropagation",
                format!("unknown propagation {w:?}"),
            )
        })?,
    };
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .ctx(|| "set propagation of / in the new mount namespace".into())?;
    // After a recursive slave, private or unbindable, no mount here is shared: no need to
    // look for one in /proc/self/mountinfo (its size grows with every container).
    let none_shared = flags.contains(MsFlags::MS_REC)
        && flags.intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE | MsFlags::MS_UNBINDABLE);
    if none_shared {
        return Ok(());
    }
    make_parent_private(rootfs)
}

/// The mount holding the rootfs is made private when it is shared (as runc does): the
/// rootfs bind below must not propagate to the host, and pivot_root refuses a new root whose
/// parent mount is shared. Only that one mount changes; the others keep their propagation.
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let real = std::fs::canonicalize(rootfs).at("resolve", rootfs)?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::sys("read", "/proc/self/mountinfo", e))?;
    // Fields: id parent major:minor root mount-point options optional... - fstype ...
    let parent = info
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let point = Path::new(f.get(4)?);
            let shared = f[6..]
                .iter()
                .take_while(|w| **w != "-")
                .any(|w| w.starts_with("shared:"));
            real.starts_with(point)
                .then(|| (point.to_path_buf(), shared))
        })
        // The last mount on the deepest point is the one in effect.
        .fold(
            None::<(std::path::PathBuf, bool)>,
            |best, (p, sh)| match best {
                Some((ref b, _)) if b.components().count() > p.components().count() => best,
                _ => Some((p, sh)),
            },
        );
    match parent {
        Some((point, true)) => mount(
            None::<&str>,
            &point,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .at("make the rootfs's parent mount private", &point),
        _ => Ok(()),
    }
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
