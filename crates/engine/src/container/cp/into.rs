//! Host -> container. The host side is the caller's own and is read by path; the container
//! side is written only through fds resolved inside its root (see the module above).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use hull_sys::beneath::{self, Resolve::NoSymlinks};
use rustix::fs::{
    chownat, fchmod, fchown, fstat, futimens, mknodat, openat2, symlinkat, unlinkat, utimensat,
    AtFlags, FileType, Gid, Mode, OFlags, Uid,
};
use rustix::io::Errno;

use super::{ctr_err, host_err, split, ContainerFs, CopyOptions, CpError, Meta, Result, BENEATH};

/// Copies host `src` to `dest` in the container, with docker's rules for where it lands.
pub fn copy_in(fs: &ContainerFs, src: &Path, dest: &str, opts: &CopyOptions) -> Result<()> {
    let src_str = src.to_string_lossy();
    let src_split = split(&src_str);
    let md = if opts.follow_link {
        std::fs::metadata(src)
    } else {
        std::fs::symlink_metadata(src)
    }
    .map_err(host_err(src))?;
    let meta = Meta::from_host(&md);
    let is_dir = md.is_dir();
    if src_split.trailing_slash && !is_dir {
        return Err(CpError::Usage(format!(
            "{}: not a directory",
            src.display()
        )));
    }
    let d = split(dest);
    let resolved = fs.resolve(dest, OFlags::PATH);
    match resolved {
        Ok(fd) if is_dir_fd(fd.as_fd()) => {
            let dir = reopen_dir(fd.as_fd()).map_err(ctr_err(dest))?;
            if is_dir && src_split.contents {
                return put_children(src, dir.as_fd(), dest, opts);
            }
            let name = src_split.name.unwrap_or(".");
            put(src, &meta, dir.as_fd(), OsStr::new(name), dest, opts)
        }
        Ok(_) => {
            if is_dir {
                return Err(CpError::Usage(format!(
                    "cannot copy directory {} onto file {dest} in the container",
                    src.display()
                )));
            }
            if d.trailing_slash {
                return Err(CpError::Container {
                    path: dest.to_string(),
                    source: Errno::NOTDIR.into(),
                });
            }
            let (parent, name) = parent_of(fs, dest, &d)?;
            put(src, &meta, parent.as_fd(), OsStr::new(name), dest, opts)
        }
        Err(Errno::NOENT) => {
            if d.trailing_slash && !is_dir {
                return Err(CpError::Usage(format!(
                    "no such directory in the container: {dest}"
                )));
            }
            let (parent, name) = parent_of(fs, dest, &d)?;
            put(src, &meta, parent.as_fd(), OsStr::new(name), dest, opts)
        }
        Err(e) => Err(ctr_err(dest)(e)),
    }
}

/// The directory a new `dest` goes in, resolved inside the root, and its name.
fn parent_of<'a>(fs: &ContainerFs, dest: &str, d: &super::Split<'a>) -> Result<(OwnedFd, &'a str)> {
    let name = d
        .name
        .filter(|n| *n != "." && *n != "..")
        .ok_or_else(|| CpError::Usage(format!("invalid destination path {dest:?}")))?;
    let parent = fs
        .resolve(&d.parent, OFlags::RDONLY | OFlags::DIRECTORY)
        .map_err(ctr_err(&d.parent))?;
    Ok((parent, name))
}

fn is_dir_fd(fd: BorrowedFd<'_>) -> bool {
    fstat(fd).is_ok_and(|st| FileType::from_raw_mode(st.st_mode as _) == FileType::Directory)
}

/// An O_PATH directory fd reopened for reading and as a base for *at calls.
pub(crate) fn reopen_dir(fd: BorrowedFd<'_>) -> rustix::io::Result<OwnedFd> {
    openat2(
        fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        BENEATH,
    )
}

fn owner(meta: &Meta, opts: &CopyOptions) -> (Uid, Gid) {
    if opts.archive {
        (Uid::from_raw(meta.uid), Gid::from_raw(meta.gid))
    } else {
        (Uid::from_raw(opts.root_uid), Gid::from_raw(opts.root_gid))
    }
}

pub(crate) fn child_path(at: &str, name: &OsStr) -> String {
    format!("{}/{}", at.trim_end_matches('/'), name.to_string_lossy())
}

/// Copies the entries of host directory `src` into container directory `dir`.
fn put_children(src: &Path, dir: BorrowedFd<'_>, at: &str, opts: &CopyOptions) -> Result<()> {
    for entry in std::fs::read_dir(src).map_err(host_err(src))? {
        let entry = entry.map_err(host_err(src))?;
        let path = entry.path();
        let md = std::fs::symlink_metadata(&path).map_err(host_err(&path))?;
        put(
            &path,
            &Meta::from_host(&md),
            dir,
            &entry.file_name(),
            at,
            opts,
        )?;
    }
    Ok(())
}

/// Removes whatever non-directory is at `name` so a new entry can take its place.
pub(crate) fn clear(dir: BorrowedFd<'_>, name: &OsStr, at: &str) -> Result<()> {
    match unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR) => Err(CpError::Usage(format!(
            "cannot overwrite directory {at} in the container with a non-directory"
        ))),
        Err(e) => Err(ctr_err(at)(e)),
    }
}

