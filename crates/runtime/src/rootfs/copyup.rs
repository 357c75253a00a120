//! `tmpcopyup`: a tmpfs mounted over a directory of the image starts with a copy of what it
//! covers (podman's `--read-only` and `--tmpfs` rely on it). Files, directories, symlinks and
//! device nodes are copied with their mode and owner, as runc does; times and xattrs are not.
//! Everything is reached through directory fds with O_NOFOLLOW, so nothing in the image can
//! lead the copy out of it.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::dir::Dir;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstatat, mkdirat, mknodat, FileStat, Mode, SFlag};
use nix::unistd::{fchown, fchownat, Gid, Uid};

use crate::error::{Error, Result};

/// Opens a directory for reading its entries, without following a symlink in its place.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Copies the entries of `src` into `dst` (both open directories).
pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, shown: &Path) -> Result<()> {
    let err = |what: &str, name: &CStr, e: nix::Error| {
        Error::Other(format!(
            "tmpcopyup {}: {what} {}: {e}",
            shown.display(),
            name.to_string_lossy()
        ))
    };
    let listing = nix::unistd::dup(src).map_err(|e| err("dup", c".", e))?;
    let mut dir = Dir::from_fd(listing).map_err(|e| err("read", c".", e))?;
    let names: Vec<CString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in &names {
        let st = fstatat(src, name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| err("stat", name, e))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
        let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
        match kind {
            SFlag::S_IFDIR => {
                mkdirat(dst, name.as_c_str(), Mode::from_bits_truncate(0o700))
                    .map_err(|e| err("mkdir", name, e))?;
                let from = open_dir_at(src, name).map_err(|e| err("open", name, e))?;
                let to = open_dir_at(dst, name).map_err(|e| err("open", name, e))?;
                copy_tree(
                    from.as_fd(),
                    to.as_fd(),
                    &shown.join(name.to_string_lossy().as_ref()),
                )?;
                set_owner_mode(to.as_fd(), &st, perm).map_err(|e| err("chown/chmod", name, e))?;
            }
            SFlag::S_IFREG => {
                let from = openat(
                    src,
                    name.as_c_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| err("open", name, e))?;
                let to = openat(
                    dst,
                    name.as_c_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| err("create", name, e))?;
                let (mut r, mut w) = (std::fs::File::from(from), std::fs::File::from(to));
                std::io::copy(&mut r, &mut w).map_err(|e| {
                    Error::Other(format!(
                        "tmpcopyup {}: copy {}: {e}",
                        shown.display(),
                        name.to_string_lossy()
                    ))
                })?;
                set_owner_mode(w.as_fd(), &st, perm).map_err(|e| err("chown/chmod", name, e))?;
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(src, name.as_c_str())
                    .map_err(|e| err("readlink", name, e))?;
                nix::unistd::symlinkat(target.as_os_str(), dst, name.as_c_str())
                    .map_err(|e| err("symlink", name, e))?;
                fchownat(
                    dst,
                    name.as_c_str(),
                    Some(Uid::from_raw(st.st_uid)),
                    Some(Gid::from_raw(st.st_gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|e| err("chown", name, e))?;
            }
            _ => {
                mknodat(dst, name.as_c_str(), kind, perm, st.st_rdev)
                    .map_err(|e| err("mknod", name, e))?;
                fchownat(
                    dst,
                    name.as_c_str(),
                    Some(Uid::from_raw(st.st_uid)),
                    Some(Gid::from_raw(st.st_gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|e| err("chown", name, e))?;
            }
        }
    }
    Ok(())
}

/// Owner first: chown clears the set-id bits that the mode then puts back.
fn set_owner_mode(fd: BorrowedFd<'_>, st: &FileStat, perm: Mode) -> nix::Result<()> {
    fchown(
        fd,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    fchmod(fd, perm)
}
