//! `hull cp` with `-`: a tar stream from stdin extracted into a container directory, or a
//! container path archived to stdout, as docker's. Extraction goes through the same
//! fd-relative primitives as a copy from the host: an entry's parents are opened one name at
//! a time beneath the destination, `..` and absolute names are refused, and links in the
//! container are never followed.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use hull_sys::beneath::{self, Resolve::NoSymlinks};
use rustix::fs::{fstat, linkat, openat2, readlinkat, AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::into::{
    child_path, clear, finish_fd, make_dir, make_dirs, make_file, make_node, make_symlink,
    reopen_dir,
};
use super::{
    ctr_err, is_pseudo_fs, split, ContainerFs, CopyOptions, CpError, Meta, Result, BENEATH,
};

fn bad_entry(name: &Path, reason: &str) -> CpError {
    CpError::Usage(format!("tar entry {}: {reason}", name.display()))
}

fn tar_err(e: std::io::Error) -> CpError {
    CpError::Usage(format!("reading the tar stream: {e}"))
}

/// The names of an entry's path below the destination: `.` dropped, a leading `/` ignored,
/// `..` refused.
fn names(path: &Path) -> Result<Vec<OsString>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(bad_entry(path, "\"..\" is not allowed"))
            }
        }
    }
    Ok(out)
}

/// Opens (creating as needed) the directories `names` beneath `dir`.
fn open_parents(dir: BorrowedFd<'_>, names: &[OsString], at: &str) -> Result<(OwnedFd, String)> {
    let rel: PathBuf = names.iter().collect();
    let fd = make_dirs(dir, &rel, at)?;
    let path = names.iter().fold(at.to_string(), |p, n| child_path(&p, n));
    Ok((fd, path))
}

/// Extracts the tar stream `input` into container directory `dest`.
pub fn extract_in(
    fs: &ContainerFs,
    dest: &str,
    input: &mut dyn Read,
    opts: &CopyOptions,
) -> Result<()> {
    let root = fs
        .resolve(dest, OFlags::RDONLY | OFlags::DIRECTORY)
        .map_err(|e| match e {
            Errno::NOTDIR => CpError::Usage(format!(
                "destination {dest} in the container must be a directory for a tar stream"
            )),
            e => ctr_err(dest)(e),
        })?;
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        let path = entry.path().map_err(tar_err)?.into_owned();
        let parts = names(&path)?;
        let Some((last, parents)) = parts.split_last() else {
            continue;
        };
        let (dir, at) = open_parents(root.as_fd(), parents, dest)?;
        let full = child_path(&at, last);
        let h = entry.header();
        let mtime = i64::try_from(h.mtime().unwrap_or(0)).unwrap_or(0);
        let dev = |v: std::io::Result<Option<u32>>| u64::from(v.ok().flatten().unwrap_or(0));
        let (major, minor) = (dev(h.device_major()), dev(h.device_minor()));
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => FileType::RegularFile,
            tar::EntryType::Directory => FileType::Directory,
            tar::EntryType::Symlink => FileType::Symlink,
            tar::EntryType::Char => FileType::CharacterDevice,
            tar::EntryType::Block => FileType::BlockDevice,
            tar::EntryType::Fifo => FileType::Fifo,
            tar::EntryType::Link => FileType::Unknown,
            _ => continue,
        };
        let meta = Meta {
            kind,
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            uid: u32::try_from(h.uid().unwrap_or(0)).unwrap_or(0),
            gid: u32::try_from(h.gid().unwrap_or(0)).unwrap_or(0),
            atime: (mtime, 0),
            mtime: (mtime, 0),
            rdev: rustix::fs::makedev(major as u32, minor as u32),
            size: h.size().unwrap_or(0),
        };
        let link = entry.link_name().map_err(tar_err)?.map(|l| l.into_owned());
        match kind {
            FileType::Directory => {
                let sub = make_dir(dir.as_fd(), last, &full)?;
                finish_fd(sub.as_fd(), &full, &meta, opts)?;
            }
            FileType::RegularFile => {
                let f = make_file(dir.as_fd(), last, &full, &mut entry)?;
                finish_fd(f.as_fd(), &full, &meta, opts)?;
            }
            FileType::Symlink => {
                let target = link.ok_or_else(|| bad_entry(&path, "symlink without a target"))?;
                make_symlink(dir.as_fd(), last, &full, target.as_os_str(), &meta, opts)?;
            }
            FileType::Unknown => {
                // A hard link to an entry extracted before, named from the destination.
                let target = link.ok_or_else(|| bad_entry(&path, "hard link without a target"))?;
                let tnames = names(&target)?;
                let Some((tlast, tparents)) = tnames.split_last() else {
                    return Err(bad_entry(&path, "hard link to the destination itself"));
                };
                let tparents: PathBuf = tparents.iter().collect();
                let tdir = beneath::open(
                    root.as_fd(),
                    &tparents,
                    NoSymlinks,
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                )
                .map_err(|_| bad_entry(&path, "hard link target not in the archive"))?;
                clear(dir.as_fd(), last, &full)?;
                linkat(&tdir, tlast, &dir, last, AtFlags::empty())
                    .map_err(|_| bad_entry(&path, "hard link target not in the archive"))?;
            }
            _ => make_node(dir.as_fd(), last, &full, &meta, opts)?,
        }
    }
    Ok(())
}

