//! `hull commit`: a new image made of a parent image plus one layer (the container's
//! changes, as a tar), with docker's child config: the parent's config with the container's
//! `config` object, one more `history` entry, and no new diff_id when the layer is empty
//! (docker's `empty_layer`).

use std::io::Read;

use serde_json::{json, Value};

use crate::images::NewImage;
use crate::layers::{Expect, LayerInfo};
use crate::reference::Reference;
use crate::{ImageError, ImageId, Store};

/// What the container adds to its image's config.
#[derive(Debug, Clone, Default)]
pub struct ChildConfig {
    /// The image config's `config` object (Cmd, Env, Entrypoint...), `--change`s applied.
    pub config: serde_json::Map<String, Value>,
    /// The container's id (the config's `container`).
    pub container: String,
    /// The container's command, joined by spaces: the history entry's `created_by`.
    pub created_by: String,
    pub author: Option<String>,
    pub comment: Option<String>,
    /// RFC 3339 creation time.
    pub created: String,
}

impl Store {
    /// Stores `layer` (a tar; `None` for no changes) on top of image `parent` and names the
    /// result `reference` (untagged when empty).
    pub fn commit_child(
        &mut self,
        parent: &str,
        layer: Option<&mut dyn Read>,
        child: ChildConfig,
        reference: &str,
    ) -> Result<ImageId, ImageError> {
        let names = if reference.is_empty() {
            vec![]
        } else {
            vec![Reference::parse(reference)?.with_default_tag()]
        };
        let img = self.resolve(parent)?;
        let mut layers: Vec<LayerInfo> = Vec::new();
        for d in &img.diff_ids {
            layers.push(self.find_layer(d)?.ok_or_else(|| {
                ImageError::Other(format!("image {parent}: layer {d} is not stored"))
            })?);
        }
        let new = match layer {
            Some(src) => Some(self.add_layer(
                src,
                Expect {
                    what: "container changes",
                    ..Default::default()
                },
            )?),
            None => None,
        };
        let mut cfg: Value = serde_json::from_slice(&img.config_raw)
            .map_err(|e| ImageError::Other(format!("image {parent}: config: {e}")))?;
        cfg["config"] = Value::Object(child.config);
        cfg["container"] = json!(child.container);
        cfg["created"] = json!(child.created);
        match &child.author {
            Some(a) => cfg["author"] = json!(a),
            None => {
                if let Some(o) = cfg.as_object_mut() {
                    o.remove("author");
                }
            }
        }
        let mut entry = json!({"created": child.created, "created_by": child.created_by});
        if let Some(a) = &child.author {
            entry["author"] = json!(a);
        }
        if let Some(c) = &child.comment {
            entry["comment"] = json!(c);
        }
        if new.is_none() {
            entry["empty_layer"] = json!(true);
        }
        if !cfg["history"].is_array() {
            cfg["history"] = json!([]);
        }
        if let Some(h) = cfg["history"].as_array_mut() {
            h.push(entry);
        }
        if let Some(l) = new {
            if let Some(ids) = cfg["rootfs"]["diff_ids"].as_array_mut() {
                ids.push(json!(l.diff_id));
            }
            layers.push(l);
        }
        let config = serde_json::to_vec(&cfg).expect("json");
        self.commit_image(NewImage {
            config: &config,
            manifest: None,
            layers: &layers,
            names: &names,
        })
    }
}

/// One row of `hull history`, newest first.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// The image this row is the top of, when one is stored (`<missing>` otherwise).
    pub id: Option<String>,
    pub created: String,
    pub created_by: String,
    /// The row's layer's size (0 for an `empty_layer` row).
    pub size: u64,
    pub comment: String,
}

fn history_of(raw: &[u8]) -> Vec<Value> {
    serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|v| v["history"].as_array().cloned())
        .unwrap_or_default()
}

/// docker's size of an unpacked layer (pkg/directory.Size): the bytes of its files and
/// symlinks, each inode once, directories not counted.
fn disk_size(dir: &std::path::Path, seen: &mut std::collections::HashSet<u64>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(md) = e.path().symlink_metadata() else {
            continue;
        };
        if md.is_dir() {
            total += disk_size(&e.path(), seen);
        } else if md.len() > 0 && seen.insert(md.ino()) {
            total += md.len();
        }
    }
    total
}

impl Store {
    /// The layer's size as docker reports it in `history` and `system df` (see `disk_size`).
    pub fn layer_disk_size(&self, diff_id: &str) -> Result<u64, ImageError> {
        Ok(disk_size(
            &self.layer_dir(diff_id)?,
            &mut Default::default(),
        ))
    }

    /// `hull history`: the image's history entries, newest first, each with its layer's size
    /// and the stored image whose history ends there (the top row: the image itself; an
    /// older row: the image it was committed on, as docker knows a commit's parent).
    pub fn history(&self, name: &str) -> Result<Vec<HistoryRow>, ImageError> {
        let img = self.resolve(name)?;
        let hist = history_of(&img.config_raw);
        let mut others = Vec::new();
        for s in self.list()? {
            if s.id != img.id {
                if let Ok(o) = self.resolve(&s.id) {
                    others.push((o.id, history_of(&o.config_raw)));
                }
            }
        }
        let mut layer = 0;
        let mut rows = Vec::new();
        for (i, h) in hist.iter().enumerate() {
            let empty = h["empty_layer"].as_bool().unwrap_or(false);
            let size = match (empty, img.diff_ids.get(layer)) {
                (false, Some(d)) => {
                    layer += 1;
                    self.layer_disk_size(d)?
                }
                _ => 0,
            };
            let id = if i + 1 == hist.len() {
                Some(img.id.clone())
            } else {
                others
                    .iter()
                    .find(|(_, oh)| oh.as_slice() == &hist[..=i])
                    .map(|(id, _)| id.clone())
            };
            let s = |k: &str| h[k].as_str().unwrap_or("").to_string();
            rows.push(HistoryRow {
                id,
                created: s("created"),
                created_by: s("created_by"),
                size,
                comment: s("comment"),
            });
        }
        rows.reverse();
        Ok(rows)
    }
}
