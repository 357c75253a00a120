//! The `mounts` array of config.json, applied in order inside the new mount namespace, before
//! pivot_root, with every destination opened inside the rootfs first (see paths.rs).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;

use super::options::{self, Parsed};
use super::paths::{ensure_in_root, fd_path};
use crate::error::{Error, Result};

/// Flags that a less privileged mount namespace cannot clear on a bind mount ("locked"):
/// a read-only remount of such a bind must repeat them or the kernel says EPERM.
fn locked_flags(target: &Path) -> MsFlags {
    use nix::sys::statvfs::FsFlags;
    let Ok(st) = nix::sys::statvfs::statvfs(target) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (a, b) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(a) {
            out |= b;
        }
    }
    out
}

/// Remounts the bind mount at `target` with `flags` (ro, nosuid, ...).
pub fn remount_bind(target: &Path, flags: MsFlags, shown: &Path) -> Result<()> {
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    match mount(
        None::<&str>,
        target,
        None::<&str>,
        base | flags,
        None::<&str>,
    ) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EPERM) => mount(
            None::<&str>,
            target,
            None::<&str>,
            base | flags | locked_flags(target),
            None::<&str>,
        )
        .map_err(|e| Error::sys("remount", shown, e)),
        Err(e) => Err(Error::sys("remount", shown, e)),
    }
}

/// Applies one entry of `mounts`.
pub fn apply(root: BorrowedFd<'_>, bundle: &Path, m: &Mount, index: usize) -> Result<()> {
    let dest = m.destination();
    let typ = m.typ().as_deref().unwrap_or("");
    let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    let is_bind = opts.bind.is_some() || typ == "bind";
    let shown = PathBuf::from(format!("mounts[{index}] {}", dest.display()));

    if typ == "cgroup" || typ == "cgroup2" {
        return super::cgroupfs::mount_cgroups(root, dest, &opts, &shown);
    }

    let source = m.source().as_ref().map(|s| {
        if is_bind && s.is_relative() {
            bundle.join(s)
        } else {
            s.clone()
        }
    });
    let src_is_file = is_bind
        && source
            .as_ref()
            .is_some_and(|s| s.is_file() || is_special(s));
    if is_bind {
        let Some(src) = &source else {
            return Err(Error::config(
                format!("mounts[{index}].source"),
                "a bind mount needs a source",
            ));
        };
        if !src.exists() {
            return Err(Error::config(
                format!("mounts[{index}].source"),
                format!("{} does not exist", src.display()),
            ));
        }
    }
    // A tmpfs takes the mode of the directory it covers, as with runc (unless `mode=` says
    // otherwise); with tmpcopyup, a copy of its content too.
    let covered = (typ == "tmpfs")
        .then(|| super::paths::open_in_root(root, dest).ok())
        .flatten()
        .and_then(|fd| {
            let st = nix::sys::stat::fstat(&fd).ok()?;
            (st.st_mode & libc::S_IFMT == libc::S_IFDIR).then_some((fd, st.st_mode & 0o7777))
        });
    let target_fd = ensure_in_root(root, dest, src_is_file)?;
    let target = fd_path(&target_fd);

    if is_bind {
        let src = source.as_ref().expect("checked above");
        let mut flags = MsFlags::MS_BIND;
        if opts.bind == Some(true) {
            flags |= MsFlags::MS_REC;
        }
        mount(
            Some(src.as_path()),
            &target,
            None::<&str>,
            flags,
            None::<&str>,
        )
        .map_err(|e| Error::sys("bind mount", &shown, e))?;
        // The fd still points at the directory under the mount; reopen to reach the mount.
        drop(target_fd);
        let target_fd =
            super::paths::open_in_root(root, dest).map_err(|e| Error::sys("open", &shown, e))?;
        let target = fd_path(&target_fd);
        let extra = opts.flags & !(MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            remount_bind(&target, extra, &shown)?;
        }
        set_recursive_attrs(&target, &opts, &shown)?;
        return propagate(&target, &opts, &shown);
    }

    let data = opts.data.join(",");
    let src = source
        .as_deref()
        .map(|p| p.as_os_str().to_owned())
        .unwrap_or_else(|| typ.into());
    let copy_from = match &covered {
        Some((fd, _)) if opts.copy_up => Some(
            super::copyup::open_dir_at(fd.as_fd(), c".")
                .map_err(|e| Error::sys("open", &shown, e))?,
        ),
        _ => None,
    };
    // Filled before it may become read-only.
    let first_flags = if copy_from.is_some() {
        opts.flags & !MsFlags::MS_RDONLY
    } else {
        opts.flags
    };
    let res = mount(
        Some(src.as_os_str()),
        &target,
        Some(typ),
        first_flags,
        (!data.is_empty()).then_some(data.as_str()),
    );
    match res {
        Ok(()) => {}
        // sysfs cannot be mounted without a private network namespace owned by our user
        // namespace; bind the host's, read-only, as runc does.
        Err(nix::errno::Errno::EPERM) if typ == "sysfs" => {
            mount(
                Some("/sys"),
                &target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| Error::sys("bind mount /sys at", &shown, e))?;
            let again = super::paths::open_in_root(root, dest)
                .map_err(|e| Error::sys("open", &shown, e))?;
            remount_bind(&fd_path(&again), opts.flags | MsFlags::MS_RDONLY, &shown)?;
        }
        // Words we do not know went to the filesystem as data, as with runc: say which.
        Err(e) if !data.is_empty() => {
            return Err(Error::Other(format!(
                "mount {} (data {data:?}): {}",
                shown.display(),
                std::io::Error::from(e)
            )))
        }
        Err(e) => return Err(Error::sys("mount", &shown, e)),
    }
    let again =
        super::paths::open_in_root(root, dest).map_err(|e| Error::sys("open", &shown, e))?;
    if let Some((_, mode)) = covered {
        let top = super::copyup::open_dir_at(again.as_fd(), c".")
            .map_err(|e| Error::sys("open", &shown, e))?;
        if let Some(from) = &copy_from {
            super::copyup::copy_tree(from.as_fd(), top.as_fd(), dest)?;
        }
        if !opts.data.iter().any(|d| d.starts_with("mode=")) {
            nix::sys::stat::fchmod(&top, nix::sys::stat::Mode::from_bits_truncate(mode))
                .map_err(|e| Error::sys("chmod", &shown, e))?;
        }
        if first_flags != opts.flags {
            remount_bind(&fd_path(&again), opts.flags, &shown)?;
        }
    }
    set_recursive_attrs(&fd_path(&again), &opts, &shown)?;
    propagate(&fd_path(&again), &opts, &shown)
}

