//! A container's changes to its image, read from its overlay upper dir: `hull diff`'s A/C/D
//! lines (docker's rules, archive/changes.go), the layer tar `hull commit` stores (overlay
//! whiteouts turned into docker's `.wh.` entries), and `hull export`'s tar of a whole tree.
//!
//! The runtime creates mount points in the upper dir (`/etc/hosts`, `/proc`, `/dev/pts`...)
//! that docker keeps in its hidden init layer: these stubs are left out of `diff` and
//! `commit`, as docker leaves them out, unless the container wrote into them.

use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Mount points hull's runtime makes, which docker's init layer holds (daemon/initlayer).
const INIT_STUBS: &[&str] = &[
    "/dev",
    "/dev/pts",
    "/dev/shm",
    "/dev/console",
    "/dev/mqueue",
    "/proc",
    "/sys",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/mtab",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Changed,
    Deleted,
}

impl Kind {
    pub fn letter(self) -> char {
        match self {
            Kind::Added => 'A',
            Kind::Changed => 'C',
            Kind::Deleted => 'D',
        }
    }
}

/// One line of `hull diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    /// Absolute, inside the container.
    pub path: String,
}

/// An overlayfs whiteout: a character device 0/0.
fn is_whiteout(md: &std::fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

/// An overlayfs opaque directory (its lower contents hidden).
fn is_opaque(path: &Path) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"]
        .iter()
        .any(|name| {
            let mut buf = [0u8; 4];
            matches!(rustix::fs::lgetxattr(path, *name, &mut buf), Ok(1) if buf[0] == b'y')
        })
}

/// Entries under `dir`, sorted by name (Go's filepath.Walk order).
fn sorted(dir: &Path) -> io::Result<Vec<(String, std::fs::Metadata)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        out.push((e.file_name().to_string_lossy().into_owned(), e.metadata()?));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Calls `f(path inside, host path, metadata)` for every entry below `root`, parents first.
/// `f` returns false to skip a directory's contents.
fn walk(
    root: &Path,
    inside: &str,
    f: &mut dyn FnMut(&str, &Path, &std::fs::Metadata) -> io::Result<bool>,
) -> io::Result<()> {
    for (name, md) in sorted(&root.join(inside.trim_start_matches('/')))? {
        let path = format!("{}/{name}", inside.trim_end_matches('/'));
        let host = root.join(path.trim_start_matches('/'));
        if f(&path, &host, &md)? && md.is_dir() {
            walk(root, &path, f)?;
        }
    }
    Ok(())
}

/// An empty mount-point stub the runtime made, which docker keeps in its init layer, or a
/// directory copied up only to hold such stubs (`/etc` for `/etc/hosts`).
fn is_stub(path: &str, host: &Path, md: &std::fs::Metadata) -> bool {
    if !md.is_dir() {
        return md.len() == 0 && INIT_STUBS.contains(&path);
    }
    let Ok(entries) = sorted(host) else {
        return false;
    };
    (INIT_STUBS.contains(&path) || !entries.is_empty())
        && entries.iter().all(|(name, md)| {
            let p = format!("{}/{name}", path.trim_end_matches('/'));
            is_stub(&p, &host.join(name), md)
        })
}

fn same_dir(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len()
        && a.mode() == b.mode()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
}

/// docker's changes of `upper` over `lowers` (bottom first): a whiteout is D, an entry that
/// exists in a lower layer is C (a directory only when its size, mode or mtime differ), any
/// other is A; the parent directory of an A or D is C.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> io::Result<Vec<Change>> {
    let mut out: Vec<Change> = Vec::new();
    let mut changed_dirs = std::collections::HashSet::new();
    walk(upper, "/", &mut |path, host, md| {
        if is_stub(path, host, md) {
            return Ok(false);
        }
        let rel = path.trim_start_matches('/');
        let kind = if is_whiteout(md) {
            Kind::Deleted
        } else {
            let lower = lowers
                .iter()
                .rev()
                .find_map(|l| std::fs::metadata(l.join(rel)).ok());
            match lower {
                None => Kind::Added,
                Some(l) if l.is_dir() && md.is_dir() && same_dir(md, &l) => return Ok(true),
                Some(_) => Kind::Changed,
            }
        };
        if md.is_dir() {
            changed_dirs.insert(path.to_string());
        }
        if kind != Kind::Changed {
            let parent = Path::new(path).parent().map(|p| p.display().to_string());
            if let Some(p) = parent.filter(|p| p != "/") {
                if changed_dirs.insert(p.clone()) {
                    out.push(Change {
                        kind: Kind::Changed,
                        path: p,
                    });
                }
            }
        }
        out.push(Change {
            kind,
            path: path.to_string(),
        });
        Ok(true)
    })?;
    Ok(out)
}

