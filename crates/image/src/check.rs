//! What a killed pull, load or rmi can leave in the content store, for `hull system check`:
//! - a layer directory without its row (`add_layer` killed between the rename into layers/
//!   and the commit, or `delete_layer_if_unused` between the commit and the rename out):
//!   removed, under the layer's lock, which both hold across those two steps;
//! - an image one of whose layers is missing (its row or its directory): it cannot run, so it
//!   is removed, and a pull or load brings it back whole.
//!
//! Layers no image uses and blobs no row names are not looked at: a pull in progress holds
//! such layers and blobs, unlocked, between storing a layer and committing its image.

use rusqlite::OptionalExtension;

use crate::digest::hex_of;
use crate::error::ImageError;
use crate::images::short;
use crate::layers::remove_tree;
use crate::Store;

/// What `Store::check` found (one line each) and what failed while repairing.
#[derive(Default)]
pub struct StoreReport {
    pub found: Vec<String>,
    pub errors: Vec<String>,
}

impl Store {
    fn layer_row(&self, diff_id: &str) -> Result<bool, ImageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM layer_layers WHERE diff_id = ?1",
                [diff_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Finds (with `repair`, removes) the leftovers of a killed pull, load or rmi.
    pub fn check(&mut self, repair: bool) -> Result<StoreReport, ImageError> {
        let mut r = StoreReport::default();
        let layers = self.root.join("layers");
        let names: Vec<String> = std::fs::read_dir(&layers)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for hex in names {
            let diff_id = format!("sha256:{hex}");
            if hex_of(&diff_id).is_err() || self.layer_row(&diff_id)? {
                continue;
            }
            let lock = self.lock_layer(&diff_id)?;
            let dir = self.layer_dir(&diff_id)?;
            if self.layer_row(&diff_id)? || !dir.exists() {
                continue;
            }
            r.found.push(format!(
                "layer directory {} that no layer row names",
                short(&diff_id)
            ));
            if repair {
                match remove_tree(&dir) {
                    Ok(()) => {
                        let _ = std::fs::remove_file(self.split_path(&diff_id)?);
                        lock.remove();
                    }
                    Err(e) => r.errors.push(e.to_string()),
                }
            }
        }
        let needs: Vec<(String, String, bool)> = self
            .conn
            .prepare(
                "SELECT il.image_id, il.diff_id, l.diff_id IS NOT NULL FROM image_layers il
                 LEFT JOIN layer_layers l ON l.diff_id = il.diff_id ORDER BY il.image_id, il.idx",
            )?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut broken = Vec::new();
        for (image, diff_id, row) in needs {
            if broken.contains(&image) || (row && self.layer_dir(&diff_id)?.is_dir()) {
                continue;
            }
            r.found.push(format!(
                "image {} needs layer {} that is missing",
                short(&image),
                short(&diff_id)
            ));
            broken.push(image);
        }
        if repair {
            for image in broken {
                if let Err(e) = self.remove(&image, true) {
                    r.errors
                        .push(format!("remove image {}: {e}", short(&image)));
                }
            }
        }
        Ok(r)
    }
}
