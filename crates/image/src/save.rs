//! `hull save`: one tar that is both a docker-archive (manifest.json, for `docker load` and
//! `podman load`) and an OCI image layout (index.json, oci-layout), laid out as docker 25
//! does: every file is a blob under blobs/sha256, named by its digest, written once.
//! Layers are written uncompressed, as `docker save` does, whatever form they were pulled in.

use std::collections::HashSet;
use std::io::{self, BufReader, Read, Write};

use serde_json::json;

use crate::digest::{hex_of, sha256_of, HashReader};
use crate::error::{ImageError, IoContext};
use crate::layers::{Compression, MEDIA_TAR};
use crate::reference::Reference;
use crate::registry::manifest::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use crate::split::SplitReader;
use crate::Store;

struct Saved {
    config_digest: String,
    config_size: u64,
    diff_ids: Vec<String>,
    /// Full names (`docker.io/library/busybox:latest`) to record.
    tags: Vec<Reference>,
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

fn dir_header() -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_size(0);
    h
}

/// Counts bytes and fails if more arrive than the header promised.
struct Limited<R> {
    inner: R,
    left: u64,
    what: String,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(format!(
                "{}: longer than recorded",
                self.what
            )));
        }
        self.left -= n as u64;
        if n == 0 && self.left > 0 {
            return Err(io::Error::other(format!(
                "{}: shorter than recorded",
                self.what
            )));
        }
        Ok(n)
    }
}

