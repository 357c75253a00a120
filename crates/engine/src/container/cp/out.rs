//! Container -> host. The container side is read only through fds resolved inside its root;
//! the host side is the caller's path.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{
    fstat, mknodat, openat2, readlinkat, utimensat, AtFlags, Dir, FileType, Mode, OFlags, CWD,
};
use rustix::io::Errno;

use super::into::reopen_dir;
use super::{
    ctr_err, host_err, is_pseudo_fs, split, ContainerFs, CopyOptions, CpError, Meta, Result,
    BENEATH,
};

/// Copies `src` in the container to host `dest`, with docker's rules for where it lands.
pub fn copy_out(fs: &ContainerFs, src: &str, dest: &Path, opts: &CopyOptions) -> Result<()> {
    let s = split(src);
    let fd = fs.resolve_source(src, opts.follow_link)?;
    let meta = Meta::from_stat(&fstat(&fd).map_err(ctr_err(src))?);
    let is_dir = meta.kind == FileType::Directory;
    if s.trailing_slash && !is_dir {
        return Err(CpError::Container {
            path: src.to_string(),
            source: Errno::NOTDIR.into(),
        });
    }
    let dest_str = dest.to_string_lossy();
    let d = split(&dest_str);
    let target: PathBuf = match std::fs::metadata(dest) {
        Ok(m) if m.is_dir() => {
            if is_dir && (s.contents || s.name.is_none()) {
                let dir = reopen_dir(fd.as_fd()).map_err(ctr_err(src))?;
                return get_children(dir.as_fd(), dest, src, opts);
            }
            dest.join(s.name.unwrap_or("."))
        }
        Ok(_) => {
            if is_dir {
                return Err(CpError::Usage(format!(
                    "cannot copy directory {src} onto file {}",
                    dest.display()
                )));
            }
            if d.trailing_slash {
                return Err(host_err(dest)(Errno::NOTDIR.into()));
            }
            dest.to_path_buf()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if d.trailing_slash && !is_dir {
                return Err(CpError::Usage(format!(
                    "no such directory: {}",
                    dest.display()
                )));
            }
            if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.is_dir() {
                    return Err(host_err(parent)(Errno::NOENT.into()));
                }
            }
            dest.to_path_buf()
        }
        Err(e) => return Err(host_err(dest)(e)),
    };
    get(fd.as_fd(), &meta, &target, src, opts)
}

/// Copies the entries of container directory `dir` (a readable fd) into host dir `target`.
pub(crate) fn get_children(
    dir: BorrowedFd<'_>,
    target: &Path,
    cpath: &str,
    opts: &CopyOptions,
) -> Result<()> {
    let entries = Dir::read_from(dir).map_err(ctr_err(cpath))?;
    for entry in entries {
        let entry = entry.map_err(ctr_err(cpath))?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let name = std::ffi::OsStr::from_bytes(name);
        let child_path = format!("{}/{}", cpath.trim_end_matches('/'), name.to_string_lossy());
        let child = openat2(
            dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        )
        .map_err(ctr_err(&child_path))?;
        let meta = Meta::from_stat(&fstat(&child).map_err(ctr_err(&child_path))?);
        if meta.kind == FileType::Directory && is_pseudo_fs(child.as_fd()) {
            continue;
        }
        get(child.as_fd(), &meta, &target.join(name), &child_path, opts)?;
    }
    Ok(())
}

/// Removes a host non-directory at `target` so a new entry can take its place.
fn clear(target: &Path) -> Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => Err(CpError::Usage(format!(
            "cannot overwrite directory {} with a non-directory",
            target.display()
        ))),
        Ok(_) => std::fs::remove_file(target).map_err(host_err(target)),
        Err(_) => Ok(()),
    }
}

/// Copies one container entry (an O_PATH fd) to host path `target`.
fn get(
    fd: BorrowedFd<'_>,
    meta: &Meta,
    target: &Path,
    cpath: &str,
    opts: &CopyOptions,
) -> Result<()> {
    match meta.kind {
        FileType::Directory => {
            let dir = reopen_dir(fd).map_err(ctr_err(cpath))?;
            match std::fs::symlink_metadata(target) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(CpError::Usage(format!(
                        "cannot overwrite non-directory {} with a directory",
                        target.display()
                    )))
                }
                Err(_) => std::fs::create_dir(target).map_err(host_err(target))?,
            }
            get_children(dir.as_fd(), target, cpath, opts)?;
        }
        FileType::RegularFile => {
            // An O_PATH fd cannot be read: reopen the very inode through its magic link.
            let mut input = std::fs::File::open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .map_err(|source| CpError::Container {
                    path: cpath.to_string(),
                    source,
                })?;
            clear(target)?;
            let mut out = std::fs::File::create(target).map_err(host_err(target))?;
            io::copy(&mut input, &mut out).map_err(host_err(target))?;
        }
        FileType::Symlink => {
            let link = readlinkat(fd, "", Vec::new()).map_err(ctr_err(cpath))?;
            clear(target)?;
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(link.as_bytes()), target)
                .map_err(host_err(target))?;
        }
        kind => {
            clear(target)?;
            mknodat(
                CWD,
                target,
                kind,
                Mode::from_raw_mode(meta.mode as _),
                meta.rdev as _,
            )
            .map_err(|e| host_err(target)(e.into()))?;
        }
    }
    finish(target, meta, opts)
}

/// Mode, owner (with `-a`) and times of a copied entry, never following a symlink.
fn finish(target: &Path, meta: &Meta, opts: &CopyOptions) -> Result<()> {
    let err = |e: Errno| host_err(target)(e.into());
    if meta.kind != FileType::Symlink {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(meta.mode))
            .map_err(host_err(target))?;
    }
    if opts.archive {
        rustix::fs::chownat(
            CWD,
            target,
            Some(rustix::fs::Uid::from_raw(meta.uid)),
            Some(rustix::fs::Gid::from_raw(meta.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(err)?;
    }
    utimensat(CWD, target, &meta.timestamps(), AtFlags::SYMLINK_NOFOLLOW).map_err(err)
}
