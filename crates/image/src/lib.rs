//! hull's image store.
//!
//! ```text
//! <root>/hull.db              image_* and layer_* tables (the engine's tables beside them)
//! <root>/blobs/sha256/<hex>   configs and manifests, named by their digest
//! <root>/layers/<hex>/        one unpacked layer per diff_id: an overlayfs lowerdir
//! <root>/splits/<hex>         the layer's tar minus file contents, to rebuild it for save
//! <root>/tmp/<pid>-*          work in progress, renamed into place when complete
//! <root>/locks/layer-<hex>    flock(2) files serializing work on one layer
//! ```
//!
//! Blobs are verified against their digest as they stream in; a layer is unpacked once, in
//! the same pass, and shared by every image that has it. Layer blobs are not kept: a
//! tar-split rebuilds them byte for byte for `save`, as docker's and podman's stores do.

#![forbid(unsafe_code)]

mod archive;
mod blobs;
mod built;
mod check;
mod commit;
pub mod db;
pub mod digest;
mod error;
pub mod extract;
mod images;
mod import;
pub mod layers;
pub mod perms;
mod progress;
pub mod reference;
pub mod registry;
mod save;
mod split;

use std::path::{Path, PathBuf};

pub use check::StoreReport;
pub use commit::{ChildConfig, HistoryRow};
pub use error::ImageError;
pub use images::{Image, ImageSummary};
pub use import::{apply_change, go_arch, ImportOptions};
pub use progress::{NoProgress, Progress, TtyProgress};
pub use reference::Reference;
pub use registry::PullOptions;

/// `sha256:<hex of the config blob>`, as docker prints with `--no-trunc`.
pub type ImageId = String;

/// The image store under hull's `--root`.
pub struct Store {
    root: PathBuf,
    conn: rusqlite::Connection,
    blobs: blobs::Blobs,
}

impl Store {
    /// Opens (creating as needed) the store under `root` (`/var/lib/hull`).
    pub fn open(root: &Path) -> Result<Store, ImageError> {
        // See perms.rs: crossable by a remapped container's root, nothing else for others.
        perms::ensure_dir(root, 0o711).map_err(|e| ImageError::io(root, e))?;
        for d in ["blobs", "blobs/sha256", "layers", "splits", "tmp", "locks"] {
            let p = root.join(d);
            perms::ensure_dir(&p, 0o700).map_err(|e| ImageError::io(&p, e))?;
        }
        blobs::clean_stale_temps(&root.join("tmp"));
        let conn = db::open(&root.join("hull.db"))?;
        Ok(Store {
            root: root.to_path_buf(),
            conn,
            blobs: blobs::Blobs::new(root),
        })
    }

    /// The `--root` this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }
}
