//! Layers, unpacked once and shared: `<root>/layers/<diff_id hex>/` holds one layer's files,
//! ready to be an overlayfs lowerdir, whatever images use it.
//!
//! A layer is stored in one pass over its bytes: they are hashed as they are read (the blob
//! digest), decompressed, hashed again (the diff_id), recorded minus file contents into a
//! tar-split (split.rs) and unpacked into a temp dir. The blob itself is not kept: `save`
//! rebuilds the exact tar from the split and the files. Only when both digests check out are
//! the split and the dir renamed into place, and only then is the row committed, so a killed
//! process leaves no half layer that looks complete. A per-layer lock file serializes two
//! processes storing the same layer: the second waits, then finds it done and reuses it.

use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use rustix::fs::{self as rfs, FlockOperation, Mode, OFlags};

use crate::blobs::temp_dir_in;
use crate::digest::{hex_of, verify, HashReader};
use crate::error::{ImageError, IoContext};
use crate::extract;
use crate::split::{SplitTee, SplitWriter};
use crate::Store;

pub const MEDIA_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

const BUF: usize = 1 << 20;

/// A stored layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub diff_id: String,
    pub blob_digest: String,
    pub blob_size: u64,
    pub media_type: String,
    pub diff_size: u64,
}

/// What the caller knows about a layer before reading it (from a manifest or config).
#[derive(Debug, Default, Clone, Copy)]
pub struct Expect<'a> {
    /// Used in errors: `layer 2 of busybox`, `blobs/sha256/ab..`.
    pub what: &'a str,
    pub blob_digest: Option<&'a str>,
    pub blob_size: Option<u64>,
    pub diff_id: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => MEDIA_TAR,
            Compression::Gzip => MEDIA_TAR_GZIP,
            Compression::Zstd => MEDIA_TAR_ZSTD,
        }
    }

    /// A reader of the uncompressed bytes.
    pub fn decoder<'a, R: BufRead + 'a>(self, r: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(r),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
            Compression::Zstd => Box::new(
                ruzstd::decoding::StreamingDecoder::new(r)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
            ),
        })
    }
}

/// An exclusive lock on one layer, held while it is checked, unpacked and committed.
pub(crate) struct LayerLock {
    _fd: OwnedFd,
    path: PathBuf,
}