impl Store {
    /// Writes `images` (names or ids) as one archive to `out`. An image given by name is
    /// saved with that name; one given by id with all its names.
    pub fn save(&self, images: &[&str], out: &mut dyn Write) -> Result<(), ImageError> {
        if images.is_empty() {
            return Err(ImageError::Other("save: no image given".into()));
        }
        let mut saved: Vec<Saved> = Vec::new();
        for name in images {
            let img = self.resolve(name)?;
            let by_name = Reference::parse(name)
                .ok()
                .map(|r| r.with_default_tag())
                .filter(|r| r.digest.is_none() && img.names.contains(&r.familiar()));
            let tags = match by_name {
                Some(r) => vec![r],
                None => img
                    .names
                    .iter()
                    .filter_map(|n| Reference::parse(n).ok())
                    .collect(),
            };
            match saved.iter_mut().find(|s| s.config_digest == img.id) {
                Some(s) => {
                    for t in tags {
                        if !s.tags.contains(&t) {
                            s.tags.push(t);
                        }
                    }
                }
                None => saved.push(Saved {
                    config_digest: img.id.clone(),
                    config_size: img.config_raw.len() as u64,
                    diff_ids: img.diff_ids.clone(),
                    tags,
                }),
            }
        }
        let mut b = tar::Builder::new(out);
        let tar_err = |e: io::Error| ImageError::Other(format!("save: writing the archive: {e}"));
        b.append_data(&mut dir_header(), "blobs/", io::empty())
            .map_err(tar_err)?;
        b.append_data(&mut dir_header(), "blobs/sha256/", io::empty())
            .map_err(tar_err)?;
        let mut written: HashSet<String> = HashSet::new();
        let mut docker_manifest = Vec::new();
        let mut index_entries = Vec::new();
        for s in &saved {
            let mut layer_descs = Vec::new();
            for d in &s.diff_ids {
                let size = self.write_layer(&mut b, d, &mut written)?;
                layer_descs.push(json!({ "mediaType": MEDIA_TAR, "digest": d, "size": size }));
            }
            let config = self.blobs.read(&s.config_digest)?;
            put_blob(&mut b, &config, &mut written).map_err(tar_err)?;
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": { "mediaType": OCI_CONFIG, "digest": s.config_digest, "size": s.config_size },
                "layers": layer_descs,
            });
            let manifest = serde_json::to_vec(&manifest).expect("json");
            let manifest_digest = put_blob(&mut b, &manifest, &mut written).map_err(tar_err)?;
            let blob = |d: &str| format!("blobs/sha256/{}", &d[7..]);
            docker_manifest.push(json!({
                "Config": blob(&s.config_digest),
                "RepoTags": s.tags.iter().map(Reference::familiar).collect::<Vec<_>>(),
                "Layers": s.diff_ids.iter().map(|d| blob(d)).collect::<Vec<_>>(),
            }));
            let desc = |annotations: Option<serde_json::Value>| {
                let mut v = json!({ "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len() });
                if let Some(a) = annotations {
                    v["annotations"] = a;
                }
                v
            };
            if s.tags.is_empty() {
                index_entries.push(desc(None));
            }
            for t in &s.tags {
                index_entries.push(desc(Some(json!({
                    "io.containerd.image.name": t.to_string(),
                    "org.opencontainers.image.ref.name": t.tag.clone().unwrap_or_default(),
                }))));
            }
        }
        let index =
            json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_entries });
        let files: [(&str, Vec<u8>); 3] = [
            ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
            ("index.json", serde_json::to_vec(&index).expect("json")),
            (
                "manifest.json",
                serde_json::to_vec(&docker_manifest).expect("json"),
            ),
        ];
        for (name, data) in files {
            b.append_data(&mut header(data.len() as u64), name, data.as_slice())
                .map_err(tar_err)?;
        }
        b.into_inner().map_err(tar_err)?.flush().map_err(tar_err)?;
        Ok(())
    }

    /// The uncompressed layer `diff_id` as a stream (rebuilt from its tar-split, or its
    /// stored blob decoded), and the file it comes from; not checked against its digest.
    fn layer_source(
        &self,
        diff_id: &str,
        info: &crate::layers::LayerInfo,
    ) -> Result<(std::path::PathBuf, Box<dyn Read>), ImageError> {
        let split = self.split_path(diff_id)?;
        Ok(if split.exists() {
            let layer = self.layer_dir(diff_id)?;
            let dir = rustix::fs::open(
                &layer,
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(io::Error::from)
            .at(&layer)?;
            let f = std::fs::File::open(&split).at(&split)?;
            (layer, Box::new(SplitReader::new(f, dir)))
        } else {
            // A layer stored with its blob.
            let path = self.blobs.path(&info.blob_digest)?;
            let file = std::fs::File::open(&path).at(&path)?;
            let mut input = BufReader::with_capacity(1 << 20, file);
            let magic = io::BufRead::fill_buf(&mut input).at(&path)?.to_vec();
            let decoded = Compression::detect(&magic).decoder(input).at(&path)?;
            (path, decoded)
        })
    }

    /// `push`: the uncompressed layer `diff_id` and its size.
    pub(crate) fn layer_reader(&self, diff_id: &str) -> Result<(Box<dyn Read>, u64), ImageError> {
        let info = self.find_layer(diff_id)?.ok_or_else(|| {
            ImageError::Other(format!("layer {diff_id} is missing from the store"))
        })?;
        let (_, r) = self.layer_source(diff_id, &info)?;
        Ok((Box::new(r.take(info.diff_size)), info.diff_size))
    }

    /// Writes the uncompressed layer `diff_id` as blobs/sha256/<hex>, checking its digest on
    /// the way out. Returns its size.
    fn write_layer(
        &self,
        b: &mut tar::Builder<&mut dyn Write>,
        diff_id: &str,
        written: &mut HashSet<String>,
    ) -> Result<u64, ImageError> {
        let info = self.find_layer(diff_id)?.ok_or_else(|| {
            ImageError::Other(format!("layer {diff_id} is missing from the store"))
        })?;
        if !written.insert(diff_id.to_string()) {
            return Ok(info.diff_size);
        }
        let (path, decoded) = self.layer_source(diff_id, &info)?;
        let mut hashed = HashReader::new(Limited {
            inner: decoded,
            left: info.diff_size,
            what: path.display().to_string(),
        });
        let name = format!("blobs/sha256/{}", hex_of(diff_id)?);
        b.append_data(&mut header(info.diff_size), &name, &mut hashed)
            .map_err(|e| ImageError::Other(format!("save: layer {diff_id}: {e}")))?;
        let (digest, _, _) = hashed.finish();
        if digest != diff_id {
            return Err(ImageError::DigestMismatch {
                what: format!(
                    "stored layer {} (changed since it was unpacked?)",
                    path.display()
                ),
                expected: diff_id.to_string(),
                actual: digest,
            });
        }
        Ok(info.diff_size)
    }
}

fn put_blob(
    b: &mut tar::Builder<&mut dyn Write>,
    data: &[u8],
    written: &mut HashSet<String>,
) -> io::Result<String> {
    let digest = sha256_of(data);
    if written.insert(digest.clone()) {
        let name = format!("blobs/sha256/{}", &digest[7..]);
        b.append_data(&mut header(data.len() as u64), name, data)?;
    }
    Ok(digest)
}