/// Makes (or reuses) directory `name` in `dir` and opens it, never through a symlink.
pub(crate) fn make_dir(dir: BorrowedFd<'_>, name: &OsStr, path: &str) -> Result<OwnedFd> {
    beneath::mkdir_all(dir, Path::new(name), NoSymlinks, 0o755, libc::O_RDONLY)
        .map_err(|f| dir_err(&f, path))
}

/// Makes (or reuses) the directories of relative `names` beneath `dir` (`mkdir -p`, never
/// through a symlink) and opens the last; `at` is the container path of `dir`, for errors.
pub(crate) fn make_dirs(dir: BorrowedFd<'_>, names: &Path, at: &str) -> Result<OwnedFd> {
    beneath::mkdir_all(dir, names, NoSymlinks, 0o755, libc::O_RDONLY)
        .map_err(|f| dir_err(&f, &child_path(at, f.path.as_os_str())))
}

/// A failed `mkdir -p` step at container path `path`: a non-directory (or a link) in the way
/// is the user's error, docker's words.
fn dir_err(f: &beneath::Failed, path: &str) -> CpError {
    let errno = Errno::from_io_error(&f.error).unwrap_or(Errno::IO);
    match (f.op, errno) {
        (beneath::Op::Open, Errno::NOTDIR | Errno::LOOP | Errno::XDEV) => CpError::Usage(format!(
            "cannot overwrite non-directory {path} in the container with a directory"
        )),
        _ => ctr_err(path)(errno),
    }
}

/// Creates (or truncates) regular file `name` in `dir` and fills it from `input`. A symlink
/// in the way is replaced, as a tar extraction replaces it; it is never followed.
pub(crate) fn make_file(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    path: &str,
    input: &mut dyn io::Read,
) -> Result<std::fs::File> {
    let flags = libc::O_WRONLY | libc::O_TRUNC;
    let create = || {
        beneath::create_file(dir, Path::new(name), NoSymlinks, flags, 0o600)
            .map_err(|f| Errno::from_io_error(&f.error).unwrap_or(Errno::IO))
    };
    let fd = match create() {
        Err(Errno::LOOP | Errno::XDEV) => {
            clear(dir, name, path)?;
            create()
        }
        Err(Errno::ISDIR) => {
            return Err(CpError::Usage(format!(
                "cannot overwrite directory {path} in the container with a file"
            )))
        }
        other => other,
    }
    .map_err(ctr_err(path))?;
    let mut out = std::fs::File::from(fd);
    io::copy(input, &mut out).map_err(|source| CpError::Container {
        path: path.to_string(),
        source,
    })?;
    Ok(out)
}

/// Owner, mode and times through an entry's own fd.
pub(crate) fn finish_fd(
    fd: BorrowedFd<'_>,
    path: &str,
    meta: &Meta,
    opts: &CopyOptions,
) -> Result<()> {
    let (uid, gid) = owner(meta, opts);
    fchown(fd, Some(uid), Some(gid)).map_err(ctr_err(path))?;
    fchmod(fd, Mode::from_raw_mode(meta.mode as _)).map_err(ctr_err(path))?;
    futimens(fd, &meta.timestamps()).map_err(ctr_err(path))
}

/// Makes symlink `name` -> `target` in `dir` (replacing a non-directory).
pub(crate) fn make_symlink(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    path: &str,
    target: &OsStr,
    meta: &Meta,
    opts: &CopyOptions,
) -> Result<()> {
    clear(dir, name, path)?;
    symlinkat(target.as_bytes(), dir, name).map_err(ctr_err(path))?;
    finish_at(dir, name, path, meta, opts)
}

/// Makes a device node or fifo. The mode is given here only: chmodat would follow a symlink
/// swapped in for the node, and there is no fd to fchmod.
pub(crate) fn make_node(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    path: &str,
    meta: &Meta,
    opts: &CopyOptions,
) -> Result<()> {
    clear(dir, name, path)?;
    mknodat(
        dir,
        name,
        meta.kind,
        Mode::from_raw_mode(meta.mode as _),
        meta.rdev as _,
    )
    .map_err(ctr_err(path))?;
    finish_at(dir, name, path, meta, opts)
}

/// Copies one host entry to `name` in container directory `dir` (recursively for a
/// directory). `at` is the container path of `dir`, for messages.
fn put(
    src: &Path,
    meta: &Meta,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    at: &str,
    opts: &CopyOptions,
) -> Result<()> {
    let path = child_path(at, name);
    match meta.kind {
        FileType::Directory => {
            let sub = make_dir(dir, name, &path)?;
            put_children(src, sub.as_fd(), &path, opts)?;
            finish_fd(sub.as_fd(), &path, meta, opts)
        }
        FileType::RegularFile => {
            let mut input = std::fs::File::open(src).map_err(host_err(src))?;
            let out = make_file(dir, name, &path, &mut input)?;
            finish_fd(out.as_fd(), &path, meta, opts)
        }
        FileType::Symlink => {
            let target = std::fs::read_link(src).map_err(host_err(src))?;
            make_symlink(dir, name, &path, target.as_os_str(), meta, opts)
        }
        _ => make_node(dir, name, &path, meta, opts),
    }
}

/// Owner and times of an entry that has no fd of its own (symlink, device, fifo), never
/// following a symlink.
fn finish_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    path: &str,
    meta: &Meta,
    opts: &CopyOptions,
) -> Result<()> {
    let (uid, gid) = owner(meta, opts);
    chownat(dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW).map_err(ctr_err(path))?;
    utimensat(dir, name, &meta.timestamps(), AtFlags::SYMLINK_NOFOLLOW).map_err(ctr_err(path))
}
