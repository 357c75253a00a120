//! Images made by `hull build`: a config written by the builder over the layers of the
//! image it started from plus, per step, at most one new layer.

use std::io::Read;

use crate::images::NewImage;
use crate::layers::{Expect, LayerInfo};
use crate::reference::Reference;
use crate::{ImageError, ImageId, Store};

impl Store {
    /// The stored layers of image `id`, bottom first (empty for `None`: `FROM scratch`).
    pub fn layers_of(&self, id: Option<&str>) -> Result<Vec<LayerInfo>, ImageError> {
        let Some(id) = id else {
            return Ok(Vec::new());
        };
        let img = self.resolve(id)?;
        img.diff_ids
            .iter()
            .map(|d| {
                self.find_layer(d)?.ok_or_else(|| {
                    ImageError::Other(format!("image {id}: layer {d} is not stored"))
                })
            })
            .collect()
    }

    /// Stores a layer tar made by the builder.
    pub fn add_build_layer(&self, src: &mut dyn Read, what: &str) -> Result<LayerInfo, ImageError> {
        self.add_layer(
            src,
            Expect {
                what,
                ..Default::default()
            },
        )
    }

    /// Stores an image of `layers` with `config` (whose `rootfs.diff_ids` must list them),
    /// named `names` (none for an untagged image).
    pub fn commit_built(
        &mut self,
        config: &[u8],
        layers: &[LayerInfo],
        names: &[String],
    ) -> Result<ImageId, ImageError> {
        let names = names
            .iter()
            .map(|n| Reference::parse(n).map(Reference::with_default_tag))
            .collect::<Result<Vec<_>, _>>()?;
        self.commit_image(NewImage {
            config,
            manifest: None,
            layers,
            names: &names,
        })
    }
}

impl Store {
    /// The unpacked directories of `layers`, in the same order.
    pub fn layer_dirs(&self, layers: &[LayerInfo]) -> Result<Vec<std::path::PathBuf>, ImageError> {
        layers.iter().map(|l| self.layer_dir(&l.diff_id)).collect()
    }
}

/// The images `hull build` stored on the way to its result (before a `RUN`, after a
/// layer): its cache, as BuildKit's, not images to list or prune as dangling. Each is an
/// empty file `<root>/build-intermediates/<hex>`; an image stays one only while untagged.
impl Store {
    fn intermediates_dir(&self) -> std::path::PathBuf {
        self.root.join("build-intermediates")
    }

    /// Marks image `id` as a build's intermediate (`on`) or as an image of its own.
    pub fn mark_build_intermediate(&self, id: &str, on: bool) -> Result<(), ImageError> {
        let dir = self.intermediates_dir();
        let path = dir.join(crate::digest::hex_of(id)?);
        if on {
            std::fs::create_dir_all(&dir).map_err(|e| ImageError::io(&dir, e))?;
            std::fs::write(&path, b"").map_err(|e| ImageError::io(&path, e))?;
        } else {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ImageError::io(&path, e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The ids (`sha256:...`) marked as build intermediates.
    pub fn build_intermediates(&self) -> std::collections::HashSet<String> {
        std::fs::read_dir(self.intermediates_dir())
            .map(|rd| {
                rd.flatten()
                    .map(|e| format!("sha256:{}", e.file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