/// Writes container path `src` as a tar stream to `out`: a file as its name, a directory as
/// its name and everything below (only what is below for `src/.`).
pub fn archive_out(
    fs: &ContainerFs,
    src: &str,
    out: &mut dyn Write,
    opts: &CopyOptions,
) -> Result<()> {
    let s = split(src);
    let fd = fs.resolve_source(src, opts.follow_link)?;
    let meta = Meta::from_stat(&fstat(&fd).map_err(ctr_err(src))?);
    let name = if s.contents {
        PathBuf::from(".")
    } else {
        PathBuf::from(s.name.unwrap_or("."))
    };
    let mut b = tar::Builder::new(out);
    add(&mut b, fd.as_fd(), &meta, &name, src)?;
    b.finish()
        .map_err(|e| CpError::Usage(format!("writing the tar stream: {e}")))
}

fn add(
    b: &mut tar::Builder<&mut dyn Write>,
    fd: BorrowedFd<'_>,
    meta: &Meta,
    name: &Path,
    cpath: &str,
) -> Result<()> {
    let werr = |e: std::io::Error| CpError::Usage(format!("writing the tar stream: {e}"));
    let mut h = tar::Header::new_gnu();
    h.set_mode(meta.mode);
    h.set_uid(u64::from(meta.uid));
    h.set_gid(u64::from(meta.gid));
    h.set_mtime(u64::try_from(meta.mtime.0).unwrap_or(0));
    h.set_size(0);
    match meta.kind {
        FileType::Directory => {
            h.set_entry_type(tar::EntryType::Directory);
            b.append_data(&mut h, name, std::io::empty())
                .map_err(werr)?;
            let dir = reopen_dir(fd).map_err(ctr_err(cpath))?;
            for entry in Dir::read_from(&dir).map_err(ctr_err(cpath))? {
                let entry = entry.map_err(ctr_err(cpath))?;
                let n = OsStr::from_bytes(entry.file_name().to_bytes());
                if n == "." || n == ".." {
                    continue;
                }
                let child_path = child_path(cpath, n);
                let child = openat2(
                    &dir,
                    n,
                    OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                    BENEATH,
                )
                .map_err(ctr_err(&child_path))?;
                let cm = Meta::from_stat(&fstat(&child).map_err(ctr_err(&child_path))?);
                if cm.kind == FileType::Directory && is_pseudo_fs(child.as_fd()) {
                    continue;
                }
                add(b, child.as_fd(), &cm, &name.join(n), &child_path)?;
            }
        }
        FileType::RegularFile => {
            // An O_PATH fd cannot be read: reopen the very inode through its magic link.
            let f = std::fs::File::open(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(
                |source| CpError::Container {
                    path: cpath.to_string(),
                    source,
                },
            )?;
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(meta.size);
            b.append_data(&mut h, name, f.take(meta.size))
                .map_err(werr)?;
        }
        FileType::Symlink => {
            let target = readlinkat(fd, "", Vec::new()).map_err(ctr_err(cpath))?;
            h.set_entry_type(tar::EntryType::Symlink);
            b.append_link(&mut h, name, OsStr::from_bytes(target.as_bytes()))
                .map_err(werr)?;
        }
        kind => {
            h.set_entry_type(match kind {
                FileType::CharacterDevice => tar::EntryType::Char,
                FileType::BlockDevice => tar::EntryType::Block,
                FileType::Fifo => tar::EntryType::Fifo,
                _ => return Ok(()), // sockets have no place in an archive
            });
            h.set_device_major(rustix::fs::major(meta.rdev as _))
                .map_err(werr)?;
            h.set_device_minor(rustix::fs::minor(meta.rdev as _))
                .map_err(werr)?;
            b.append_data(&mut h, name, std::io::empty())
                .map_err(werr)?;
        }
    }
    Ok(())
}
