//! `system df`: what the image store, the containers' changes and the volumes hold on disk,
//! and how much of it nothing uses (docker's reclaimable).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::container::{inspect, prune, Container, Status};
use crate::engine::Engine;
use crate::error::Result;
use crate::volume::{self, Volume};

/// One image of the store.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub summary: hull_image::ImageSummary,
    /// Its layers' size on disk.
    pub size: u64,
    /// The part of `size` in layers another image has too.
    pub shared: u64,
    /// How many containers use it.
    pub containers: usize,
}

/// One container's changes.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    pub container: Container,
    /// docker's ps row of it.
    pub row: Value,
    /// Its own changes (the overlay's upper dir).
    pub size: u64,
    /// Running, paused or restarting.
    pub active: bool,
}

/// One volume.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    pub volume: Volume,
    pub size: u64,
    /// How many containers use it.
    pub links: usize,
}

/// `system df`'s answer.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    /// Every layer counted once.
    pub images_size: u64,
    /// What the images no container uses hold alone (docker's reclaimable).
    pub images_reclaimable: u64,
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
}

impl Engine {
    /// `system df`: the disk use of images, containers and volumes.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let store = hull_image::Store::open(&self.paths.root)?;
        let used = self.images_in_use()?;
        // Images: each layer counted once in the total; an image's shared size is that of
        // its layers another image has too; docker's reclaimable is the total less what the
        // used images hold alone.
        let mut layer_size: BTreeMap<String, u64> = BTreeMap::new();
        let mut layer_images: BTreeMap<String, usize> = BTreeMap::new();
        let mut images = Vec::new();
        for s in store.list()? {
            let img = store.resolve(&s.id)?;
            for d in &img.diff_ids {
                if !layer_size.contains_key(d) {
                    layer_size.insert(d.clone(), store.layer_disk_size(d)?);
                }
                *layer_images.entry(d.clone()).or_default() += 1;
            }
            let users = prune::image_users(&used, &img.id).len();
            images.push((s, img.diff_ids, users));
        }
        let mut out = DiskUsage::default();
        let mut images_used = 0;
        for (s, diff_ids, users) in images {
            let size: u64 = diff_ids.iter().map(|d| layer_size[d]).sum();
            let shared: u64 = diff_ids
                .iter()
                .filter(|d| layer_images[*d] > 1)
                .map(|d| layer_size[d])
                .sum();
            if users > 0 {
                images_used += size - shared;
            }
            out.images.push(ImageUsage {
                summary: s,
                size,
                shared,
                containers: users,
            });
        }
        out.images_size = layer_size.values().sum();
        out.images_reclaimable = out.images_size - images_used;
        for c in self.list()? {
            let size = volume::dir_size(&self.paths.container_dir(&c.id).join("upper"));
            let active = matches!(
                c.status,
                Status::Running | Status::Paused | Status::Restarting
            );
            out.containers.push(ContainerUsage {
                row: inspect::ps_row(&c),
                container: c,
                size,
                active,
            });
        }
        for v in self.volume_list()? {
            let size = volume::dir_size(&v.mountpoint);
            let links = self.volume_users(&v.name)?.len();
            out.volumes.push(VolumeUsage {
                volume: v,
                size,
                links,
            });
        }
        Ok(out)
    }
}
