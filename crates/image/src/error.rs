//! The one error type of the image store. Every message is lowercase and names the thing it is
//! about: the file, the layer entry, the digest or the reference.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("image database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("invalid reference format: {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    #[error("no such image: {0}")]
    NotFound(String),
    #[error("{name}: ambiguous short id, matches {count} images")]
    Ambiguous { name: String, count: usize },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("invalid digest {0:?}: want sha256:<64 hex digits>")]
    BadDigest(String),
    #[error("layer entry {entry:?}: {reason}")]
    UnsafeEntry { entry: String, reason: String },
    #[error("layer {what}: {source}")]
    Tar { what: String, source: io::Error },
    #[error("{file}: {reason}")]
    Archive { file: String, reason: String },
    #[error("{file}: {source}")]
    Json {
        file: String,
        source: serde_json::Error,
    },
    #[error("--change {change:?}: {reason}")]
    Change { change: String, reason: String },
    #[error("image {image} is in use: {reason}")]
    Conflict { image: String, reason: String },
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    #[error("{0}")]
    Other(String),
}

impl ImageError {
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        ImageError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn archive(file: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        ImageError::Archive {
            file: file.to_string(),
            reason: reason.to_string(),
        }
    }

    pub fn unsafe_entry(entry: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        ImageError::UnsafeEntry {
            entry: entry.to_string(),
            reason: reason.to_string(),
        }
    }

    pub fn registry(registry: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        ImageError::Registry {
            registry: registry.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Adds the path to an io::Error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ImageError>;
}

impl<T> IoContext<T> for Result<T, io::Error> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ImageError> {
        self.map_err(|e| ImageError::io(path, e))
    }
}
