//! `hull builder prune [-a]` as BuildKit's: without `-a` only the dangling build cache goes
//! (what no image's layer chain shares), with `-a` all of it.
//!
//! BuildKit (docker 20.10, `DOCKER_BUILDKIT=1`) keeps, without `--all`, every cache record
//! whose layer chain is a chain of an image of the store (tagged or dangling: moby's
//! imagerefchecker looks at every image), and removes the others: the context's sources,
//! the `RUN --mount=type=cache` dirs, and the steps of stages no image is made of. A stage
//! only copied from (`COPY --from`) still rebuilds cached there, as BuildKit finds the
//! copy by its definition. hull's cache entries name images; so an entry is kept when its
//! image is not an intermediate (a build's result), or when its layers are a prefix of the
//! layers of a kept image or of a stage image a kept result was built from
//! (`<root>/build-uses/<hex>`, written by the build). The rest goes, with the digest index
//! and the cache mount dirs. tests/parity/build_buildkit.rs compares what a rebuild finds
//! cached after each prune with BuildKit's.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use hull_image::Store;

use crate::cache::Cache;
use crate::BuildError;

/// What a prune removed: docker's lines (one id a removed record) and the bytes freed.
#[derive(Debug, Default)]
pub struct Report {
    pub ids: Vec<String>,
    pub bytes: u64,
}

fn uses_dir(root: &Path) -> PathBuf {
    root.join("build-uses")
}

fn hex(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// Records the images of the other stages a build's `result` was made from.
pub fn record_uses(root: &Path, result: &str, stages: &[String]) -> std::io::Result<()> {
    let dir = uses_dir(root);
    let path = dir.join(hex(result));
    let others: Vec<&str> = stages
        .iter()
        .map(String::as_str)
        .filter(|s| *s != result)
        .collect();
    if others.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{}.{}", hex(result), std::process::id()));
    std::fs::write(&tmp, others.join("\n"))?;
    std::fs::rename(&tmp, path)
}

/// The stage images recorded for `result`.
fn uses_of(root: &Path, result: &str) -> Vec<String> {
    std::fs::read_to_string(uses_dir(root).join(hex(result)))
        .map(|s| s.lines().map(String::from).collect())
        .unwrap_or_default()
}

/// Every prefix of `layers` as one string (the layer chain it is).
fn chains(layers: &[String], into: &mut HashSet<String>) {
    let mut acc = String::new();
    into.insert(acc.clone());
    for l in layers {
        acc.push_str(l);
        acc.push('\n');
        into.insert(acc.clone());
    }
}

/// Prunes the build cache of the store at `root`: the dangling part, or all of it (`all`).
/// `in_use`: whether a container uses an image (then it stays, as an image).
pub fn prune(
    root: &Path,
    store: &mut Store,
    all: bool,
    in_use: &dyn Fn(&str) -> bool,
) -> Result<Report, BuildError> {
    let intermediates = store.build_intermediates();
    // The layer chains the store's images share (not computed for `-a`).
    let mut shared = HashSet::new();
    if !all {
        let mut sources: Vec<String> = Vec::new();
        for s in store.list()? {
            if !intermediates.contains(&s.id) {
                sources.extend(uses_of(root, &s.id));
                sources.push(s.id);
            }
        }
        for id in sources {
            if let Ok(img) = store.resolve(&id) {
                chains(&img.diff_ids, &mut shared);
            }
        }
    }
    let chain_of = |id: &str| -> Option<String> {
        let img = store.resolve(id).ok()?;
        let mut acc = String::new();
        for l in &img.diff_ids {
            acc.push_str(l);
            acc.push('\n');
        }
        Some(acc)
    };
    let pruned = Cache::open(root)
        .prune(|_, id| {
            !all && (!intermediates.contains(id)
                || chain_of(id).is_some_and(|c| shared.contains(&c)))
        })
        .map_err(|e| BuildError::msg(format!("build cache: {e}")))?;
    let mut report = Report {
        bytes: pruned.mount_bytes,
        ..Default::default()
    };
    // docker prints record ids of 25 characters: the entries' keys cut to that length.
    report.ids.extend(
        pruned
            .removed
            .iter()
            .map(|(k, _)| k.chars().take(25).collect()),
    );
    report
        .ids
        .extend(pruned.mounts.iter().map(|m| m.chars().take(25).collect()));
    let kept: HashSet<&str> = pruned.kept.iter().map(String::as_str).collect();
    // Intermediates no kept entry names, untagged and unused by a container, go; the bytes
    // of the layers that go with them are what is reclaimed.
    for id in &intermediates {
        if kept.contains(id.as_str()) {
            continue;
        }
        let Ok(img) = store.resolve(id) else {
            continue;
        };
        if !img.names.is_empty() || in_use(&img.id) {
            continue;
        }
        let layers = store.layers_of(Some(&img.id))?;
        if store.remove(&img.id, false).is_ok() {
            for l in layers {
                if store.find_layer(&l.diff_id)?.is_none() {
                    report.bytes += l.diff_size;
                }
            }
        }
    }
    // The marks of intermediates that are gone (removed now, or by `rmi`), and the uses of
    // results that are gone.
    for id in store.build_intermediates() {
        if store.resolve(&id).is_err() {
            store.mark_build_intermediate(&id, false)?;
        }
    }
    if let Ok(rd) = std::fs::read_dir(uses_dir(root)) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || store.resolve(&format!("sha256:{name}")).is_err() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    report.ids.sort();
    Ok(report)
}
