//! The layer cache: a chain of keys, each the hash of the one before and the step's own key
//! (the base image id for `FROM`; the instruction with the build args in effect for `RUN`;
//! the hash of the files' content and metadata for `COPY`/`ADD`), mapped to the image id
//! the step produced. Entries are files `<root>/build-cache/<key>` holding an image id;
//! an entry whose image is gone is a miss. `builder prune` removes them (crate::prune).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub struct Cache {
    dir: PathBuf,
}

/// The next key of the chain.
pub fn chain(prev: &str, step: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(b"\n");
    h.update(step);
    hex::encode(h.finalize())
}

impl Cache {
    pub fn open(root: &Path) -> Cache {
        Cache {
            dir: root.join("build-cache"),
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(key))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Records `key -> id` (atomically: written aside, then renamed).
    pub fn put(&self, key: &str, id: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{key}.{}", std::process::id()));
        std::fs::write(&tmp, id)?;
        std::fs::rename(&tmp, self.dir.join(key))
    }

    /// Removes the entries whose image `exists` no longer finds (after `hull image prune`).
    pub fn forget_missing(&self, exists: impl Fn(&str) -> bool) -> std::io::Result<()> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for e in rd.flatten() {
            let id = std::fs::read_to_string(e.path()).unwrap_or_default();
            if !exists(id.trim()) {
                std::fs::remove_file(e.path())?;
            }
        }
        Ok(())
    }

    /// Removes the entries `keep` refuses (it is given the key and the image id), every
    /// `RUN --mount=type=cache` directory and the context digest index. Returns the removed
    /// entries (key, image id) and the image ids of the kept ones.
    pub fn prune(&self, keep: impl Fn(&str, &str) -> bool) -> std::io::Result<Pruned> {
        let mut out = Pruned::default();
        if let Some(root) = self.dir.parent() {
            crate::index::Index::remove(root)?;
        }
        let mounts = self.dir.with_file_name("build-mounts");
        out.mount_bytes = tree_size(&mounts);
        if let Ok(rd) = std::fs::read_dir(mounts.join("cache")) {
            out.mounts = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            out.mounts.sort();
        }
        match std::fs::remove_dir_all(&mounts) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            let key = e.file_name().to_string_lossy().into_owned();
            let id = std::fs::read_to_string(e.path())
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            if !key.starts_with('.') && keep(&key, &id) {
                out.kept.push(id);
                continue;
            }
            std::fs::remove_file(e.path())?;
            if !key.starts_with('.') {
                out.removed.push((key, id));
            }
        }
        out.removed.sort();
        out.kept.sort();
        out.kept.dedup();
        Ok(out)
    }
}

/// What [`Cache::prune`] did.
#[derive(Debug, Default)]
pub struct Pruned {
    /// The entries removed: (key, image id).
    pub removed: Vec<(String, String)>,
    /// The image ids of the entries kept.
    pub kept: Vec<String>,
    /// The `RUN --mount=type=cache` directories removed (their names) and their bytes.
    pub mounts: Vec<String>,
    pub mount_bytes: u64,
}

/// The bytes of the regular files under `dir` (0 when it is missing).
fn tree_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_depends_on_every_link() {
        let a = chain("base", "RUN x");
        assert_ne!(a, chain("base", "RUN y"));
        assert_ne!(a, chain("other", "RUN x"));
        assert_eq!(a, chain("base", "RUN x"));
        let t = tempfile::tempdir().unwrap();
        let c = Cache::open(t.path());
        assert_eq!(c.get(&a), None);
        c.put(&a, "sha256:1").unwrap();
        assert_eq!(c.get(&a).as_deref(), Some("sha256:1"));
        c.put("other", "sha256:2").unwrap();
        c.forget_missing(|id| id == "sha256:1").unwrap();
        assert_eq!(c.get("other"), None);
        c.put("kept", "sha256:3").unwrap();
        let p = c.prune(|k, _| k == "kept").unwrap();
        assert_eq!(p.removed, vec![(a.clone(), "sha256:1".to_string())]);
        assert_eq!(p.kept, vec!["sha256:3"]);
        assert_eq!(c.get(&a), None);
        assert_eq!(c.get("kept").as_deref(), Some("sha256:3"));
        let p = c.prune(|_, _| false).unwrap();
        assert_eq!(p.removed.len(), 1);
        assert_eq!(c.get("kept"), None);
    }
}
