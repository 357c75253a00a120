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

/// The extended attributes a layer keeps: `security.capability` (docker's one, so a file
/// capability survives a commit) and the `user.` namespace. Overlay's own (`trusted.overlay.`:
/// opaque and redirect marks, written as `.wh.` entries instead) and the host's security
/// labels are not the image's.
fn kept_xattrs(host: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut names = vec![0u8; 4096];
    let n = match rustix::fs::llistxattr(host, &mut names[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => {
            return Err(io::Error::other(format!(
                "{}: list xattrs: {e}",
                host.display()
            )))
        }
    };
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        if name != "security.capability" && !name.starts_with("user.") {
            continue;
        }
        let mut v = vec![0u8; 65536];
        match rustix::fs::lgetxattr(host, name.as_str(), &mut v[..]) {
            Ok(len) => {
                v.truncate(len);
                out.push((name, v));
            }
            Err(rustix::io::Errno::NODATA) => {}
            Err(e) => {
                return Err(io::Error::other(format!(
                    "{}: xattr {name}: {e}",
                    host.display()
                )))
            }
        }
    }
    Ok(out)
}

/// One PAX record, `LEN KEY=VALUE\n`, LEN counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// A PAX extended header for the entry `name` carrying its xattrs as `SCHILY.xattr.NAME`
/// records (Go's archive/tar and GNU tar write them so; the extraction reads them back).
fn append_xattrs<W: Write>(
    b: &mut tar::Builder<W>,
    name: &str,
    xattrs: &[(String, Vec<u8>)],
) -> io::Result<()> {
    if xattrs.is_empty() {
        return Ok(());
    }
    let mut data = Vec::new();
    for (k, v) in xattrs {
        data.extend(pax_record(&format!("SCHILY.xattr.{k}"), v));
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    let base = name
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(name);
    let short: String = base.chars().take(80).collect();
    b.append_data(&mut h, format!("PaxHeaders.0/{short}"), data.as_slice())
}

/// Appends one entry (`name` without a leading `/`), its kept xattrs first.
fn append<W: Write>(
    b: &mut tar::Builder<W>,
    name: &str,
    host: &Path,
    md: &std::fs::Metadata,
) -> io::Result<()> {
    append_xattrs(b, name, &kept_xattrs(host)?)?;
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

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record("a", b"b"), b"6 a=b\n");
        let r = pax_record("SCHILY.xattr.user.k", &[b'v'; 80]);
        let len: usize = String::from_utf8_lossy(&r)
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, r.len());
    }

    #[test]
    fn user_xattrs_are_kept_in_the_layer() {
        let t = tempfile::tempdir().unwrap();
        let upper = t.path().join("upper");
        std::fs::create_dir_all(&upper).unwrap();
        let f = upper.join("f");
        std::fs::write(&f, "x").unwrap();
        if rustix::fs::lsetxattr(&f, "user.hull", b"v1", rustix::fs::XattrFlags::empty()).is_err() {
            return; // no user xattrs on this filesystem
        }
        let mut tar = Vec::new();
        assert!(layer_tar(&upper, &mut tar).unwrap());
        let mut a = tar::Archive::new(tar.as_slice());
        let mut e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().display().to_string(), "f");
        let exts: Vec<(String, Vec<u8>)> = e
            .pax_extensions()
            .unwrap()
            .expect("pax header")
            .map(|x| {
                let x = x.unwrap();
                (x.key().unwrap().to_string(), x.value_bytes().to_vec())
            })
            .collect();
        assert_eq!(
            exts,
            [("SCHILY.xattr.user.hull".to_string(), b"v1".to_vec())]
        );
    }
}
