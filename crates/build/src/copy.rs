//! `COPY` and `ADD` as docker's classic builder does them (builder/dockerfile/copy.go),
//! written straight into a layer tar: a plan of entries is made first, whose hash is the
//! step's cache key (paths, modes, owners, sizes, link targets and contents; not mtimes),
//! and the tar is written only on a cache miss.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::index::Index;
use crate::BuildError;

/// Where an entry's bytes come from.
#[derive(Debug, Clone)]
enum Body {
    Dir,
    File(PathBuf),
    Symlink(PathBuf),
    Inline(Vec<u8>),
    /// A local tar archive `ADD` unpacks into the entry's path.
    Archive(PathBuf),
}

#[derive(Debug, Clone)]
struct Entry {
    /// In the image, relative to `/`, no trailing slash.
    path: String,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u64,
    body: Body,
}

/// What one `COPY`/`ADD` writes.
#[derive(Debug, Default)]
pub struct Plan {
    entries: Vec<Entry>,
    /// The paths of `entries`, and the parents found in the image: a 2000-file `COPY` made
    /// this plan quadratic when each new entry scanned the ones before.
    paths: HashSet<String>,
    in_image: HashSet<String>,
}

/// A source: its host path (context or `--from` image) and whether a context dir's
/// children are filtered by `.dockerignore` (`rel` is its path in the context).
pub struct Src<'a> {
    pub host: PathBuf,
    pub rel: Option<String>,
    pub ignored: &'a dyn Fn(&str) -> bool,
}

pub struct Opts<'a> {
    /// Absolute destination as written (a trailing `/` means a directory).
    pub dest: &'a str,
    /// Whether the destination exists as a directory in the image.
    pub dest_is_dir: bool,
    pub owner: (u32, u32),
    pub chmod: Option<u32>,
    /// `ADD`: local tar archives are unpacked.
    pub add: bool,
    /// The image's existing directories are not re-created (their metadata kept).
    pub exists: &'a dyn Fn(&str) -> bool,
}

fn rel(p: &str) -> String {
    crate::ignore::clean(p)
}

fn mtime(md: &std::fs::Metadata) -> u64 {
    md.mtime().max(0) as u64
}

fn is_archive(path: &Path) -> bool {
    let mut magic = [0u8; 262];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .unwrap_or(0);
    (n >= 2 && magic[..2] == [0x1f, 0x8b]) || (n >= 262 && &magic[257..262] == b"ustar")
}

