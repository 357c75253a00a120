//! The image verbs every front end calls (the CLI's `images`, `image inspect`, `history`,
//! `pull`, `push`, `tag`, `save`, `load`; the API socket's `/images/...`): typed requests in,
//! typed replies out, each one event where docker emits one. The output's shape (a table, a
//! progress bar, docker's JSON stream) is the front end's.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use hull_image::{HistoryRow, ImageSummary, Progress, PullOptions, Reference, Store};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events;

/// Where an image comes from and with which credentials (pull, push).
#[derive(Debug, Clone, Default)]
pub struct RegistryRequest {
    /// `name[:tag]` or `name@digest`.
    pub reference: String,
    /// Plain http, or https without verifying the certificate.
    pub insecure: bool,
    /// USER, PASSWORD (None: what `login` stored for the registry).
    pub credentials: Option<(String, String)>,
}

impl RegistryRequest {
    fn options(&self) -> PullOptions {
        PullOptions {
            insecure: self.insecure,
            credentials: self.credentials.clone(),
        }
    }
}

/// What a pull stored.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub id: String,
    /// The full reference with its default tag (`docker.io/library/busybox:latest`).
    pub reference: String,
}

/// One name a load stored, and the image that held that name before (docker prints a notice
/// when a tag moves).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The familiar name, or `sha256:...` for an image without one.
    pub name: String,
    /// The id the name pointed at before the load, when it was another image.
    pub replaced: Option<String>,
}

/// `images --filter` (and the API's `filters`): which images a list keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageFilter {
    /// Untagged (true) or tagged (false) images.
    Dangling(bool),
    /// A tag matching `busybox`, `busybox:1*`, `*box`.
    Reference(String),
}

impl ImageFilter {
    /// Parses `dangling=true|false` or `reference=PATTERN`.
    pub fn parse(f: &str) -> Result<ImageFilter> {
        match f.split_once('=') {
            Some(("dangling", "true" | "1")) => Ok(ImageFilter::Dangling(true)),
            Some(("dangling", "false" | "0")) => Ok(ImageFilter::Dangling(false)),
            Some(("reference", p)) if !p.is_empty() => Ok(ImageFilter::Reference(p.to_string())),
            _ => Err(Error::InvalidArgument(format!(
                "invalid filter {f:?}: want dangling=true|false or reference=PATTERN"
            ))),
        }
    }

    pub fn keeps(&self, img: &ImageSummary) -> bool {
        match self {
            ImageFilter::Dangling(d) => img.repo_tags.is_empty() == *d,
            ImageFilter::Reference(p) => img.repo_tags.iter().any(|t| ref_matches(p, t)),
        }
    }
}

/// `busybox:latest` -> (`busybox`, `latest`); `localhost:5000/x` -> (`localhost:5000/x`, "").
pub fn split_tag(name: &str) -> (&str, &str) {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], &name[slash + i + 1..]),
        None => (name, ""),
    }
}

/// Whether `name` (`repo:tag`) matches a reference pattern: `busybox`, `busybox:1*`, `*box`.
pub fn ref_matches(pattern: &str, name: &str) -> bool {
    let (repo, _) = split_tag(name);
    glob(pattern, name) || glob(pattern, repo)
}

/// `*` and `?` wildcards (not crossing `/` for `*`, as path.Match).
fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != '/')
                .any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && t[0] != '/' && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

