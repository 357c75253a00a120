//! File metadata from tar headers (and PAX records) and its application by fd: owner, mode,
//! xattrs, times. Also the fd-relative `rm -rf` extraction uses when an entry replaces a tree.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;

use crate::error::ImageError;

pub(super) struct Meta {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) times: Timestamps,
    pub(super) xattrs: Vec<(String, Vec<u8>)>,
}

fn ts(secs: i64, nanos: i64) -> Timespec {
    Timespec {
        tv_sec: secs,
        tv_nsec: nanos as _,
    }
}

fn parse_pax_time(v: &str) -> Option<(i64, i64)> {
    let (s, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs = s.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    Some((secs, digits.parse().ok()?))
}

pub(super) fn meta<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta, ImageError> {
    let bad = |field: &str, e: io::Error| ImageError::unsafe_entry(name, format!("{field}: {e}"));
    let h = entry.header();
    let mode = h.mode().map_err(|e| bad("mode", e))? & 0o7777;
    let mut uid = h.uid().map_err(|e| bad("uid", e))?;
    let mut gid = h.gid().map_err(|e| bad("gid", e))?;
    let mtime = h.mtime().unwrap_or(0) as i64;
    let mut times = (mtime, 0);
    let mut xattrs = Vec::new();
    if let Some(pax) = entry.pax_extensions().map_err(|e| bad("pax header", e))? {
        for ext in pax {
            let ext = ext.map_err(|e| bad("pax header", e))?;
            let Ok(key) = ext.key() else { continue };
            let value = ext.value_bytes();
            let text = std::str::from_utf8(value).unwrap_or("");
            match key {
                "uid" => {
                    uid = text
                        .parse()
                        .map_err(|_| bad("pax uid", io::ErrorKind::InvalidData.into()))?
                }
                "gid" => {
                    gid = text
                        .parse()
                        .map_err(|_| bad("pax gid", io::ErrorKind::InvalidData.into()))?
                }
                "mtime" => times = parse_pax_time(text).unwrap_or(times),
                k => {
                    if let Some(x) = k.strip_prefix("SCHILY.xattr.") {
                        xattrs.push((x.to_string(), value.to_vec()));
                    }
                }
            }
        }
    }
    let uid = u32::try_from(uid).map_err(|_| bad("uid", io::ErrorKind::InvalidData.into()))?;
    let gid = u32::try_from(gid).map_err(|_| bad("gid", io::ErrorKind::InvalidData.into()))?;
    // overlayfs reads its own xattrs from lower dirs: a layer must not forge them (a redirect
    // or metacopy could point at files of other layers). Opaque dirs come from .wh..wh..opq.
    xattrs.retain(|(k, _)| !k.starts_with("trusted.overlay."));
    let t = ts(times.0, times.1);
    Ok(Meta {
        mode,
        uid,
        gid,
        times: Timestamps {
            last_access: t,
            last_modification: t,
        },
        xattrs,
    })
}

pub(super) fn clone_times(t: &Timestamps) -> Timestamps {
    Timestamps {
        last_access: t.last_access,
        last_modification: t.last_modification,
    }
}

pub(super) fn errno_io(e: Errno) -> io::Error {
    io::Error::from(e)
}

/// Owner, mode, xattrs and times on an open file or directory. Mode after owner: chown clears
/// the setuid and setgid bits.
pub(super) fn apply_fd(fd: impl AsFd, m: &Meta, name: &str) -> Result<(), ImageError> {
    let err =
        |what: &str, e: Errno| ImageError::unsafe_entry(name, format!("{what}: {}", errno_io(e)));
    rfs::fchown(
        &fd,
        Some(rfs::Uid::from_raw(m.uid)),
        Some(rfs::Gid::from_raw(m.gid)),
    )
    .map_err(|e| err("chown", e))?;
    rfs::fchmod(&fd, Mode::from_raw_mode(m.mode)).map_err(|e| err("chmod", e))?;
    for (k, v) in &m.xattrs {
        rfs::fsetxattr(&fd, k.as_str(), v, XattrFlags::empty())
            .map_err(|e| err(&format!("xattr {k}"), e))?;
    }
    rfs::futimens(&fd, &m.times).map_err(|e| err("utimes", e))
}

/// The same for a symlink or device node, which cannot be opened for writing: by name in its
/// parent directory, never following the final component.
pub(super) fn apply_at(
    dir: BorrowedFd<'_>,
    base: &str,
    m: &Meta,
    name: &str,
    chmod: bool,
) -> Result<(), ImageError> {
    let err =
        |what: &str, e: Errno| ImageError::unsafe_entry(name, format!("{what}: {}", errno_io(e)));
    rfs::chownat(
        dir,
        base,
        Some(rfs::Uid::from_raw(m.uid)),
        Some(rfs::Gid::from_raw(m.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| err("chown", e))?;
    if chmod {
        rfs::chmodat(dir, base, Mode::from_raw_mode(m.mode), AtFlags::empty())
            .map_err(|e| err("chmod", e))?;
    }
    if !m.xattrs.is_empty() {
        // The parent through /proc/self/fd, the last component not followed (lsetxattr).
        use std::os::fd::AsRawFd;
        let path = format!("/proc/self/fd/{}/{base}", dir.as_raw_fd());
        for (k, v) in &m.xattrs {
            rfs::lsetxattr(path.as_str(), k.as_str(), v, XattrFlags::empty())
                .map_err(|e| err(&format!("xattr {k}"), e))?;
        }
    }
    rfs::utimensat(dir, base, &m.times, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| err("utimes", e))
}

/// `rm -rf` of `name` in `dir`, by fd, following no symlink.
pub(crate) fn remove_all_at(dir: impl AsFd, name: &str) -> io::Result<()> {
    match rfs::unlinkat(&dir, name, AtFlags::empty()) {
        Ok(()) => return Ok(()),
        Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e.into()),
    }
    let sub = rfs::openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    for e in rfs::Dir::read_from(&sub)? {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(String::from_utf8_lossy(n).into_owned());
        }
    }
    for n in names {
        remove_all_at(&sub, &n)?;
    }
    rfs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(Into::into)
}