impl Plan {
    /// Parent directories of `path` that the image lacks, made 0755 with the owner.
    fn parents(&mut self, path: &str, o: &Opts<'_>) {
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            acc = if acc.is_empty() {
                p.to_string()
            } else {
                format!("{acc}/{p}")
            };
            if self.paths.contains(&acc) || self.in_image.contains(&acc) {
                continue;
            }
            if (o.exists)(&acc) {
                self.in_image.insert(acc.clone());
            } else {
                self.paths.insert(acc.clone());
                self.entries.push(Entry {
                    path: acc.clone(),
                    mode: 0o755,
                    uid: o.owner.0,
                    gid: o.owner.1,
                    mtime: 0,
                    body: Body::Dir,
                });
            }
        }
    }

    fn push(&mut self, e: Entry, o: &Opts<'_>) {
        self.parents(&e.path, o);
        if !self.paths.insert(e.path.clone()) {
            self.entries.retain(|x| x.path != e.path);
        }
        self.entries.push(e);
    }

    /// Adds the sources of one instruction. `many`: more than one source (the destination
    /// must then be a directory).
    pub fn add_sources(&mut self, srcs: &[Src<'_>], o: &Opts<'_>) -> Result<(), BuildError> {
        let dir_dest = o.dest.ends_with('/') || o.dest.ends_with("/.") || o.dest_is_dir;
        let dest = rel(o.dest);
        let dest = if dest == "." { String::new() } else { dest };
        let join = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_string()
            } else {
                format!("{a}/{b}")
            }
        };
        for s in srcs {
            let md = s.host.symlink_metadata().map_err(|e| {
                BuildError::msg(format!("COPY failed: stat {}: {e}", s.host.display()))
            })?;
            if md.is_dir() {
                if !dest.is_empty() && !(o.exists)(&dest) {
                    self.push(self.entry(&dest, &md, Body::Dir, o), o);
                }
                self.add_tree(&s.host, s.rel.as_deref(), &dest, s.ignored, o)?;
            } else if o.add && md.is_file() && is_archive(&s.host) {
                if !dest.is_empty() && !(o.exists)(&dest) {
                    self.push(self.dir_entry(&dest, o), o);
                }
                self.paths.insert(dest.clone());
                self.entries.push(Entry {
                    path: dest.clone(),
                    mode: 0,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                    body: Body::Archive(s.host.clone()),
                });
            } else {
                let name = s
                    .host
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target = if dir_dest {
                    join(&dest, &name)
                } else {
                    dest.clone()
                };
                let body = if md.file_type().is_symlink() {
                    Body::Symlink(std::fs::read_link(&s.host).map_err(|e| {
                        BuildError::msg(format!("readlink {}: {e}", s.host.display()))
                    })?)
                } else {
                    Body::File(s.host.clone())
                };
                let e = self.entry(&target, &md, body, o);
                self.push(e, o);
            }
        }
        Ok(())
    }

    /// A directory (WORKDIR's), with the parents the image lacks.
    pub fn add_dir(&mut self, path: &str, o: &Opts<'_>) {
        let e = self.dir_entry(&rel(path), o);
        self.push(e, o);
    }

    /// A heredoc's body as a file.
    pub fn add_inline(&mut self, name: &str, content: &[u8], o: &Opts<'_>) {
        self.add_bytes(name, content, 0o644, 0, o);
    }

    /// A file of `content` named `name` in a directory destination (else the destination
    /// itself); `--chmod` wins over `mode`.
    pub fn add_bytes(&mut self, name: &str, content: &[u8], mode: u32, mtime: u64, o: &Opts<'_>) {
        let dest = rel(o.dest);
        let target = if o.dest.ends_with('/') || o.dest_is_dir {
            format!("{dest}/{name}")
        } else {
            dest
        };
        let e = Entry {
            path: target,
            mode: o.chmod.unwrap_or(mode),
            uid: o.owner.0,
            gid: o.owner.1,
            mtime,
            body: Body::Inline(content.to_vec()),
        };
        self.push(e, o);
    }

    fn dir_entry(&self, path: &str, o: &Opts<'_>) -> Entry {
        Entry {
            path: path.to_string(),
            mode: 0o755,
            uid: o.owner.0,
            gid: o.owner.1,
            mtime: 0,
            body: Body::Dir,
        }
    }

    fn entry(&self, path: &str, md: &std::fs::Metadata, body: Body, o: &Opts<'_>) -> Entry {
        let mode = match (&body, o.chmod) {
            (Body::Symlink(_), _) => 0o777,
            (_, Some(m)) => m,
            _ => md.permissions().mode() & 0o7777,
        };
        Entry {
            path: path.to_string(),
            mode,
            uid: o.owner.0,
            gid: o.owner.1,
            mtime: mtime(md),
            body,
        }
    }

    fn add_tree(
        &mut self,
        dir: &Path,
        ctx_rel: Option<&str>,
        dest: &str,
        ignored: &dyn Fn(&str) -> bool,
        o: &Opts<'_>,
    ) -> Result<(), BuildError> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| BuildError::msg(format!("COPY failed: read {}: {e}", dir.display())))?
            .filter_map(|e| e.ok())
            .collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().into_owned();
            let crel = ctx_rel.map(|r| {
                if r.is_empty() {
                    name.clone()
                } else {
                    format!("{r}/{name}")
                }
            });
            let host = e.path();
            let md = host
                .symlink_metadata()
                .map_err(|err| BuildError::msg(format!("stat {}: {err}", host.display())))?;
            let is_dir = md.is_dir();
            let skip = crel.as_deref().is_some_and(ignored);
            let target = if dest.is_empty() {
                name.clone()
            } else {
                format!("{dest}/{name}")
            };
            if skip && !is_dir {
                continue;
            }
            if is_dir {
                // An ignored dir is still walked for children a `!` pattern brings back.
                if !skip {
                    self.paths.insert(target.clone());
                    self.entries.push(self.entry(&target, &md, Body::Dir, o));
                }
                self.add_tree(&host, crel.as_deref(), &target, ignored, o)?;
                continue;
            }
            let body = if md.file_type().is_symlink() {
                Body::Symlink(std::fs::read_link(&host).map_err(|err| {
                    BuildError::msg(format!("readlink {}: {err}", host.display()))
                })?)
            } else if md.is_file() {
                Body::File(host.clone())
            } else {
                continue; // sockets, fifos, devices: docker's context has none either
            };
            let en = self.entry(&target, &md, body, o);
            self.push(en, o);
        }
        Ok(())
    }

    /// The cache key of what this plan writes (sha256 hex); file contents by their digest,
    /// from `index` when their stat is unchanged since it hashed them.
    pub fn digest(&self, index: &Index) -> Result<String, BuildError> {
        let mut h = Sha256::new();
        for e in &self.entries {
            h.update(format!("{}\0{:o}\0{}\0{}\0", e.path, e.mode, e.uid, e.gid));
            match &e.body {
                Body::Dir => h.update(b"d"),
                Body::Symlink(t) => h.update(format!("l{}", t.display())),
                Body::Inline(b) => {
                    h.update(b"f");
                    h.update(b);
                }
                Body::File(p) | Body::Archive(p) => {
                    h.update(if matches!(e.body, Body::File(_)) {
                        b"f"
                    } else {
                        b"a"
                    });
                    let md = std::fs::metadata(p)
                        .map_err(|err| BuildError::msg(format!("stat {}: {err}", p.display())))?;
                    h.update(index.digest(p, &md)?);
                }
            }
            h.update(b"\n");
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Writes the layer tar.
    pub fn write(&self, out: &mut dyn Write) -> Result<(), BuildError> {
        let err =
            |what: &str, e: std::io::Error| BuildError::msg(format!("write layer: {what}: {e}"));
        let mut b = tar::Builder::new(out);
        for e in &self.entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(e.mode);
            h.set_uid(e.uid.into());
            h.set_gid(e.gid.into());
            h.set_mtime(e.mtime);
            match &e.body {
                Body::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    b.append_data(&mut h, format!("{}/", e.path), std::io::empty())
                        .map_err(|x| err(&e.path, x))?;
                }
                Body::Symlink(t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, &e.path, t)
                        .map_err(|x| err(&e.path, x))?;
                }
                Body::Inline(bytes) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(bytes.len() as u64);
                    b.append_data(&mut h, &e.path, bytes.as_slice())
                        .map_err(|x| err(&e.path, x))?;
                }
                Body::File(p) => {
                    let f = std::fs::File::open(p).map_err(|x| err(&p.display().to_string(), x))?;
                    let len = f.metadata().map_err(|x| err(&e.path, x))?.len();
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(len);
                    b.append_data(&mut h, &e.path, f)
                        .map_err(|x| err(&e.path, x))?;
                }
                Body::Archive(p) => unpack_into(&mut b, p, &e.path)?,
            }
        }
        b.finish().map_err(|x| err("finish", x))
    }
}

