//! Images and their names: committing a new image, resolving a name or id, listing, tagging
//! and removing (with the layers and blobs nothing else uses).

use std::path::PathBuf;

use oci_spec::image::ImageConfiguration;
use rusqlite::{params, OptionalExtension};

use crate::digest::hex_of;
use crate::error::ImageError;
use crate::layers::LayerInfo;
use crate::reference::{familiar, Reference};
use crate::{ImageId, Store};

/// One stored image.
#[derive(Debug, Clone)]
pub struct Image {
    /// `sha256:<hex of the config blob>`.
    pub id: String,
    /// Its tags in docker's familiar form (`busybox:latest`, `localhost:5000/x:1`).
    pub names: Vec<String>,
    /// `name@sha256:<manifest digest>` for images pulled or loaded with a manifest.
    pub digests: Vec<String>,
    pub config: ImageConfiguration,
    /// The config blob exactly as stored (what the id is the digest of).
    pub config_raw: Vec<u8>,
    /// Unpacked layer directories, bottom first: overlayfs wants them top first in lowerdir.
    pub layers: Vec<PathBuf>,
    /// The diff_ids of those layers, in the same order.
    pub diff_ids: Vec<String>,
    /// Uncompressed size of all layers, in bytes.
    pub size: u64,
    /// The config's `created`, RFC 3339.
    pub created: Option<String>,
    /// The manifest digest, if the image came with one.
    pub manifest_digest: Option<String>,
}

/// A row of `hull images`.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub created: Option<String>,
    pub size: u64,
}

/// What a new image is made of.
pub(crate) struct NewImage<'a> {
    pub config: &'a [u8],
    pub manifest: Option<&'a [u8]>,
    pub layers: &'a [LayerInfo],
    pub names: &'a [Reference],
}

fn split_names(names: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    for n in names {
        if n.contains('@') {
            digests.push(familiar(&n));
        } else {
            tags.push(familiar(&n));
        }
    }
    tags.sort();
    digests.sort();
    (tags, digests)
}

/// An image config, an error naming the field that is wrong (`config.Env: invalid type:
/// string "x", expected a sequence`), not just that parsing failed.
fn parse_config(bytes: &[u8]) -> Result<ImageConfiguration, String> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

