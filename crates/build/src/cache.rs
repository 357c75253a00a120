//! The layer cache: a chain of keys, each the hash of the one before and the step's own key
//! (the base image id for `FROM`; the instruction with the build args in effect for `RUN`;
//! the hash of the files' content and metadata for `COPY`/`ADD`), mapped to the image id
//! the step produced. Entries are files `<root>/build-cache/<key>` holding an image id;
//! an entry whose image is gone is a miss. `builder prune` removes them.

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

    /// Removes every entry, every `RUN --mount=type=cache` directory and the context digest
    /// index; returns the image ids the entries named.
    pub fn prune(&self) -> std::io::Result<Vec<String>> {
        if let Some(root) = self.dir.parent() {
            crate::index::Index::remove(root)?;
        }
        let mounts = self.dir.with_file_name("build-mounts");
        match std::fs::remove_dir_all(&mounts) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut ids = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(ids);
        };
        for e in rd.flatten() {
            if let Ok(id) = std::fs::read_to_string(e.path()) {
                ids.push(id.trim().to_string());
            }
            std::fs::remove_file(e.path())?;
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
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
        assert_eq!(c.prune().unwrap(), vec!["sha256:1"]);
        assert_eq!(c.get(&a), None);
    }
}