impl LayerLock {
    /// Removes the lock file, while still holding it, once the layer it guards is not stored
    /// (a failed unpack, a deleted layer). Whoever waited on this file finds it unlinked when
    /// it gets the lock and starts over with a new one (see `lock_layer`).
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Store {
    pub(crate) fn layer_dir(&self, diff_id: &str) -> Result<PathBuf, ImageError> {
        Ok(self.root.join("layers").join(hex_of(diff_id)?))
    }

    pub(crate) fn lock_layer(&self, diff_id: &str) -> Result<LayerLock, ImageError> {
        let path = self
            .root
            .join("locks")
            .join(format!("layer-{}", hex_of(diff_id)?));
        loop {
            let fd = rfs::open(
                &path,
                OFlags::RDWR | OFlags::CREATE | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(io::Error::from)
            .at(&path)?;
            rfs::flock(&fd, FlockOperation::LockExclusive)
                .map_err(io::Error::from)
                .at(&path)?;
            // The holder may have removed the file meanwhile: then this lock guards nothing.
            let held = rfs::fstat(&fd).map_err(io::Error::from).at(&path)?;
            match rfs::stat(&path) {
                Ok(now) if now.st_ino == held.st_ino && now.st_dev == held.st_dev => {
                    return Ok(LayerLock { _fd: fd, path })
                }
                Ok(_) | Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(ImageError::io(&path, e.into())),
            }
        }
    }

    /// The layer with this diff_id, when it is stored and its directory is in place.
    pub fn find_layer(&self, diff_id: &str) -> Result<Option<LayerInfo>, ImageError> {
        let info = self
            .conn
            .query_row(
                "SELECT diff_id, blob_digest, blob_size, media_type, diff_size
                 FROM layer_layers WHERE diff_id = ?1",
                [diff_id],
                |r| {
                    Ok(LayerInfo {
                        diff_id: r.get(0)?,
                        blob_digest: r.get(1)?,
                        blob_size: r.get::<_, i64>(2)? as u64,
                        media_type: r.get(3)?,
                        diff_size: r.get::<_, i64>(4)? as u64,
                    })
                },
            )
            .optional()?;
        Ok(match info {
            Some(i) if self.layer_dir(&i.diff_id)?.is_dir() => Some(i),
            _ => None,
        })
    }

    /// Stores the layer read from `src` (a tar, possibly gzip or zstd compressed), or reuses
    /// the stored one when `expect.diff_id` is already there (then `src` is not read at all).
    pub fn add_layer(
        &self,
        src: &mut dyn Read,
        expect: Expect<'_>,
    ) -> Result<LayerInfo, ImageError> {
        let mut lock = None;
        if let Some(d) = expect.diff_id {
            hex_of(d)?;
            lock = Some(self.lock_layer(d)?);
            if let Some(info) = self.find_layer(d)? {
                return Ok(info);
            }
        }
        let tmp_dir = temp_dir_in(&self.root.join("tmp"))?;
        let tmp_split = crate::blobs::temp_file_in(&self.root.join("tmp"))?;
        let info = match self.unpack_into(src, &tmp_split, tmp_dir.path(), expect) {
            Ok(x) => x,
            Err(e) => {
                // We checked under the lock that the layer is not stored: nothing to guard.
                if let Some(l) = lock {
                    l.remove();
                }
                return Err(e);
            }
        };
        let _lock = match lock {
            Some(l) => l,
            None => {
                let l = self.lock_layer(&info.diff_id)?;
                if let Some(existing) = self.find_layer(&info.diff_id)? {
                    return Ok(existing);
                }
                l
            }
        };
        let split = self.split_path(&info.diff_id)?;
        tmp_split
            .persist(&split)
            .map_err(|e| ImageError::io(&split, e.error))?;
        let dest = self.layer_dir(&info.diff_id)?;
        let tmp_path = tmp_dir.keep();
        if let Err(e) = std::fs::rename(&tmp_path, &dest) {
            // A dir without a row is what a process killed between rename and commit left
            // behind; we hold the layer's lock, so nothing else is using it.
            if dest.exists() {
                remove_tree(&dest)?;
                std::fs::rename(&tmp_path, &dest).at(&dest)?;
            } else {
                let _ = remove_tree(&tmp_path);
                return Err(ImageError::io(&dest, e));
            }
        }
        hull_sys::fault_point("hull-layer-renamed");
        let tx = crate::db::write(&self.conn)?;
        tx.execute(
            "INSERT OR REPLACE INTO layer_layers
             (diff_id, blob_digest, blob_size, media_type, diff_size, added)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                info.diff_id,
                info.blob_digest,
                info.blob_size as i64,
                info.media_type,
                info.diff_size as i64,
                crate::db::now()
            ],
        )?;
        tx.commit()?;
        Ok(info)
    }

    /// `<root>/splits/<hex>`: what rebuilds the layer's tar (see split.rs).
    pub(crate) fn split_path(&self, diff_id: &str) -> Result<PathBuf, ImageError> {
        Ok(self.root.join("splits").join(hex_of(diff_id)?))
    }

    /// One pass over the layer's bytes: hashed as they come (the blob digest), decompressed,
    /// hashed again (the diff_id) unless they were not compressed, recorded into the split
    /// and unpacked into `dir`.
    fn unpack_into(
        &self,
        src: &mut dyn Read,
        tmp_split: &tempfile::NamedTempFile,
        dir: &Path,
        expect: Expect<'_>,
    ) -> Result<LayerInfo, ImageError> {
        // A source that says how big it is may not send more (one byte more shows the lie).
        let limit = expect.blob_size.map_or(u64::MAX, |n| n.saturating_add(1));
        let mut input = BufReader::with_capacity(BUF, HashReader::new(src.take(limit)));
        let tar_err = |e: io::Error| ImageError::Tar {
            what: expect.what.to_string(),
            source: e,
        };
        let magic = input.fill_buf().map_err(tar_err)?;
        if magic.is_empty() {
            return Err(ImageError::archive(expect.what, "empty layer archive"));
        }
        let compression = Compression::detect(magic);
        let split_file = tmp_split.reopen().at(tmp_split.path())?;
        let split = SplitWriter::new(split_file);
        let mut diff = None;
        {
            let decoder = compression.decoder(&mut input).map_err(tar_err)?;
            // Uncompressed, the diff_id is the blob digest: no need to hash twice.
            let mut decoded = if compression == Compression::None {
                HashReader::counting(decoder)
            } else {
                HashReader::new(decoder)
            };
            let mut tee = SplitTee {
                inner: &mut decoded,
                split: split.clone(),
            };
            extract::unpack_split(&mut tee, dir, Some(split.clone()))?;
            // The end-of-archive blocks and padding the parser left: part of the tar too.
            io::copy(&mut tee, &mut io::sink()).map_err(tar_err)?;
            if compression != Compression::None {
                let (d, n, _) = decoded.finish();
                diff = Some((d, n));
            }
        }
        split.borrow_mut().finish().at(tmp_split.path())?;
        io::copy(&mut input, &mut io::sink()).map_err(tar_err)?;
        let (blob_digest, blob_size, _) = input.into_inner().finish();
        if let Some(size) = expect.blob_size {
            if size != blob_size {
                return Err(ImageError::SizeMismatch {
                    what: expect.what.to_string(),
                    expected: size,
                    actual: blob_size,
                });
            }
        }
        verify(expect.what, expect.blob_digest, &blob_digest)?;
        let (diff_id, diff_size) = diff.unwrap_or_else(|| (blob_digest.clone(), blob_size));
        verify(
            &format!("{} (uncompressed)", expect.what),
            expect.diff_id,
            &diff_id,
        )?;
        Ok(LayerInfo {
            diff_id,
            blob_digest,
            blob_size,
            media_type: compression.media_type().to_string(),
            diff_size,
        })
    }

    /// Deletes a layer no image references any more: row, directory and blob.
    pub(crate) fn delete_layer_if_unused(&self, diff_id: &str) -> Result<bool, ImageError> {
        let lock = self.lock_layer(diff_id)?;
        let tx = crate::db::write(&self.conn)?;
        let used: i64 = tx.query_row(
            "SELECT COUNT(*) FROM image_layers WHERE diff_id = ?1",
            [diff_id],
            |r| r.get(0),
        )?;
        if used > 0 {
            return Ok(false);
        }
        let blob: Option<String> = tx
            .query_row(
                "SELECT blob_digest FROM layer_layers WHERE diff_id = ?1",
                [diff_id],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute("DELETE FROM layer_layers WHERE diff_id = ?1", [diff_id])?;
        tx.commit()?;
        let dir = self.layer_dir(diff_id)?;
        // Move it out of the way first, so a half-removed tree is never found as a layer.
        let doomed = temp_dir_in(&self.root.join("tmp"))?.keep();
        if std::fs::rename(&dir, doomed.join("layer")).is_ok() {
            remove_tree(&doomed)?;
        } else {
            let _ = std::fs::remove_dir(&doomed);
        }
        if let Some(b) = blob {
            self.blobs.remove(&b);
        }
        let _ = std::fs::remove_file(self.split_path(diff_id)?);
        lock.remove();
        Ok(true)
    }
}

/// `rm -rf` that follows no symlink inside the tree.
pub(crate) fn remove_tree(path: &Path) -> Result<(), ImageError> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| ImageError::Other(format!("{}: not removable", path.display())))?;
    let dir = std::fs::File::open(parent).at(parent)?;
    extract::remove_all_at(&dir, &name.to_string_lossy()).at(path)
}