impl Store {
    /// Stores the config (and manifest) blobs and the image's rows, pointing `names` at it.
    pub(crate) fn commit_image(&mut self, new: NewImage<'_>) -> Result<ImageId, ImageError> {
        let config = parse_config(new.config)
            .map_err(|e| ImageError::Other(format!("image config: {e}")))?;
        let diff_ids: Vec<&str> = new.layers.iter().map(|l| l.diff_id.as_str()).collect();
        let want: Vec<&str> = config
            .rootfs()
            .diff_ids()
            .iter()
            .map(String::as_str)
            .collect();
        if want != diff_ids {
            return Err(ImageError::Other(format!(
                "image config: rootfs.diff_ids {want:?} do not match the layers {diff_ids:?}"
            )));
        }
        let id = self.blobs.put("image config", new.config, None)?;
        let manifest_digest = match new.manifest {
            Some(m) => Some(self.blobs.put("manifest", m, None)?),
            None => None,
        };
        let size: u64 = new.layers.iter().map(|l| l.diff_size).sum();
        let tx = crate::db::write(&self.conn)?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO image_images (id, manifest_digest, created, size, added)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                manifest_digest,
                config.created().clone(),
                size as i64,
                crate::db::now()
            ],
        )?;
        if inserted == 1 {
            for (i, l) in new.layers.iter().enumerate() {
                tx.execute(
                    "INSERT INTO image_layers (image_id, idx, diff_id) VALUES (?1, ?2, ?3)",
                    params![id, i as i64, l.diff_id],
                )
                .map_err(|e| {
                    ImageError::Other(format!(
                        "layer {} was removed while the image was stored ({e}): try again",
                        l.diff_id
                    ))
                })?;
            }
        } else if let Some(m) = &manifest_digest {
            tx.execute(
                "UPDATE image_images SET manifest_digest = ?2 WHERE id = ?1 AND manifest_digest IS NULL",
                params![id, m],
            )?;
        }
        for name in new.names {
            let full = name.clone().with_default_tag().to_string();
            tx.execute(
                "INSERT OR REPLACE INTO image_names (name, image_id, added) VALUES (?1, ?2, ?3)",
                params![full, id, crate::db::now()],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Finds an image by name (`busybox`, `busybox:latest`, `localhost:5000/x:1`,
    /// `busybox@sha256:...`) or id (`sha256:<hex>`, or 4+ leading hex digits of it).
    pub fn resolve(&self, name_or_id: &str) -> Result<Image, ImageError> {
        let id = self.resolve_id(name_or_id)?;
        self.image(&id)
    }

    pub(crate) fn resolve_id(&self, s: &str) -> Result<String, ImageError> {
        if let Some(hex) = s.strip_prefix("sha256:") {
            return self.by_id_prefix(s, hex);
        }
        if let Ok(r) = Reference::parse(s) {
            if let Some(id) = self.by_name(&r)? {
                return Ok(id);
            }
        }
        let is_hex = s.len() >= 4 && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_hexdigit());
        if is_hex {
            return self.by_id_prefix(s, &s.to_ascii_lowercase());
        }
        Err(ImageError::NotFound(s.to_string()))
    }

    fn by_name(&self, r: &Reference) -> Result<Option<String>, ImageError> {
        let r = r.clone().with_default_tag();
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT image_id FROM image_names WHERE name = ?1",
                [r.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
        if let Some(d) = &r.digest {
            // name@digest of an image stored under another tag of the same repository.
            let prefix = format!("{}:", r.name());
            let ids: Vec<String> = self
                .conn
                .prepare(
                    "SELECT DISTINCT i.id FROM image_images i JOIN image_names n ON n.image_id = i.id
                     WHERE i.manifest_digest = ?1 AND substr(n.name, 1, length(?2)) = ?2",
                )?
                .query_map(params![d, prefix], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            return Ok(ids.into_iter().next());
        }
        Ok(None)
    }

    fn by_id_prefix(&self, original: &str, hex: &str) -> Result<String, ImageError> {
        if hex.is_empty() || !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ImageError::NotFound(original.to_string()));
        }
        let pattern = format!("sha256:{hex}%");
        let ids: Vec<String> = self
            .conn
            .prepare("SELECT id FROM image_images WHERE id LIKE ?1 LIMIT 2")?
            .query_map([pattern], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match ids.len() {
            0 => Err(ImageError::NotFound(original.to_string())),
            1 => Ok(ids.into_iter().next().expect("one id")),
            n => Err(ImageError::Ambiguous {
                name: original.to_string(),
                count: n,
            }),
        }
    }

    /// The image with this exact id.
    pub(crate) fn image(&self, id: &str) -> Result<Image, ImageError> {
        let row: Option<(Option<String>, Option<String>, i64)> = self
            .conn
            .query_row(
                "SELECT manifest_digest, created, size FROM image_images WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((manifest_digest, created, size)) = row else {
            return Err(ImageError::NotFound(id.to_string()));
        };
        let config_raw = self.blobs.read(id)?;
        let config = parse_config(&config_raw)
            .map_err(|e| ImageError::Other(format!("config of image {id}: {e}")))?;
        let diff_ids: Vec<String> = self
            .conn
            .prepare("SELECT diff_id FROM image_layers WHERE image_id = ?1 ORDER BY idx")?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let layers = diff_ids
            .iter()
            .map(|d| self.layer_dir(d))
            .collect::<Result<_, _>>()?;
        let (names, digests) = split_names(self.names_of(id)?);
        Ok(Image {
            id: id.to_string(),
            names,
            digests,
            config,
            config_raw,
            layers,
            diff_ids,
            size: size as u64,
            created,
            manifest_digest,
        })
    }

    fn names_of(&self, id: &str) -> Result<Vec<String>, ImageError> {
        Ok(self
            .conn
            .prepare("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY name")?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// Every image, newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        let rows: Vec<(String, Option<String>, i64)> = self
            .conn
            .prepare("SELECT id, created, size FROM image_images ORDER BY added DESC, id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(id, created, size)| {
                let (repo_tags, repo_digests) = split_names(self.names_of(&id)?);
                Ok(ImageSummary {
                    id,
                    repo_tags,
                    repo_digests,
                    created,
                    size: size as u64,
                })
            })
            .collect()
    }

    /// Points `new_ref` (default tag `latest`) at the image `src` names.
    pub fn tag(&mut self, src: &str, new_ref: &str) -> Result<(), ImageError> {
        let id = self.resolve_id(src)?;
        let r = Reference::parse(new_ref)?;
        if r.digest.is_some() {
            return Err(ImageError::Reference {
                reference: new_ref.to_string(),
                reason: "a tag cannot contain a digest".into(),
            });
        }
        let tx = crate::db::write(&self.conn)?;
        tx.execute(
            "INSERT OR REPLACE INTO image_names (name, image_id, added) VALUES (?1, ?2, ?3)",
            params![r.with_default_tag().to_string(), id, crate::db::now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// `docker rmi`: a name is untagged, and the image deleted when that was its last name; an
    /// id deletes the image (with `force` even when several names point at it). Returns
    /// docker's lines: `Untagged: busybox:latest`, `Deleted: sha256:...`.
    pub fn remove(&mut self, name_or_id: &str, force: bool) -> Result<Vec<String>, ImageError> {
        let id = self.resolve_id(name_or_id)?;
        let names = self.names_of(&id)?;
        let by_name = Reference::parse(name_or_id)
            .ok()
            .map(|r| r.with_default_tag().to_string())
            .filter(|n| names.contains(n));
        let mut out = Vec::new();
        let tx = crate::db::write(&self.conn)?;
        if let Some(name) = &by_name {
            tx.execute("DELETE FROM image_names WHERE name = ?1", [name])?;
            out.push(format!("Untagged: {}", familiar(name)));
            let left: i64 = tx.query_row(
                "SELECT COUNT(*) FROM image_names WHERE image_id = ?1 AND name NOT LIKE '%@%'",
                [&id],
                |r| r.get(0),
            )?;
            if left > 0 {
                tx.commit()?;
                return Ok(out);
            }
        } else {
            let tags: Vec<&String> = names.iter().filter(|n| !n.contains('@')).collect();
            if tags.len() > 1 && !force {
                return Err(ImageError::Conflict {
                    image: short(&id),
                    reason: "referenced in multiple repositories (use --force)".into(),
                });
            }
        }
        for n in self.names_of_tx(&tx, &id)? {
            tx.execute("DELETE FROM image_names WHERE name = ?1", [&n])?;
            out.push(format!("Untagged: {}", familiar(&n)));
        }
        let diff_ids: Vec<String> = tx
            .prepare("SELECT diff_id FROM image_layers WHERE image_id = ?1 ORDER BY idx")?
            .query_map([&id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let manifest: Option<String> = tx.query_row(
            "SELECT manifest_digest FROM image_images WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        tx.execute("DELETE FROM image_images WHERE id = ?1", [&id])?;
        let manifest_shared = match &manifest {
            Some(m) => {
                tx.query_row(
                    "SELECT COUNT(*) FROM image_images WHERE manifest_digest = ?1",
                    [m],
                    |r| r.get::<_, i64>(0),
                )? > 0
            }
            None => true,
        };
        tx.commit()?;
        out.push(format!("Deleted: {id}"));
        self.blobs.remove(&id);
        if let (Some(m), false) = (&manifest, manifest_shared) {
            self.blobs.remove(m);
        }
        for d in diff_ids.iter().rev() {
            self.delete_layer_if_unused(d)?;
        }
        Ok(out)
    }

    fn names_of_tx(
        &self,
        tx: &rusqlite::Transaction<'_>,
        id: &str,
    ) -> Result<Vec<String>, ImageError> {
        Ok(tx
            .prepare("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY name")?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }
}

/// The 12-digit id docker prints.
pub fn short(id: &str) -> String {
    let hex = hex_of(id).unwrap_or(id);
    hex.chars().take(12).collect()
}
