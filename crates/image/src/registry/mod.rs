//! `hull pull`: the OCI distribution API v2. Manifests (OCI and docker schema 2) and indexes
//! (OCI index, docker manifest list: this machine's linux platform is picked) are checked
//! against the digest they were asked by; every blob is verified as it streams into the store,
//! and layers already stored are not downloaded again.

pub mod client;
pub mod manifest;

use std::io::{self, Read};

use crate::digest::{sha256_of, verify};
use crate::error::ImageError;
use crate::images::NewImage;
use crate::layers::Expect;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::{ImageId, Store};

use client::Client;
use manifest::{parse_typed, pick_platform, Manifest};

/// `hull pull`'s options.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `--tls-verify=false`: accept any certificate, and fall back to plain http.
    pub insecure: bool,
    /// `--creds USER:PASS`, for Basic auth and for the token endpoint.
    pub credentials: Option<(String, String)>,
}

/// Counts bytes into a progress bar.
struct Counting<'a, R> {
    inner: R,
    progress: &'a mut dyn Progress,
    id: &'a str,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(self.id, n as u64);
        Ok(n)
    }
}

fn short(digest: &str) -> &str {
    digest.get(7..19).unwrap_or(digest)
}

impl Store {
    /// Pulls `reference` and stores it under that name (and `name@digest`).
    pub fn pull(
        &mut self,
        reference: &str,
        opts: &PullOptions,
        progress: &mut dyn Progress,
    ) -> Result<ImageId, ImageError> {
        let r = Reference::parse(reference)?.with_default_tag();
        let mut c = Client::new(&r, opts)?;
        let wanted = r.digest.clone().or(r.tag.clone()).expect("tag or digest");
        progress.message(&format!("{wanted}: Pulling from {}", r.familiar_name()));
        let (top, ctype) = c.manifest(&wanted)?;
        let top_digest = sha256_of(&top);
        let what = format!("manifest {}@{wanted}", r.familiar_name());
        verify(&what, r.digest.as_deref(), &top_digest)?;
        let (manifest_bytes, m) = match parse_typed(&top, ctype.as_deref(), &what)? {
            Manifest::Image(m) => (top.clone(), m),
            Manifest::Index(list) => {
                let d = pick_platform(&list, &what)?;
                let (bytes, ctype) = c.manifest(&d.digest)?;
                let what = format!("manifest {}@{}", r.familiar_name(), d.digest);
                verify(&what, Some(&d.digest), &sha256_of(&bytes))?;
                match parse_typed(&bytes, ctype.as_deref(), &what)? {
                    Manifest::Image(m) => (bytes, m),
                    Manifest::Index(_) => {
                        return Err(ImageError::registry(
                            &r.registry,
                            format!("{what}: an index inside an index"),
                        ))
                    }
                }
            }
        };
        let config = c.blob_bytes(&m.config.digest, 16 << 20)?;
        verify(
            &format!("config {}", m.config.digest),
            Some(&m.config.digest),
            &sha256_of(&config),
        )?;
        let diff_ids = config_diff_ids(&config, &m.config.digest)?;
        let layer_descs: Vec<_> = m
            .layers
            .iter()
            .filter(|l| !l.media_type.contains("foreign"))
            .collect();
        if diff_ids.len() != layer_descs.len() {
            return Err(ImageError::registry(
                &r.registry,
                format!(
                    "{what}: {} layers but {} diff_ids in the config",
                    layer_descs.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        for (desc, diff_id) in layer_descs.iter().zip(&diff_ids) {
            let id = short(&desc.digest);
            if let Some(info) = self.find_layer(diff_id)? {
                progress.finish(id, "Already exists");
                layers.push(info);
                continue;
            }
            progress.start(id, Some(desc.size));
            let what = format!("layer {}", desc.digest);
            let mut body = Counting {
                inner: c.blob(&desc.digest)?,
                progress: &mut *progress,
                id,
            };
            let info = self.add_layer(
                &mut body,
                Expect {
                    what: &what,
                    blob_digest: Some(&desc.digest),
                    blob_size: Some(desc.size),
                    diff_id: Some(diff_id),
                },
            );
            drop(body);
            let info = info?;
            progress.finish(id, "Pull complete");
            layers.push(info);
        }
        let mut names = vec![];
        if r.digest.is_none() {
            names.push(r.clone());
        }
        let mut by_digest = r.clone();
        by_digest.tag = None;
        by_digest.digest = Some(top_digest.clone());
        names.push(by_digest);
        let id = self.commit_image(NewImage {
            config: &config,
            manifest: Some(&manifest_bytes),
            layers: &layers,
            names: &names,
        })?;
        progress.message(&format!("Digest: {top_digest}"));
        progress.message(&format!("Status: Downloaded image for {}", r.familiar()));
        Ok(id)
    }
}

fn config_diff_ids(config: &[u8], digest: &str) -> Result<Vec<String>, ImageError> {
    let v: serde_json::Value = serde_json::from_slice(config).map_err(|e| ImageError::Json {
        file: format!("config {digest}"),
        source: e,
    })?;
    let ids = v["rootfs"]["diff_ids"]
        .as_array()
        .ok_or_else(|| ImageError::Other(format!("config {digest}: no rootfs.diff_ids")))?;
    ids.iter()
        .map(|d| {
            let d = d.as_str().unwrap_or_default().to_string();
            crate::digest::hex_of(&d)?;
            Ok(d)
        })
        .collect()
}
