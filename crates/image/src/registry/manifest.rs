//! Manifests and indexes, OCI and docker schema 2, parsed leniently: unknown fields are
//! ignored, and the kind is told by mediaType or, without one, by shape.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::ImageError;
use crate::import::go_arch;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// What a registry is asked for, best first.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<HashMap<String, String>>,
}

impl Descriptor {
    /// The image names an OCI index gives this entry: containerd's full name, else the
    /// `org.opencontainers.image.ref.name` (which skopeo sets to the name it was given).
    pub fn ref_names(&self) -> Vec<String> {
        let Some(a) = &self.annotations else {
            return vec![];
        };
        a.get("io.containerd.image.name")
            .or_else(|| a.get("org.opencontainers.image.ref.name"))
            .map(|n| vec![n.clone()])
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexManifest {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

pub enum Manifest {
    Image(ImageManifest),
    Index(IndexManifest),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// Parses a manifest or index; `content_type` is what the registry said it is, if anything.
pub fn parse_typed(
    bytes: &[u8],
    content_type: Option<&str>,
    what: &str,
) -> Result<Manifest, ImageError> {
    let json_err = |e| ImageError::Json {
        file: what.to_string(),
        source: e,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(json_err)?;
    if probe.schema_version == Some(1) {
        return Err(ImageError::archive(
            what,
            "docker schema 1 manifests are not supported",
        ));
    }
    let kind = probe
        .media_type
        .as_deref()
        .or(content_type.map(|c| c.split(';').next().unwrap_or(c).trim()))
        .unwrap_or("");
    let is_index = match kind {
        OCI_INDEX | DOCKER_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        _ => probe.manifests.is_some(),
    };
    if is_index {
        Ok(Manifest::Index(
            serde_json::from_slice(bytes).map_err(json_err)?,
        ))
    } else {
        let m: ImageManifest = serde_json::from_slice(bytes).map_err(json_err)?;
        Ok(Manifest::Image(m))
    }
}

pub fn parse(bytes: &[u8], what: &str) -> Result<Manifest, ImageError> {
    parse_typed(bytes, None, what)
}

/// The entry of an index for linux on this machine's architecture.
pub fn pick_platform<'a>(
    list: &'a IndexManifest,
    what: &str,
) -> Result<&'a Descriptor, ImageError> {
    let arch = go_arch();
    let found = list.manifests.iter().find(|d| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os == "linux" && p.architecture == arch)
    });
    if let Some(d) = found {
        return Ok(d);
    }
    // An index without platforms (an OCI layout's index.json) with a single image.
    let unplatformed: Vec<&Descriptor> = list
        .manifests
        .iter()
        .filter(|d| d.platform.is_none())
        .collect();
    if unplatformed.len() == 1 {
        return Ok(unplatformed[0]);
    }
    let have: Vec<String> = list
        .manifests
        .iter()
        .filter_map(|d| {
            d.platform
                .as_ref()
                .map(|p| format!("{}/{}", p.os, p.architecture))
        })
        .collect();
    Err(ImageError::archive(
        what,
        format!("no image for linux/{arch} (has {})", have.join(", ")),
    ))
}
