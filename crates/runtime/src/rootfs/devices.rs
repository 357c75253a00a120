//! /dev inside the container: the default device nodes every container gets, the spec's
//! `linux.devices`, and the usual symlinks. Nodes are made with mknod where we may; inside a
//! user namespace (where mknod is refused) the host's node is bind-mounted instead.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::paths::{ensure_in_root, open_in_root};
use crate::error::{Error, Result};

pub struct Device {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// The nodes the OCI spec says every Linux container has.
pub fn defaults() -> Vec<Device> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(p, major, minor)| Device {
        path: p.into(),
        kind: SFlag::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: Some(0),
        gid: Some(0),
    })
    .collect()
}

pub fn from_spec(i: usize, d: &LinuxDevice) -> Result<Device> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::config(
                format!("linux.devices[{i}].type"),
                "\"a\" is only meaningful in the cgroup allow-list",
            ))
        }
    };
    let num = |v: i64, f: &str| {
        u64::try_from(v).map_err(|_| {
            Error::config(
                format!("linux.devices[{i}].{f}"),
                format!("{v} is negative"),
            )
        })
    };
    Ok(Device {
        path: d.path().clone(),
        kind,
        major: num(d.major(), "major")?,
        minor: num(d.minor(), "minor")?,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid(),
        gid: d.gid(),
    })
}

/// Creates `dev` inside the rootfs. `bind` is set inside a user namespace, where mknod is
/// refused: the host's own node is bind-mounted onto an empty file instead.
pub fn create(root: BorrowedFd<'_>, dev: &Device, bind: bool) -> Result<()> {
    let parent = dev.path.parent().unwrap_or(Path::new("/dev"));
    let name = dev
        .path
        .file_name()
        .ok_or_else(|| Error::Other(format!("bad device path {:?}", dev.path)))?;
    let dir = ensure_in_root(root, parent, false)?;
    let cname = CString::new(name.as_encoded_bytes())
        .map_err(|_| Error::Other(format!("bad device path {:?}", dev.path)))?;
    // A node the image or an earlier mount put there is replaced.
    let _ = nix::unistd::unlinkat(
        dir.as_fd(),
        cname.as_c_str(),
        nix::unistd::UnlinkatFlags::NoRemoveDir,
    );
    if bind {
        // O_PATH: opening /dev/tty for real fails without a controlling terminal.
        let host = nix::fcntl::open(
            &dev.path,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::sys("open host device", &dev.path, e))?;
        return super::mounts::bind_fd(root, host.as_fd(), &dev.path, true);
    }
    let rdev = nix::sys::stat::makedev(dev.major, dev.minor);
    nix::sys::stat::mknodat(
        dir.as_fd(),
        cname.as_c_str(),
        dev.kind,
        Mode::from_bits_truncate(dev.mode),
        rdev,
    )
    .map_err(|e| Error::sys("mknod", &dev.path, e))?;
    let fd = open_in_root(root, &dev.path).map_err(|e| Error::sys("open", &dev.path, e))?;
    let p = super::paths::fd_path(&fd);
    // mknod applies the umask; set the mode the spec asked for exactly.
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(dev.mode))
        .map_err(|e| Error::sys("chmod", &dev.path, e))?;
    if dev.uid.is_some() || dev.gid.is_some() {
        nix::unistd::chown(
            &p,
            dev.uid.map(nix::unistd::Uid::from_raw),
            dev.gid.map(nix::unistd::Gid::from_raw),
        )
        .map_err(|e| Error::sys("chown", &dev.path, e))?;
    }
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/ptmx and /dev/core (if the host has /proc/kcore).
pub fn symlinks(root: BorrowedFd<'_>) -> Result<()> {
    let dev = open_in_root(root, Path::new("/dev")).map_err(|e| Error::sys("open", "/dev", e))?;
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    for (name, target) in links {
        let _ = nix::unistd::unlinkat(dev.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir);
        nix::unistd::symlinkat(target, dev.as_fd(), name)
            .map_err(|e| Error::sys("symlink", Path::new("/dev").join(name), e))?;
    }
    Ok(())
}
