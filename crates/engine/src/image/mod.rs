//! The image a container is made from, as the engine needs it: id, layers for the overlay,
//! and the config defaults (env, entrypoint, cmd, working dir, user, stop signal, ports).
//! `busybox` is seeded from the host's static busybox when the store has none, so a fresh
//! offline machine can run it.

pub mod inspect;
pub mod login;
pub mod ops;
pub mod verbs;

/// The image store's types a front end passes to or gets from the image verbs (`import`'s
/// options, `images`' and `history`'s rows, a pull's progress), so that it needs no store
/// of its own.
pub use hull_image::{
    go_arch, HistoryRow, ImageSummary, ImportOptions, NoProgress, Progress, Reference, TtyProgress,
};

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::Paths;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("no such image: {0}")]
    NotFound(String),
    #[error("image {name}: {reason}")]
    Store { name: String, reason: String },
}

#[derive(Debug, Clone, Default)]
pub struct ImageInfo {
    pub id: String,
    /// Unpacked layer dirs, bottom first.
    pub layers: Vec<PathBuf>,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub stop_signal: String,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// docker's Config.Healthcheck (not in the OCI image spec: read from the raw config).
    pub healthcheck: Option<crate::container::health::HealthConfig>,
    /// The image's VOLUME paths: each gets an anonymous volume unless a mount covers it.
    pub volumes: Vec<String>,
}

fn is_busybox(name: &str) -> bool {
    matches!(
        name,
        "busybox"
            | "busybox:latest"
            | "docker.io/library/busybox"
            | "docker.io/library/busybox:latest"
    )
}

/// The host's static busybox (Debian's busybox-static).
pub fn host_busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Resolves `name` in the image store, seeding busybox on first use.
pub fn resolve(paths: &Paths, name: &str) -> Result<ImageInfo, ImageError> {
    let store_err = |reason: String| ImageError::Store {
        name: name.into(),
        reason,
    };
    let mut store = hull_image::Store::open(&paths.root).map_err(|e| store_err(e.to_string()))?;
    let img = match store.resolve(name) {
        Ok(i) => i,
        Err(_) if is_busybox(name) => {
            let bb = host_busybox().ok_or_else(|| ImageError::NotFound(name.into()))?;
            store
                .seed_busybox(&bb)
                .map_err(|e| store_err(e.to_string()))?;
            store.resolve(name).map_err(|e| store_err(e.to_string()))?
        }
        Err(_) => return Err(ImageError::NotFound(name.into())),
    };
    let mut info = ImageInfo {
        id: img.id.clone(),
        layers: img.layers.clone(),
        ..Default::default()
    };
    if let Some(c) = img.config.config() {
        info.env = c.env().clone().unwrap_or_default();
        info.entrypoint = c.entrypoint().clone().unwrap_or_default();
        info.cmd = c.cmd().clone().unwrap_or_default();
        info.working_dir = c.working_dir().clone().unwrap_or_default();
        info.user = c.user().clone().unwrap_or_default();
        info.stop_signal = c.stop_signal().clone().unwrap_or_default();
        info.exposed_ports = c.exposed_ports().clone().unwrap_or_default();
        info.labels = c
            .labels()
            .clone()
            .map(|l| l.into_iter().collect())
            .unwrap_or_default();
        info.volumes = c.volumes().clone().unwrap_or_default();
    }
    info.healthcheck = serde_json::from_slice::<serde_json::Value>(&img.config_raw)
        .ok()
        .and_then(|v| serde_json::from_value(v["config"]["Healthcheck"].clone()).ok());
    Ok(info)
}
