//! Content-addressed blobs: `<root>/blobs/sha256/<hex>`. A blob is written to a temp file
//! under `<root>/tmp`, verified, then renamed into place, so a blob that exists is complete
//! and has the digest it is named by.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::digest::{hex_of, sha256_of, verify};
use crate::error::{ImageError, IoContext};

pub(crate) struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
}

impl Blobs {
    pub(crate) fn new(root: &Path) -> Blobs {
        Blobs {
            dir: root.join("blobs/sha256"),
            tmp: root.join("tmp"),
        }
    }

    pub(crate) fn path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self.dir.join(hex_of(digest)?))
    }

    pub(crate) fn exists(&self, digest: &str) -> bool {
        self.path(digest).map(|p| p.exists()).unwrap_or(false)
    }

    /// A temp file for a blob being written; removed when dropped unless committed.
    pub(crate) fn temp(&self) -> Result<tempfile::NamedTempFile, ImageError> {
        temp_file_in(&self.tmp)
    }

    /// Moves a verified temp file into place as `digest`.
    pub(crate) fn commit(
        &self,
        tmp: tempfile::NamedTempFile,
        digest: &str,
    ) -> Result<PathBuf, ImageError> {
        let path = self.path(digest)?;
        tmp.persist(&path)
            .map_err(|e| ImageError::io(&path, e.error))?;
        Ok(path)
    }

    /// Stores `data`, checking it against `expected` first.
    pub(crate) fn put(
        &self,
        what: &str,
        data: &[u8],
        expected: Option<&str>,
    ) -> Result<String, ImageError> {
        let digest = sha256_of(data);
        verify(what, expected, &digest)?;
        if !self.exists(&digest) {
            let mut tmp = self.temp()?;
            tmp.write_all(data).at(tmp.path())?;
            self.commit(tmp, &digest)?;
        }
        Ok(digest)
    }

    pub(crate) fn read(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let p = self.path(digest)?;
        std::fs::read(&p).at(&p)
    }

    pub(crate) fn remove(&self, digest: &str) {
        if let Ok(p) = self.path(digest) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Temp files and dirs are named `<pid>-...` so a later `hull` can tell which belong to a
/// process that died and remove them.
pub(crate) fn temp_prefix() -> String {
    format!("{}-", std::process::id())
}

pub(crate) fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile, ImageError> {
    tempfile::Builder::new()
        .prefix(&temp_prefix())
        .tempfile_in(dir)
        .at(dir)
}

pub(crate) fn temp_dir_in(dir: &Path) -> Result<tempfile::TempDir, ImageError> {
    tempfile::Builder::new()
        .prefix(&temp_prefix())
        .tempdir_in(dir)
        .at(dir)
}

/// Removes what killed processes left in `<root>/tmp`.
pub(crate) fn clean_stale_temps(tmp: &Path) {
    let Ok(rd) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = std::fs::File::open(tmp);
        if let Ok(dir) = dir {
            let _ = crate::extract::remove_all_at(&dir, &name);
        }
    }
}
