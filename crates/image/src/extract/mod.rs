//! Unpacks one layer tar into an empty directory so it can serve directly as an overlayfs
//! lowerdir.
//!
//! Every path is resolved fd-relative inside the layer directory by `hull_sys::beneath`
//! (`Resolve::NoSymlinks`: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): an entry can never write through a symlink an
//! earlier entry made, nor climb out with `..` (CVE-2018-15664 and the docker cp family).
//! Entries whose names are absolute or contain `..`, hard links whose target is outside the
//! layer, and relative symlinks that climb above the layer's root are refused outright.
//!
//! Whiteouts become what overlayfs reads: `.wh.NAME` a 0:0 character device named NAME,
//! `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its directory.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use hull_sys::beneath::{self, Resolve::NoSymlinks};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Timestamps, XattrFlags};
use rustix::io::Errno;

use crate::error::{ImageError, IoContext};

mod meta;

use crate::split::SharedSplit;

fn join(parent: &[String], base: &str) -> String {
    let mut p = parent.join("/");
    if !p.is_empty() {
        p.push('/');
    }
    p.push_str(base);
    p
}

pub(crate) use meta::remove_all_at;
use meta::{apply_at, apply_fd, clone_times, errno_io, meta, Meta};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// What an unpacked layer holds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub entries: u64,
    /// Bytes of regular file data written.
    pub file_bytes: u64,
}

/// Unpacks the tar stream `src` into `dest`, an empty directory owned by the caller.
pub fn unpack(src: impl Read, dest: &Path) -> Result<Stats, ImageError> {
    unpack_split(src, dest, None)
}

/// The same, telling `split` where each regular file's data is (see split.rs); `src` must
/// then be the `SplitTee` recording into it.
pub(crate) fn unpack_split(
    src: impl Read,
    dest: &Path,
    split: Option<SharedSplit>,
) -> Result<Stats, ImageError> {
    let root = rfs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)
    .at(dest)?;
    // The image's own "./" entry, if any, sets the real mode; until then the layer root is an
    // ordinary directory rather than the temp dir's 0700.
    rfs::fchmod(&root, Mode::from_raw_mode(0o755))
        .map_err(io::Error::from)
        .at(dest)?;
    let mut x = Extractor {
        root,
        cache: None,
        dir_times: Vec::new(),
        stats: Stats::default(),
        buf: vec![0u8; 256 * 1024],
        split,
    };
    let mut archive = tar::Archive::new(src);
    let entries = archive.entries().map_err(|e| ImageError::Tar {
        what: "archive".into(),
        source: e,
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ImageError::Tar {
            what: "archive".into(),
            source: e,
        })?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        x.entry(&mut entry, &name)?;
        x.stats.entries += 1;
    }
    // Directory mtimes last: creating their children changed them.
    for (comps, times) in std::mem::take(&mut x.dir_times).iter().rev() {
        let fd = x.open_dir(comps, comps.join("/").as_str())?;
        rfs::futimens(&fd, times)
            .map_err(|e| ImageError::unsafe_entry(comps.join("/"), io::Error::from(e)))?;
    }
    Ok(x.stats)
}

struct Extractor {
    root: OwnedFd,
    /// The last parent directory opened: tar entries come grouped by directory.
    cache: Option<(Vec<String>, OwnedFd)>,
    dir_times: Vec<(Vec<String>, Timestamps)>,
    stats: Stats,
    buf: Vec<u8>,
    split: Option<SharedSplit>,
}

/// Splits an entry name into its components, refusing absolute names and `..`.
pub(crate) fn components(name: &str) -> Result<Vec<String>, ImageError> {
    if name.starts_with('/') {
        return Err(ImageError::unsafe_entry(name, "absolute path"));
    }
    let mut out = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(ImageError::unsafe_entry(name, "path contains '..'")),
            c if c.as_bytes().contains(&0) => {
                return Err(ImageError::unsafe_entry(name, "NUL in path"))
            }
            c => out.push(c.to_string()),
        }
    }
    Ok(out)
}

/// Would a relative symlink in directory `parent` pointing at `target` climb above the root?
fn symlink_escapes(parent: &[String], target: &str) -> bool {
    if target.starts_with('/') {
        // Absolute targets resolve against the container's root, never the host's.
        return false;
    }
    let mut depth = parent.len();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}

impl Extractor {
    /// Opens the directory at `comps` inside the layer, creating missing components (0755,
    /// root-owned, as docker does for parents a tar leaves out). Symlinks are never followed.
    fn open_dir(&self, comps: &[String], name: &str) -> Result<OwnedFd, ImageError> {
        let path = comps.join("/");
        let dir = self.root.as_fd();
        beneath::mkdir_all(dir, Path::new(&path), NoSymlinks, 0o755, libc::O_RDONLY).map_err(|f| {
            match f.op {
                beneath::Op::Open => self.parent_error(
                    comps,
                    name,
                    Errno::from_io_error(&f.error).unwrap_or(Errno::IO),
                ),
                _ => ImageError::unsafe_entry(name, f.error),
            }
        })
    }

