//! The image verbs that must know the containers (`rmi`, `image prune`): an image a container
//! was created from is never deleted, since its layers are the container's lower layers.

use hull_image::{Reference, Store};

use crate::container::prune;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// What an image prune removed: docker's lines and the bytes of the deleted images.
#[derive(Debug, Default)]
pub struct PrunedImages {
    pub lines: Vec<String>,
    pub bytes: u64,
}

/// Whether removing `arg` would delete the image, not just untag one of its names.
fn deletes(arg: &str, tags: &[String]) -> bool {
    let by_name = Reference::parse(arg)
        .ok()
        .map(|r| r.with_default_tag().familiar())
        .filter(|n| tags.contains(n));
    match by_name {
        Some(_) => tags.len() <= 1,
        None => true,
    }
}

impl Engine {
    /// Removes one image the way rmi does, refusing an image containers use. Returns
    /// docker's lines (`Untagged: ...`, `Deleted: ...`).
    pub fn image_remove(&self, arg: &str, force: bool) -> Result<Vec<String>> {
        let mut store = Store::open(&self.paths.root)?;
        let img = store.resolve(arg)?;
        let used = prune::images_in_use(&self.conn)?;
        let users = prune::image_users(&used, &img.id);
        if !users.is_empty() && deletes(arg, &img.names) {
            return Err(Error::Conflict(format!(
                "conflict: unable to remove image {arg:?}: container(s) {} use it (remove them first)",
                users.join(", ")
            )));
        }
        let lines = store.remove(arg, force)?;
        // docker's `untag` and `delete` events, named by the image's id.
        let id = crate::events::image_id(&img.id);
        for l in &lines {
            let action = if l.starts_with("Untagged:") {
                "untag"
            } else if l.starts_with("Deleted:") {
                "delete"
            } else {
                continue;
            };
            crate::events::image(&self.paths, action, &id, &id);
        }
        Ok(lines)
    }

    /// Removes the images no container was created from: untagged ones, or every one with
    /// `all`. `hull build`'s untagged intermediates are its cache: `builder prune` removes
    /// them, as docker's `image prune` leaves BuildKit's cache alone.
    pub fn image_prune(&self, all: bool) -> Result<PrunedImages> {
        let mut store = Store::open(&self.paths.root)?;
        let used = prune::images_in_use(&self.conn)?;
        let cache = store.build_intermediates();
        let mut pruned = PrunedImages::default();
        for img in store.list()? {
            if (!all && !img.repo_tags.is_empty())
                || (img.repo_tags.is_empty() && cache.contains(&img.id))
                || !prune::image_users(&used, &img.id).is_empty()
            {
                continue;
            }
            match store.remove(&img.id, true) {
                Ok(lines) => {
                    pruned.bytes += img.size;
                    pruned.lines.extend(lines.into_iter().map(|l| {
                        // docker's prune report writes these in lower case.
                        l.replacen("Untagged:", "untagged:", 1)
                            .replacen("Deleted:", "deleted:", 1)
                    }));
                }
                // Removed by another command meanwhile.
                Err(hull_image::ImageError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(pruned)
    }

    /// The ids (`sha256:...`) of every stored image, `hull build`'s intermediates included.
    pub fn image_ids(&self) -> Result<std::collections::HashSet<String>> {
        let store = Store::open(&self.paths.root)?;
        Ok(store.list()?.into_iter().map(|i| i.id).collect())
    }

    /// `builder prune`: `policy`, the builder's own (crates/build decides what is dangling
    /// cache), runs on the image store with whether a container uses an image.
    pub fn build_cache_prune<T>(
        &self,
        policy: impl FnOnce(&mut Store, &dyn Fn(&str) -> bool) -> T,
    ) -> Result<T> {
        let mut store = Store::open(&self.paths.root)?;
        let used = prune::images_in_use(&self.conn)?;
        let in_use = |id: &str| !prune::image_users(&used, id).is_empty();
        Ok(policy(&mut store, &in_use))
    }

    /// Image id (without `sha256:`) -> the names of the containers created from it.
    pub fn images_in_use(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        Ok(prune::images_in_use(&self.conn)?)
    }
}
