//! The context's digest index: for each file a `COPY`/`ADD` read, its stat (device, inode,
//! size, mtime and ctime in nanoseconds, mode) and the sha256 of its content, so the next
//! build hashes only the files whose stat changed (BuildKit keeps such an index too, per
//! local source). Kept in `<root>/build-index` (one line a file), rewritten at the end of a
//! build that added to it; `hull builder prune` removes it.
//!
//! A file is re-hashed when any of those fields differ. ctime is the one a user cannot set
//! (`touch -d`, `touch -r` and tar's extraction set mtime only; any write or chmod moves
//! ctime to now), so a file rewritten with the same size and its mtime restored is still
//! seen as changed. BuildKit compares name, mode, size and mtime only and keeps the stale
//! content in that case (moby/buildkit#2592, #4817).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::BuildError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i128,
    ctime: i128,
    mode: u32,
}

impl Stat {
    fn of(md: &std::fs::Metadata) -> Stat {
        Stat {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime: i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
            ctime: i128::from(md.ctime()) * 1_000_000_000 + i128::from(md.ctime_nsec()),
            mode: md.mode(),
        }
    }
}

/// The index of one build (loaded at its start, saved at its end).
pub struct Index {
    file: Option<PathBuf>,
    /// Only files under this directory (the context) are recorded.
    under: PathBuf,
    map: Mutex<HashMap<PathBuf, (Stat, [u8; 32])>>,
    dirty: Mutex<bool>,
}

/// A file's content digest, streamed.
pub fn hash_file(p: &Path) -> Result<[u8; 32], BuildError> {
    let mut f = std::fs::File::open(p)
        .map_err(|err| BuildError::msg(format!("open {}: {err}", p.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|err| BuildError::msg(format!("read {}: {err}", p.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

impl Index {
    /// No index: every file is hashed (a `COPY --from` image, a tar context).
    pub fn none() -> Index {
        Index {
            file: None,
            under: PathBuf::new(),
            map: Mutex::new(HashMap::new()),
            dirty: Mutex::new(false),
        }
    }

    /// The index under `root` (empty when missing or unreadable: it is only a cache), for
    /// the files of the context directory `under`.
    pub fn open(root: &Path, under: &Path) -> Index {
        let file = root.join("build-index");
        let mut map = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                if let Some((p, v)) = parse_line(line) {
                    map.insert(p, v);
                }
            }
        }
        Index {
            file: Some(file),
            under: under.to_path_buf(),
            map: Mutex::new(map),
            dirty: Mutex::new(false),
        }
    }

    /// The content digest of `p`, whose metadata is `md`: from the index when its stat is
    /// unchanged, else hashed now (and recorded).
    pub fn digest(&self, p: &Path, md: &std::fs::Metadata) -> Result<[u8; 32], BuildError> {
        let st = Stat::of(md);
        let used = self.file.is_some() && p.starts_with(&self.under);
        if used {
            if let Some((s, d)) = self.map.lock().expect("index").get(p) {
                if *s == st {
                    return Ok(*d);
                }
            }
        }
        let d = hash_file(p)?;
        // Stat again: a file written while it was read is not recorded (hashed next time).
        let after = std::fs::symlink_metadata(p).map(|m| Stat::of(&m)).ok();
        if used && after == Some(st) {
            self.map
                .lock()
                .expect("index")
                .insert(p.to_path_buf(), (st, d));
            *self.dirty.lock().expect("index") = true;
        }
        Ok(d)
    }

    /// Writes the index back when this build added to it (aside, then renamed). Entries
    /// whose file is gone are dropped.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        if !*self.dirty.lock().expect("index") {
            return;
        }
        let map = self.map.lock().expect("index");
        let mut out = Vec::with_capacity(map.len() * 160);
        for (p, (s, d)) in map.iter() {
            let Some(ps) = p.to_str() else { continue };
            if ps.contains('\n') || std::fs::symlink_metadata(p).is_err() {
                continue;
            }
            let _ = writeln!(
                out,
                "{} {} {} {} {} {:o} {} {ps}",
                s.dev,
                s.ino,
                s.size,
                s.mtime,
                s.ctime,
                s.mode,
                hex::encode(d)
            );
        }
        let tmp = file.with_extension(format!("{}", std::process::id()));
        if std::fs::write(&tmp, &out).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }

    /// Removes the index (`hull builder prune`).
    pub fn remove(root: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(root.join("build-index")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn parse_line(line: &str) -> Option<(PathBuf, (Stat, [u8; 32]))> {
    let mut it = line.splitn(8, ' ');
    let dev = it.next()?.parse().ok()?;
    let ino = it.next()?.parse().ok()?;
    let size = it.next()?.parse().ok()?;
    let mtime = it.next()?.parse().ok()?;
    let ctime = it.next()?.parse().ok()?;
    let mode = u32::from_str_radix(it.next()?, 8).ok()?;
    let mut d = [0u8; 32];
    hex::decode_to_slice(it.next()?, &mut d).ok()?;
    let p = PathBuf::from(it.next()?);
    Some((
        p,
        (
            Stat {
                dev,
                ino,
                size,
                mtime,
                ctime,
                mode,
            },
            d,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_stat_skips_the_read_and_a_restored_mtime_does_not_fool_it() {
        let root = tempfile::tempdir().unwrap();
        let f = root.path().join("f");
        std::fs::write(&f, "aaaa").unwrap();
        let md = std::fs::metadata(&f).unwrap();
        let idx = Index::open(root.path(), root.path());
        let d1 = idx.digest(&f, &md).unwrap();
        assert_eq!(d1, hash_file(&f).unwrap());
        idx.save();
        // Reloaded from disk: the entry is used without reading the file (made unreadable
        // by content: a lying entry shows the index was used).
        let idx = Index::open(root.path(), root.path());
        let st = Stat::of(&md);
        idx.map.lock().unwrap().insert(f.clone(), (st, [7u8; 32]));
        assert_eq!(idx.digest(&f, &md).unwrap(), [7u8; 32]);
        // Same size, mtime put back: ctime moved, so it is hashed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, "bbbb").unwrap();
        let t = std::fs::FileTimes::new().set_modified(md.modified().unwrap());
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_times(t)
            .unwrap();
        let md2 = std::fs::metadata(&f).unwrap();
        assert_eq!(md2.mtime_nsec(), md.mtime_nsec());
        assert_eq!(md2.len(), md.len());
        let d2 = idx.digest(&f, &md2).unwrap();
        assert_eq!(d2, hash_file(&f).unwrap());
        assert_ne!(d2, d1);
        Index::remove(root.path()).unwrap();
        assert!(!root.path().join("build-index").exists());
    }
}