    fn parent_error(&self, comps: &[String], name: &str, e: Errno) -> ImageError {
        match e {
            Errno::LOOP | Errno::XDEV => ImageError::unsafe_entry(
                name,
                format!(
                    "parent {} is a symlink (never followed while unpacking)",
                    comps.join("/")
                ),
            ),
            Errno::NOTDIR => ImageError::unsafe_entry(
                name,
                format!("parent {} is not a directory", comps.join("/")),
            ),
            e => ImageError::unsafe_entry(name, errno_io(e)),
        }
    }

    fn parent(&mut self, comps: &[String], name: &str) -> Result<BorrowedFd<'_>, ImageError> {
        let hit = matches!(&self.cache, Some((c, _)) if c.as_slice() == comps);
        if !hit {
            let fd = self.open_dir(comps, name)?;
            self.cache = Some((comps.to_vec(), fd));
        }
        Ok(self
            .cache
            .as_ref()
            .map(|(_, fd)| fd.as_fd())
            .expect("cached"))
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<(), ImageError> {
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink
        ) {
            return Ok(());
        }
        let comps = components(name)?;
        let Some((base, parent)) = comps.split_last() else {
            // "./": the layer's root directory itself.
            if kind == T::Directory {
                let m = meta(entry, name)?;
                let fd = self.open_dir(&[], name)?;
                apply_fd(&fd, &m, name)?;
                self.dir_times.push((Vec::new(), clone_times(&m.times)));
            }
            return Ok(());
        };
        let base = base.clone();
        let parent = parent.to_vec();
        if let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX) {
            return self.whiteout(&parent, hidden, name);
        }
        let m = meta(entry, name)?;
        match kind {
            T::Directory => self.directory(&parent, &base, &m, name),
            T::Regular | T::Continuous | T::GNUSparse => self.file(entry, &parent, &base, &m, name),
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| ImageError::unsafe_entry(name, "symlink without a target"))?;
                let target = String::from_utf8_lossy(&target).into_owned();
                if symlink_escapes(&parent, &target) {
                    return Err(ImageError::unsafe_entry(
                        name,
                        format!("symlink target {target:?} leaves the layer"),
                    ));
                }
                let dir = self.prepare(&parent, &base, name, false)?;
                rfs::symlinkat(target.as_str(), dir, base.as_str())
                    .map_err(|e| ImageError::unsafe_entry(name, errno_io(e)))?;
                apply_at(dir, &base, &m, name, false)
            }
            T::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| ImageError::unsafe_entry(name, "hard link without a target"))?;
                let target = String::from_utf8_lossy(&target).into_owned();
                let tcomps = components(&target).map_err(|_| {
                    ImageError::unsafe_entry(
                        name,
                        format!("hard link target {target:?} leaves the layer"),
                    )
                })?;
                let Some((tbase, tparent)) = tcomps.split_last() else {
                    return Err(ImageError::unsafe_entry(
                        name,
                        "hard link to the layer root",
                    ));
                };
                let tdir = self.open_dir(tparent, name)?;
                let dir = self.prepare(&parent, &base, name, false)?;
                rfs::linkat(&tdir, tbase.as_str(), dir, base.as_str(), AtFlags::empty()).map_err(
                    |e| {
                        ImageError::unsafe_entry(
                            name,
                            format!("hard link to {target:?}: {}", errno_io(e)),
                        )
                    },
                )
            }
            T::Char | T::Block | T::Fifo => {
                let h = entry.header();
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let ft = match kind {
                    T::Char => FileType::CharacterDevice,
                    T::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let dir = self.prepare(&parent, &base, name, false)?;
                rfs::mknodat(
                    dir,
                    base.as_str(),
                    ft,
                    Mode::from_raw_mode(0o600),
                    rfs::makedev(major, minor),
                )
                .map_err(|e| ImageError::unsafe_entry(name, errno_io(e)))?;
                apply_at(dir, &base, &m, name, true)
            }
            other => Err(ImageError::unsafe_entry(
                name,
                format!("unsupported entry type {other:?}"),
            )),
        }
    }

    /// The parent dir of a new entry, with whatever was at `base` removed (a later entry
    /// replaces an earlier one; a directory is kept when `keep_dir`).
    fn prepare(
        &mut self,
        parent: &[String],
        base: &str,
        name: &str,
        keep_dir: bool,
    ) -> Result<BorrowedFd<'_>, ImageError> {
        let existing = {
            let dir = self.parent(parent, name)?;
            match rfs::statat(dir, base, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
                Err(Errno::NOENT) => None,
                Err(e) => return Err(ImageError::unsafe_entry(name, errno_io(e))),
            }
        };
        match existing {
            None => {}
            Some(FileType::Directory) if keep_dir => {}
            Some(FileType::Directory) => {
                // The cached parent may be inside what is removed: forget it.
                let dir = self.open_dir(parent, name)?;
                self.cache = None;
                remove_all_at(&dir, base).map_err(|e| ImageError::unsafe_entry(name, e))?;
            }
            Some(_) => {
                let dir = self.parent(parent, name)?;
                rfs::unlinkat(dir, base, AtFlags::empty())
                    .map_err(|e| ImageError::unsafe_entry(name, errno_io(e)))?;
            }
        }
        self.parent(parent, name)
    }

    fn directory(
        &mut self,
        parent: &[String],
        base: &str,
        m: &Meta,
        name: &str,
    ) -> Result<(), ImageError> {
        let dir = self.prepare(parent, base, name, true)?;
        match rfs::mkdirat(dir, base, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(ImageError::unsafe_entry(name, errno_io(e))),
        }
        let fd = rfs::openat(
            dir,
            base,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ImageError::unsafe_entry(name, errno_io(e)))?;
        apply_fd(&fd, m, name)?;
        let mut comps = parent.to_vec();
        comps.push(base.to_string());
        self.dir_times.push((comps, clone_times(&m.times)));
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        parent: &[String],
        base: &str,
        m: &Meta,
        name: &str,
    ) -> Result<(), ImageError> {
        let dir = self.prepare(parent, base, name, false)?;
        let flags = libc::O_WRONLY | libc::O_EXCL;
        let fd = beneath::create_file(dir, Path::new(base), NoSymlinks, flags, 0o600)
            .map_err(|f| ImageError::unsafe_entry(name, f.error))?;
        let mut file = std::fs::File::from(fd);
        let mut written = 0u64;
        let sparse = entry.header().entry_type() == tar::EntryType::GNUSparse;
        // A sparse entry's bytes in the tar are not the file's: the split keeps them raw.
        let split = self.split.clone().filter(|_| !sparse);
        if let Some(sp) = &split {
            sp.borrow_mut()
                .begin_file(&join(parent, base), entry.size())
                .map_err(|e| ImageError::unsafe_entry(name, e))?;
        }
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(ImageError::Tar {
                        what: format!("entry {name:?}"),
                        source: e,
                    })
                }
            };
            file.write_all(&self.buf[..n])
                .map_err(|e| ImageError::unsafe_entry(name, e))?;
            written += n as u64;
        }
        if let Some(sp) = &split {
            sp.borrow_mut().end_file();
        }
        if !sparse && written != entry.size() {
            return Err(ImageError::unsafe_entry(
                name,
                format!("truncated: {written} of {} bytes", entry.size()),
            ));
        }
        self.stats.file_bytes += written;
        apply_fd(&file, m, name)
    }

    fn whiteout(&mut self, parent: &[String], hidden: &str, name: &str) -> Result<(), ImageError> {
        if format!("{WHITEOUT_PREFIX}{hidden}") == OPAQUE {
            let fd = self.open_dir(parent, name)?;
            return rfs::fsetxattr(&fd, OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| ImageError::unsafe_entry(name, errno_io(e)));
        }
        if hidden.starts_with(WHITEOUT_PREFIX) {
            // Other aufs metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless to overlayfs.
            return Ok(());
        }
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            return Err(ImageError::unsafe_entry(name, "whiteout of nothing"));
        }
        let dir = self.prepare(parent, hidden, name, false)?;
        rfs::mknodat(
            dir,
            hidden,
            FileType::CharacterDevice,
            Mode::empty(),
            rfs::makedev(0, 0),
        )
        .map_err(|e| ImageError::unsafe_entry(name, errno_io(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_refuse_escapes() {
        assert_eq!(components("./a/b/").unwrap(), vec!["a", "b"]);
        assert!(components("../x").is_err());
        assert!(components("a/../../x").is_err());
        assert!(components("/etc/x").is_err());
        assert!(components("./").unwrap().is_empty());
    }

    #[test]
    fn symlink_escape_is_lexical() {
        let p = |s: &str| components(s).unwrap();
        assert!(!symlink_escapes(&p("a"), "/etc"));
        assert!(!symlink_escapes(&p("a/b"), "../c"));
        assert!(!symlink_escapes(&p("a"), ".."));
        assert!(symlink_escapes(&p("a"), "../.."));
        assert!(symlink_escapes(&[], "../x"));
        assert!(!symlink_escapes(&[], "x/../y"));
    }
}
