//! Kubernetes manifests: `Pod` (v1) and `Deployment` (apps/v1), one or many YAML documents
//! in a file, read into `PodPlan`s the engine runs (`hull kube play`), and a `Pod` manifest
//! written back from a plan (`hull kube generate`).
//!
//! Each document is read in three steps: the raw YAML value is walked against the keys hull
//! supports (`schema`), naming every other key in a warning; the value is then read into
//! typed structs (`model`), where a wrong type is an error naming its path; finally
//! `translate` applies Kubernetes' rules and defaults and checks every value.

mod generate;
mod model;
mod quantity;
mod schema;
#[cfg(test)]
mod tests;
mod translate;

use std::path::Path;

use serde::Deserialize;
use serde_norway::Value;

pub use generate::pod_manifest;
pub use quantity::Quantity;

use crate::pod::plan::PodPlan;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: invalid YAML: {msg}")]
    Yaml { file: String, msg: String },
    /// `msg` starts with the field's path: `spec.containers[1].image: required`.
    #[error("{file}: {msg}")]
    Invalid { file: String, msg: String },
}

/// What a manifest file asks for.
#[derive(Debug, Default)]
pub struct Manifests {
    /// Every pod, in file order (a Deployment gives one per replica).
    pub pods: Vec<PodPlan>,
    /// Fields hull ignores, each "FILE: PATH: why".
    pub warnings: Vec<String>,
}

/// Warnings gathered while a document is translated.
#[derive(Default)]
pub(crate) struct Ctx {
    pub warnings: Vec<String>,
}

impl Ctx {
    pub fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }
}

/// Reads and parses a manifest file; `file` in messages is the path as given.
pub fn read(path: &Path) -> Result<Manifests, KubeError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KubeError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

/// Parses every document of `text`; `file` names it in errors and warnings.
pub fn parse(file: &str, text: &str) -> Result<Manifests, KubeError> {
    let yaml = |e: serde_norway::Error| KubeError::Yaml {
        file: file.into(),
        msg: e.to_string(),
    };
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(yaml)?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    if docs.is_empty() {
        return Err(KubeError::Invalid {
            file: file.into(),
            msg: "no Kubernetes object in the file".into(),
        });
    }
    let many = docs.len() > 1;
    let mut out = Manifests::default();
    for (i, doc) in docs.into_iter().enumerate() {
        let prefix = if many {
            format!("{file}: document {}: ", i + 1)
        } else {
            format!("{file}: ")
        };
        let invalid = |msg: String| KubeError::Invalid {
            file: file.into(),
            msg: prefix[file.len() + 2..].to_string() + &msg,
        };
        let mut cx = Ctx::default();
        let pods = document(&mut cx, doc).map_err(invalid)?;
        for p in &pods {
            if out.pods.iter().any(|o| o.name == p.name) {
                return Err(invalid(format!(
                    "metadata.name: pod {:?} is defined twice",
                    p.name
                )));
            }
        }
        out.pods.extend(pods);
        out.warnings
            .extend(cx.warnings.into_iter().map(|w| format!("{prefix}{w}")));
    }
    Ok(out)
}

fn document(cx: &mut Ctx, doc: Value) -> Result<Vec<PodPlan>, String> {
    if !doc.is_mapping() {
        return Err("a Kubernetes object must be a mapping".into());
    }
    let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (kind, api) = (text("kind"), text("apiVersion"));
    let want = match kind.as_str() {
        "" => return Err("kind: required".into()),
        "Pod" => "v1",
        "Deployment" => "apps/v1",
        other => {
            return Err(format!(
                "kind: unsupported kind {other:?} (Pod, Deployment)"
            ))
        }
    };
    if api != want {
        return Err(format!("apiVersion: {api:?}: a {kind} is {want:?}"));
    }
    let shape = if kind == "Pod" {
        &schema::POD
    } else {
        &schema::DEPLOYMENT
    };
    schema::unsupported(&doc, shape, "", &mut cx.warnings);
    if kind == "Pod" {
        Ok(vec![translate::pod(cx, typed(doc)?)?])
    } else {
        translate::deployment(cx, typed(doc)?)
    }
}

/// Reads the typed structs, an error naming the path of the first value that does not fit.
fn typed<T: for<'de> Deserialize<'de>>(doc: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}