/// `rro`, `rnosuid`, ...: through mount_setattr(AT_RECURSIVE), so submounts get them too.
fn set_recursive_attrs(target: &Path, opts: &Parsed, shown: &Path) -> Result<()> {
    if opts.rec_set == 0 && opts.rec_clr == 0 {
        return Ok(());
    }
    hull_sys::idmap::set_mount_attrs(target, true, opts.rec_set, opts.rec_clr)
        .map_err(|e| Error::sys("mount_setattr (recursive options)", shown, e))
}

fn propagate(target: &Path, opts: &Parsed, shown: &Path) -> Result<()> {
    for p in &opts.propagation {
        mount(None::<&str>, target, None::<&str>, *p, None::<&str>)
            .map_err(|e| Error::sys("set propagation of", shown, e))?;
    }
    Ok(())
}

fn is_special(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| {
        let t = m.file_type();
        t.is_char_device() || t.is_block_device() || t.is_socket() || t.is_fifo()
    })
}

/// Bind-mounts the O_PATH `fd` (a host file or directory) at `dest` inside the rootfs.
pub fn bind_fd(root: BorrowedFd<'_>, src: BorrowedFd<'_>, dest: &Path, file: bool) -> Result<()> {
    let target = ensure_in_root(root, dest, file)?;
    mount(
        Some(&fd_path(&src)),
        &fd_path(&target.as_fd()),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| Error::sys("bind mount", dest, e))
}
