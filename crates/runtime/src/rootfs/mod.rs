//! The container's root filesystem, in the order the kernel needs it: propagation of the new
//! mount namespace, the rootfs bind, `mounts` in order, /dev, pivot_root, then masked and
//! read-only paths and a read-only root.

mod cgroupfs;
mod copyup;
pub mod devices;
pub mod mounts;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod procfs;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::error::{Context, Error, Result};

fn open_dir(p: &Path) -> Result<OwnedFd> {
    open(
        p,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .at("open", p)
}

pub use cgroupfs::remember_own_cgroups;

/// Everything before pivot_root. Runs in the container's new mount namespace.
pub fn prepare(spec: &Spec, bundle: &Path, rootfs: &Path, in_userns: bool) -> Result<()> {
    let linux = spec.linux().as_ref();
    pivot::set_root_propagation(
        linux.and_then(|l| l.rootfs_propagation().as_deref()),
        rootfs,
    )?;
    pivot::bind_rootfs(rootfs)?;
    let root = open_dir(rootfs)?;
    let mut dev_is_fresh = false;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mounts::apply(root.as_fd(), bundle, m, i)?;
        if m.destination() == Path::new("/dev") {
            let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
            dev_is_fresh = opts.bind.is_none() && m.typ().as_deref() != Some("bind");
        }
    }
    if dev_is_fresh {
        for d in devices::defaults() {
            devices::create(root.as_fd(), &d, in_userns)?;
        }
    }
    for (i, d) in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        devices::create(root.as_fd(), &devices::from_spec(i, d)?, in_userns)?;
    }
    // After `linux.devices`, as runc: a privileged config lists the host's /dev/ptmx, and the
    // container's must still be the link to its own devpts instance.
    if dev_is_fresh {
        devices::symlinks(root.as_fd())?;
    }
    Ok(())
}

/// pivot_root (or MS_MOVE + chroot with `no_pivot`) into the prepared rootfs.
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        pivot::move_root(rootfs)
    } else {
        pivot::pivot(rootfs)
    }
}

/// Everything after pivot_root: masked paths, read-only paths, sysctls, a read-only root.
pub fn finish(spec: &Spec) -> Result<()> {
    let root = open_dir(Path::new("/"))?;
    if let Some(linux) = spec.linux() {
        // Before the read-only paths: /proc/sys is usually one of them.
        if let Some(sysctls) = linux.sysctl().as_ref().filter(|s| !s.is_empty()) {
            let proc = procfs::Procfs::open()?;
            for (k, v) in sysctls {
                proc.write(&format!("sys/{}", k.replace('.', "/")), v)
                    .map_err(|e| Error::config(format!("linux.sysctl.{k}"), e.to_string()))?;
            }
        }
        let mut hidden = None;
        for p in linux.masked_paths().iter().flatten() {
            mask(root.as_fd(), Path::new(p), &mut hidden)?;
        }
        for p in linux.readonly_paths().iter().flatten() {
            readonly(root.as_fd(), Path::new(p))?;
        }
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        mounts::remount_bind(
            Path::new("/"),
            MsFlags::MS_RDONLY,
            Path::new("root.readonly /"),
        )?;
    }
    Ok(())
}

/// Hides `path`: /dev/null over a file, an empty read-only tmpfs over a directory. The
/// /dev/null used is checked to really be the null device, so a container that replaced it
/// with a symlink to a host file cannot get that file mounted in its place (CVE-2025-31133).
///
/// Every masked directory shows the same tmpfs: the first one's is bound over the others
/// (`hidden` holds its root). Each filesystem instance costs the kernel a shrinker, and each
/// memory cgroup on the host a slot for every shrinker (about 16 bytes each, and the
/// table is copied to all memory cgroups as it grows), so one instance instead of one per
/// directory takes that much off every container's cost at scale.
fn mask(
    root: std::os::fd::BorrowedFd<'_>,
    path: &Path,
    hidden: &mut Option<OwnedFd>,
) -> Result<()> {
    let target = match paths::open_in_root(root, path) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys("open masked path", path, e)),
    };
    let st = nix::sys::stat::fstat(&target).at("stat masked path", path)?;
    let tp = paths::fd_path(&target);
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        if let Some(h) = hidden {
            // A bind keeps the mount's read-only flag, and the tmpfs itself is read-only.
            return mount(
                Some(&paths::fd_path(h)),
                &tp,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .at("mask", path);
        }
        mount(
            Some("tmpfs"),
            &tp,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .at("mask", path)?;
        *hidden = Some(paths::open_in_root(root, path).at("open masked path", path)?);
        return Ok(());
    }
    let null = open(
        "/dev/null",
        OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .at("open", "/dev/null")?;
    let ns = nix::sys::stat::fstat(&null).at("stat", "/dev/null")?;
    if ns.st_mode & libc::S_IFMT != libc::S_IFCHR || ns.st_rdev != nix::sys::stat::makedev(1, 3) {
        return Err(Error::Other(
            "/dev/null in the container is not the null device: refusing to mask with it".into(),
        ));
    }
    mount(
        Some(&paths::fd_path(&null)),
        &tp,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .at("mask", path)
}

fn readonly(root: std::os::fd::BorrowedFd<'_>, path: &Path) -> Result<()> {
    let target = match paths::open_in_root(root, path) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys("open read-only path", path, e)),
    };
    let tp = paths::fd_path(&target);
    mount(
        Some(&tp),
        &tp,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .at("bind read-only path", path)?;
    let again = paths::open_in_root(root, path).at("open", path)?;
    let again = paths::fd_path(&again);
    // Read-only, keeping the nosuid, nodev and noexec the path had (runc does the same; it
    // adds none: a /proc mounted without them keeps its read-only paths without them).
    use nix::sys::statvfs::FsFlags;
    let had = nix::sys::statvfs::statvfs(&again)
        .map(|s| s.flags())
        .map_err(|e| Error::sys("statvfs", path, e))?;
    let mut flags = MsFlags::MS_RDONLY;
    for (a, b) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if had.contains(a) {
            flags |= b;
        }
    }
    mounts::remount_bind(&again, flags, path)
}
