//! `hull push`: an image's layers (rebuilt from the store as `save` does, gzip-compressed as
//! docker pushes them), its config and a docker schema 2 manifest, uploaded with the distribution API's monolithic
//! upload (POST, then PUT with the digest); blobs the registry has are skipped (HEAD).

use std::io::{Read, Seek};

use serde_json::json;
use ureq::http::Response;
use ureq::{Body, SendBody};

use super::client::Client;
use super::{auth, PullOptions};
use crate::reference::Reference;
use crate::{ImageError, Store};

/// Builds and sends one request, given the authorization to put on it.
type Request<'a> =
    dyn FnMut(&ureq::Agent, Option<&str>) -> Result<Response<Body>, ureq::Error> + 'a;

const MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_TYPE: &str = "application/vnd.docker.container.image.v1+json";
const LAYER_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

impl Client {
    /// Pushing asks for `pull,push` tokens.
    pub fn for_push(mut self) -> Client {
        self.set_push();
        self
    }

    /// Sends a request built by `build` (given the authorization), answering one challenge.
    fn send(&mut self, what: &str, build: &mut Request<'_>) -> Result<Response<Body>, ImageError> {
        let mut retried = false;
        loop {
            let resp = build(self.agent(), self.authorization())
                .map_err(|e| self.error(format!("{what}: {e}")))?;
            if resp.status() == 401 && !retried {
                retried = true;
                self.challenge(&resp)?;
                continue;
            }
            return Ok(resp);
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base(), self.repository())
    }

    fn has_blob(&mut self, digest: &str) -> Result<bool, ImageError> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&format!("HEAD {url}"), &mut |a, auth| {
            let mut r = a.head(&url);
            if let Some(x) = auth {
                r = r.header("Authorization", x);
            }
            r.call()
        })?;
        Ok(resp.status() == 200)
    }

    /// Uploads a blob unless the registry has it; true when it was sent.
    fn upload(&mut self, digest: &str, body: &mut dyn Read) -> Result<bool, ImageError> {
        if self.has_blob(digest)? {
            return Ok(false);
        }
        let url = self.url("blobs/uploads/");
        let resp = self.send(&format!("POST {url}"), &mut |a, auth| {
            let mut r = a.post(&url);
            if let Some(x) = auth {
                r = r.header("Authorization", x);
            }
            r.send_empty()
        })?;
        let loc = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .filter(|_| resp.status() == 202)
            .ok_or_else(|| self.error(format!("POST {url}: {}", resp.status())))?
            .to_string();
        let loc = if loc.starts_with('/') {
            format!("{}{loc}", self.base())
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let put = format!("{loc}{sep}digest={}", digest.replace(':', "%3A"));
        let mut req = self
            .agent()
            .put(&put)
            .header("Content-Type", "application/octet-stream");
        if let Some(x) = self.authorization() {
            req = req.header("Authorization", x);
        }
        let resp = req
            .send(SendBody::from_reader(body))
            .map_err(|e| self.error(format!("PUT blob {digest}: {e}")))?;
        if resp.status() != 201 {
            return Err(self.error(format!("PUT blob {digest}: {}", resp.status())));
        }
        Ok(true)
    }

    fn put_manifest(&mut self, tag: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let url = self.url(&format!("manifests/{tag}"));
        let resp = self.send(&format!("PUT {url}"), &mut |a, auth| {
            let mut r = a.put(&url).header("Content-Type", MANIFEST_TYPE);
            if let Some(x) = auth {
                r = r.header("Authorization", x);
            }
            r.send(bytes)
        })?;
        if resp.status() != 201 {
            return Err(self.error(format!("PUT {url}: {}", resp.status())));
        }
        Ok(())
    }
}

impl Store {
    /// The layer `diff_id` gzip-compressed into a temporary file: the blob's digest, its size
    /// and the file at its start. The same layer compresses to the same bytes (no name or
    /// time in the gzip header), so a second push finds the blob and skips it.
    fn gzip_layer(&self, diff_id: &str) -> Result<(String, u64, std::fs::File), ImageError> {
        let io = |e: std::io::Error| ImageError::Other(format!("compress layer {diff_id}: {e}"));
        let (mut reader, _) = self.layer_reader(diff_id)?;
        let mut gz = flate2::write::GzEncoder::new(
            tempfile::tempfile().map_err(io)?,
            flate2::Compression::default(),
        );
        std::io::copy(&mut reader, &mut gz).map_err(io)?;
        let mut file = gz.finish().map_err(io)?;
        file.rewind().map_err(io)?;
        let mut h = crate::digest::HashReader::new(file);
        h.drain().map_err(io)?;
        let (digest, size, mut file) = h.finish();
        file.rewind().map_err(io)?;
        Ok((digest, size, file))
    }

    /// `hull push NAME[:TAG]`: prints docker's lines to `out`; returns the manifest digest.
    pub fn push(
        &self,
        name: &str,
        opts: &PullOptions,
        out: &mut dyn std::io::Write,
    ) -> Result<String, ImageError> {
        let r = Reference::parse(name)?.with_default_tag();
        let tag = r
            .tag
            .clone()
            .ok_or_else(|| ImageError::Other(format!("push {name}: a tag is needed")))?;
        let img = self.resolve(&r.to_string())?;
        let opts = PullOptions {
            credentials: opts
                .credentials
                .clone()
                .or_else(|| auth::lookup(&r.registry)),
            ..opts.clone()
        };
        let mut c = Client::new(&r, &opts)?.for_push();
        let _ = writeln!(out, "The push refers to repository [{}]", r.familiar_name());
        let mut layers = Vec::new();
        for d in img.diff_ids.iter().rev() {
            let (digest, size, mut blob) = self.gzip_layer(d)?;
            let short: String = d.trim_start_matches("sha256:").chars().take(12).collect();
            let sent = c.upload(&digest, &mut blob)?;
            let _ = writeln!(
                out,
                "{short}: {}",
                if sent {
                    "Pushed"
                } else {
                    "Layer already exists"
                }
            );
            layers.push(json!({"mediaType": LAYER_TYPE, "size": size, "digest": digest}));
        }
        layers.reverse();
        c.upload(&img.id, &mut img.config_raw.as_slice())?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": img.config_raw.len(), "digest": img.id},
            "layers": layers,
        });
        let bytes = serde_json::to_vec_pretty(&manifest).expect("json");
        c.put_manifest(&tag, &bytes)?;
        let digest = crate::digest::sha256_of(&bytes);
        let _ = writeln!(out, "{tag}: digest: {digest} size: {}", bytes.len());
        Ok(digest)
    }
}
