//! Opening paths inside the container's rootfs without following anything the container
//! controls out of it. Every mount target is first opened here as an O_PATH fd and the mount
//! is then made onto `/proc/self/fd/N`, so a symlink swapped in between the check and the
//! mount cannot point it at the host (CVE-2021-30465).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use hull_sys::openat2_in_root;

use crate::error::{Error, Result};

/// The path under which an fd can be named in mount(2) and friends.
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens `path` (absolute, as the container sees it) inside `root` as O_PATH.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> std::io::Result<OwnedFd> {
    openat2_in_root(root, path, libc::O_PATH, 0)
}

/// Makes sure `path` exists inside `root`, creating missing directories (mode 0755) and, when
/// `file` is set, an empty regular file as the last component. Returns an O_PATH fd on it.
/// Each component is resolved with RESOLVE_IN_ROOT, so `..` or a symlink in the image can at
/// worst land somewhere else inside the rootfs, never outside it.
pub fn ensure_in_root(root: BorrowedFd<'_>, path: &Path, file: bool) -> Result<OwnedFd> {
    if let Ok(fd) = open_in_root(root, path) {
        return Ok(fd);
    }
    let comps: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::from("/");
    for (i, name) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let parent = openat2_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| Error::sys("open", &cur, e))?;
        let next = cur.join(name);
        match open_in_root(root, &next) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                let cname = CString::new(name.as_encoded_bytes())
                    .map_err(|_| Error::Other(format!("bad path {next:?}")))?;
                if last && file {
                    // O_PATH dirfds are fine for mknodat: it only looks the name up.
                    let res = nix::sys::stat::mknodat(
                        parent.as_fd(),
                        cname.as_c_str(),
                        nix::sys::stat::SFlag::S_IFREG,
                        nix::sys::stat::Mode::from_bits_truncate(0o644),
                        0,
                    );
                    if let Err(e) = res {
                        if e != nix::errno::Errno::EEXIST {
                            return Err(Error::sys("create", &next, e));
                        }
                    }
                } else {
                    let res = nix::sys::stat::mkdirat(
                        parent.as_fd(),
                        cname.as_c_str(),
                        nix::sys::stat::Mode::from_bits_truncate(0o755),
                    );
                    if let Err(e) = res {
                        if e != nix::errno::Errno::EEXIST {
                            return Err(Error::sys("mkdir", &next, e));
                        }
                    }
                }
            }
            Err(e) => return Err(Error::sys("open", &next, e)),
        }
        cur = next;
    }
    open_in_root(root, path).map_err(|e| Error::sys("open", path, e))
}