/// A tar header for `md`, uid/gid/mode/mtime as on disk.
fn header(md: &std::fs::Metadata) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(md, tar::HeaderMode::Complete);
    let ft = md.file_type();
    if ft.is_char_device() || ft.is_block_device() {
        let dev = md.rdev();
        let _ = h.set_device_major(libc::major(dev));
        let _ = h.set_device_minor(libc::minor(dev));
    }
    h
}

/// Appends one entry (`name` without a leading `/`).
fn append<W: Write>(
    b: &mut tar::Builder<W>,
    name: &str,
    host: &Path,
    md: &std::fs::Metadata,
) -> io::Result<()> {
    let mut h = header(md);
    let ft = md.file_type();
    if ft.is_symlink() {
        h.set_size(0);
        b.append_link(&mut h, name, std::fs::read_link(host)?)
    } else if ft.is_file() {
        b.append_data(&mut h, name, std::fs::File::open(host)?)
    } else if ft.is_dir() {
        h.set_size(0);
        b.append_data(&mut h, format!("{name}/"), io::empty())
    } else {
        h.set_size(0);
        b.append_data(&mut h, name, io::empty())
    }
}

/// The container's changes as a layer tar (docker's format: a whiteout becomes an empty
/// `.wh.NAME`, an opaque directory gets `.wh..wh..opq`). Returns whether it has any entry.
pub(crate) fn layer_tar(upper: &Path, out: &mut dyn Write) -> io::Result<bool> {
    let mut b = tar::Builder::new(out);
    let mut any = false;
    walk(upper, "/", &mut |path, host, md| {
        if is_stub(path, host, md) {
            return Ok(false);
        }
        any = true;
        let name = path.trim_start_matches('/');
        if is_whiteout(md) {
            let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
            let wh = if dir.is_empty() {
                format!(".wh.{base}")
            } else {
                format!("{dir}/.wh.{base}")
            };
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_mtime(md.mtime().max(0) as u64);
            h.set_size(0);
            b.append_data(&mut h, wh, io::empty())?;
            return Ok(false);
        }
        append(&mut b, name, host, md)?;
        if md.is_dir() && is_opaque(host) {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(0);
            b.append_data(&mut h, format!("{name}/.wh..wh..opq"), io::empty())?;
        }
        Ok(true)
    })?;
    b.finish()?;
    Ok(any)
}

/// `hull export`: every entry of the tree at `root` (a container's merged rootfs), parents
/// first, symlinks as links.
pub fn tree_tar(root: &Path, out: &mut dyn Write) -> io::Result<()> {
    let mut b = tar::Builder::new(out);
    walk(root, "/", &mut |path, host, md| {
        append(&mut b, path.trim_start_matches('/'), host, md)?;
        Ok(true)
    })?;
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[Change]) -> Vec<String> {
        v.iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect()
    }

    #[test]
    fn added_changed_and_parents() {
        let t = tempfile::tempdir().unwrap();
        let lower = t.path().join("lower");
        let upper = t.path().join("upper");
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::write(lower.join("etc/passwd"), "root").unwrap();
        std::fs::create_dir_all(upper.join("etc")).unwrap();
        std::fs::write(upper.join("etc/passwd"), "root2").unwrap();
        std::fs::write(upper.join("etc/new"), "x").unwrap();
        std::fs::create_dir_all(upper.join("srv/a")).unwrap();
        std::fs::create_dir_all(upper.join("proc")).unwrap();
        let got = changes(&upper, &[lower]).unwrap();
        assert_eq!(
            lines(&got),
            [
                "C /etc",
                "A /etc/new",
                "C /etc/passwd",
                "A /srv",
                "A /srv/a"
            ]
        );
        let mut tar = Vec::new();
        assert!(layer_tar(&upper, &mut tar).unwrap());
        let mut a = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["etc/", "etc/new", "etc/passwd", "srv/", "srv/a/"]);
    }
}
