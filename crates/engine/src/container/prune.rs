//! What the containers hold on to: the images they were created from (rmi and image prune
//! must leave those, or a container's overlay loses its lower layers).

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::container::{self, ContainerError};

/// The hex digits of an image id, with or without its `sha256:`.
fn bare(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// Image id (without `sha256:`) -> the containers created from it (names), of every state.
pub fn images_in_use(conn: &Connection) -> Result<BTreeMap<String, Vec<String>>, ContainerError> {
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in container::list(conn)? {
        if !c.image_id.is_empty() {
            used.entry(bare(&c.image_id).to_string())
                .or_default()
                .push(c.name);
        }
    }
    Ok(used)
}

/// The containers created from image `id` (`sha256:...` or bare hex).
pub fn image_users(used: &BTreeMap<String, Vec<String>>, id: &str) -> Vec<String> {
    used.get(bare(id)).cloned().unwrap_or_default()
}

/// What `container prune` keeps out: docker's `until` (created before) and `label`
/// (`KEY`, `KEY=VALUE`, and `label!=` negations).
#[derive(Debug, Default, Clone)]
pub struct PruneFilters {
    /// Only containers created before this (nanoseconds since the epoch).
    pub until: Option<i128>,
    /// Each `KEY` or `KEY=VALUE` must match.
    pub labels: Vec<String>,
    /// None of these may match.
    pub not_labels: Vec<String>,
}

fn label_matches(labels: &BTreeMap<String, String>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want),
    }
}

impl PruneFilters {
    fn keep(&self, c: &container::Container) -> bool {
        let created = crate::time::since::rfc3339_nanos(&c.created).unwrap_or(0);
        self.until.is_some_and(|u| created >= u)
            || !self.labels.iter().all(|l| label_matches(&c.labels, l))
            || self.not_labels.iter().any(|l| label_matches(&c.labels, l))
    }
}

/// What a prune removed.
#[derive(Debug, Default, Clone)]
pub struct Pruned {
    /// Full ids.
    pub removed: Vec<String>,
    /// Bytes their writable layers held.
    pub space: u64,
}

impl crate::Engine {
    /// `container prune`: removes every stopped container the filters leave in.
    pub fn container_prune(&self, f: &PruneFilters) -> crate::Result<Pruned> {
        let mut out = Pruned::default();
        for c in self.list()? {
            if c.status.is_live() || f.keep(&c) {
                continue;
            }
            let size = dir_size(&self.paths.container_dir(&c.id).join("upper"));
            self.remove(&c.id, false, false)?;
            out.space += size;
            out.removed.push(c.id);
        }
        Ok(out)
    }
}

/// Bytes of the regular files under `dir` (0 where unreadable).
pub fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}