impl Engine {
    fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.paths.root)?)
    }

    /// The images every filter keeps. With a reference filter an image shows only its tags
    /// and digests that match one, as dockerd lists them (`images busybox` shows no other name of it).
    ///
    /// `hull build`'s untagged intermediates are its cache, not images: listed by neither
    /// `images` nor `images -a`, as BuildKit's (docker's classic builder shows them with
    /// `-a`).
    pub fn image_list(&self, filters: &[ImageFilter]) -> Result<Vec<ImageSummary>> {
        let store = self.store()?;
        let cache = store.build_intermediates();
        let mut images = store.list()?;
        images.retain(|img| !(img.repo_tags.is_empty() && cache.contains(&img.id)));
        images.retain(|img| filters.iter().all(|f| f.keeps(img)));
        let patterns: Vec<&str> = filters
            .iter()
            .filter_map(|f| match f {
                ImageFilter::Reference(p) => Some(p.as_str()),
                ImageFilter::Dangling(_) => None,
            })
            .collect();
        if !patterns.is_empty() {
            for img in &mut images {
                img.repo_tags
                    .retain(|t| patterns.iter().any(|p| ref_matches(p, t)));
                img.repo_digests.retain(|d| {
                    let repo = d.split_once('@').map_or(d.as_str(), |(r, _)| r);
                    patterns.iter().any(|p| ref_matches(p, repo))
                });
            }
        }
        Ok(images)
    }

    /// `docker image inspect`'s JSON of one image.
    pub fn image_inspect(&self, name: &str) -> Result<Value> {
        Ok(super::inspect::inspect_json(&self.store()?.resolve(name)?))
    }

    /// The image's history, newest first.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryRow>> {
        Ok(self.store()?.history(name)?)
    }

    /// Pulls an image from its registry, reporting each layer to `progress`.
    pub fn image_pull(&self, req: &RegistryRequest, progress: &mut dyn Progress) -> Result<Pulled> {
        // Checked before anything touches the store or the network.
        let full = Reference::parse(&req.reference)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?
            .with_default_tag();
        let id = self
            .store()?
            .pull(&req.reference, &req.options(), progress)?;
        events::image(&self.paths, "pull", &full.familiar(), &full.familiar_name());
        Ok(Pulled {
            id,
            reference: full.to_string(),
        })
    }

    /// Pushes an image to its registry; docker's lines go to `out`. Returns the manifest's
    /// digest.
    pub fn image_push(&self, req: &RegistryRequest, out: &mut dyn Write) -> Result<String> {
        let name = Reference::parse(&req.reference)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?
            .with_default_tag()
            .familiar();
        let digest = self.store()?.push(&req.reference, &req.options(), out)?;
        events::image(&self.paths, "push", &name, &name);
        Ok(digest)
    }

    /// Gives the image `source` the name `target`.
    pub fn image_tag(&self, source: &str, target: &str) -> Result<()> {
        let name = Reference::parse(target)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?
            .with_default_tag()
            .familiar();
        let mut store = self.store()?;
        store.tag(source, target)?;
        let id = store.resolve(target)?.id;
        events::image(&self.paths, "tag", &id, &name);
        Ok(())
    }

    /// Writes a docker-archive (also an OCI layout) of `images` to `out`.
    pub fn image_save(&self, images: &[&str], out: &mut dyn Write) -> Result<()> {
        let store = self.store()?;
        store.save(images, out)?;
        // docker's `save` event, one per image, named by its id.
        for name in images {
            if let Ok(img) = store.resolve(name) {
                let id = events::image_id(&img.id);
                events::image(&self.paths, "save", &id, &id);
            }
        }
        Ok(())
    }

    /// `import`: the rootfs tarball read from `tar` as a one-layer image named `reference`
    /// (empty: untagged); its id.
    pub fn image_import(
        &self,
        tar: &mut dyn std::io::Read,
        reference: &str,
        opts: &hull_image::ImportOptions,
    ) -> Result<String> {
        let id = self.store()?.import_rootfs(tar, reference, opts)?;
        let ev = events::image_id(&id);
        events::image(&self.paths, "import", &ev, &ev);
        Ok(id)
    }

    /// Loads every image of the docker-archive or oci-archive at `archive`.
    pub fn image_load(&self, archive: &Path) -> Result<Vec<Loaded>> {
        let mut store = self.store()?;
        let before = tags(&store)?;
        let names = store.load(archive)?;
        let after = tags(&store)?;
        // docker's `load` event, one per image loaded, named by its id.
        // (A name is a tag, or the id of an untagged image.)
        let mut ids: Vec<String> = names
            .iter()
            .filter_map(|n| match n.strip_prefix("sha256:") {
                Some(_) => Some(n.clone()),
                None => Reference::parse(n)
                    .ok()
                    .and_then(|r| after.get(&r.with_default_tag().to_string()).cloned()),
            })
            .map(|id| events::image_id(&id))
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            events::image(&self.paths, "load", &id, &id);
        }
        let mut loaded = Vec::new();
        for name in names {
            let full = Reference::parse(&name).map(|r| r.with_default_tag().to_string());
            let replaced = full
                .ok()
                .and_then(|f| Some((before.get(&f)?, after.get(&f)?)))
                .filter(|(old, new)| old != new)
                .map(|(old, _)| {
                    if old.starts_with("sha256:") {
                        old.clone()
                    } else {
                        format!("sha256:{old}")
                    }
                });
            loaded.push(Loaded { name, replaced });
        }
        Ok(loaded)
    }

    /// Loads an archive read from `src` (a pipe, a request body): spooled to a file in the
    /// store's tmp dir first, since an archive is read by random access (manifest.json may
    /// come last). The file is removed when done.
    pub fn image_load_stream(&self, src: &mut dyn std::io::Read) -> Result<Vec<Loaded>> {
        // Opening the store makes its tmp dir on a fresh root.
        self.store()?;
        let tmp_dir = self.paths.root.join("tmp");
        let mut tmp = tempfile::Builder::new()
            .prefix("load-stream-")
            .tempfile_in(&tmp_dir)
            .map_err(|e| Error::Internal(format!("{}: {e}", tmp_dir.display())))?;
        std::io::copy(src, tmp.as_file_mut())
            .map_err(|e| Error::Internal(format!("reading the archive: {e}")))?;
        self.image_load(tmp.path())
    }
}

/// Every tag's image id, by the tag's full reference.
fn tags(store: &Store) -> Result<HashMap<String, String>> {
    let mut by_name = HashMap::new();
    for img in store.list()? {
        for t in &img.repo_tags {
            if let Ok(r) = Reference::parse(t) {
                by_name.insert(r.with_default_tag().to_string(), img.id.clone());
            }
        }
    }
    Ok(by_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_after_the_last_slash() {
        assert_eq!(split_tag("busybox:latest"), ("busybox", "latest"));
        assert_eq!(split_tag("localhost:5000/x"), ("localhost:5000/x", ""));
        assert_eq!(split_tag("localhost:5000/x:1"), ("localhost:5000/x", "1"));
    }

    #[test]
    fn reference_patterns() {
        assert!(ref_matches("busybox", "busybox:latest"));
        assert!(ref_matches("busybox:lat*", "busybox:latest"));
        assert!(ref_matches("*box", "busybox:latest"));
        assert!(!ref_matches("*box", "library/busybox:latest"));
        assert!(!ref_matches("debian", "busybox:latest"));
    }
}
