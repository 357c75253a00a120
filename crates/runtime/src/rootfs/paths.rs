//! Opening paths inside the container's rootfs without following anything the container
//! controls out of it. Every mount target is first opened here as an O_PATH fd and the mount
//! is then made onto `/proc/self/fd/N`, so a symlink swapped in between the check and the
//! mount cannot point it at the host (CVE-2021-30465).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use hull_sys::beneath::{self, Op, Resolve};

use crate::error::{Error, Result};

/// The path under which an fd can be named in mount(2) and friends.
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens `path` (absolute, as the container sees it) inside `root` as O_PATH.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> std::io::Result<OwnedFd> {
    beneath::open(root, path, Resolve::InRoot, libc::O_PATH, 0)
}

/// Makes sure `path` exists inside `root`, creating missing directories (mode 0755) and, when
/// `file` is set, an empty regular file (0644) as the last component. Returns an O_PATH fd on
/// it. Resolution is `hull_sys::beneath`'s RESOLVE_IN_ROOT, so `..` or a symlink in the image
/// can at worst land somewhere else inside the rootfs, never outside it.
pub fn ensure_in_root(root: BorrowedFd<'_>, path: &Path, file: bool) -> Result<OwnedFd> {
    if let Ok(fd) = open_in_root(root, path) {
        return Ok(fd);
    }
    let made = if file {
        let flags = libc::O_WRONLY | libc::O_EXCL;
        beneath::create_file(root, path, Resolve::InRoot, flags, 0o644).map(drop)
    } else {
        beneath::mkdir_all(root, path, Resolve::InRoot, 0o755, libc::O_PATH).map(drop)
    };
    match made {
        Ok(()) => {}
        // Made by someone else meanwhile: opened below like any existing file.
        Err(f) if f.op == Op::Create && f.errno() == Some(libc::EEXIST) => {}
        Err(f) => {
            return Err(Error::sys(
                f.op.as_str(),
                Path::new("/").join(&f.path),
                f.error,
            ))
        }
    }
    open_in_root(root, path).map_err(|e| Error::sys("open", path, e))
}