/// `ADD`'s local archive: every entry re-written under `dest`, as docker's untar keeps its
/// owners and modes.
fn unpack_into(
    b: &mut tar::Builder<&mut dyn Write>,
    archive: &Path,
    dest: &str,
) -> Result<(), BuildError> {
    let err = |e: std::io::Error| BuildError::msg(format!("ADD {}: {e}", archive.display()));
    let f = std::fs::File::open(archive).map_err(err)?;
    let mut r = std::io::BufReader::new(f);
    let mut magic = [0u8; 2];
    {
        use std::io::BufRead;
        let buf = r.fill_buf().map_err(err)?;
        if buf.len() >= 2 {
            magic.copy_from_slice(&buf[..2]);
        }
    }
    let src: Box<dyn Read> = if magic == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(r))
    } else {
        Box::new(r)
    };
    let mut a = tar::Archive::new(src);
    for ent in a.entries().map_err(err)? {
        let mut ent = ent.map_err(err)?;
        let path = ent.path().map_err(err)?.to_string_lossy().into_owned();
        let clean = rel(&path);
        if clean == "." || clean.starts_with("..") {
            continue;
        }
        let full = if dest.is_empty() {
            clean
        } else {
            format!("{dest}/{clean}")
        };
        let mut h = ent.header().clone();
        match h.entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = ent
                    .link_name()
                    .map_err(err)?
                    .unwrap_or_default()
                    .into_owned();
                let target = if h.entry_type() == tar::EntryType::Link {
                    PathBuf::from(if dest.is_empty() {
                        rel(&target.to_string_lossy())
                    } else {
                        format!("{dest}/{}", rel(&target.to_string_lossy()))
                    })
                } else {
                    target
                };
                b.append_link(&mut h, &full, target).map_err(err)?;
            }
            tar::EntryType::Directory => {
                b.append_data(&mut h, format!("{full}/"), std::io::empty())
                    .map_err(err)?;
            }
            _ => {
                b.append_data(&mut h, &full, &mut ent).map_err(err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
