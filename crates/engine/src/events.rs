//! hull's event log: hull has no daemon to stream events from, so each verb appends what it
//! did (docker's event message, one JSON line) to `<root>/events.log`, and `hull events`
//! reads it and follows it. Appends are single `O_APPEND` writes, whole lines from any
//! number of processes; past `MAX_BYTES` the log becomes `events.log.1` (one generation
//! kept), so it stays bounded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::container::Container;
use crate::Paths;

const MAX_BYTES: u64 = 4 << 20;

/// The current log and its previous generation.
pub fn log_files(paths: &Paths) -> [PathBuf; 2] {
    [
        paths.root.join("events.log.1"),
        paths.root.join("events.log"),
    ]
}

/// Appends one event: docker's message shape (`Type`, `Action`, `Actor`, `time`,
/// `timeNano`, and for containers and images the old `status`, `id`, `from`). Failures are
/// ignored: an event log must never fail the verb that writes it.
pub fn emit(paths: &Paths, typ: &str, action: &str, id: &str, attrs: BTreeMap<String, String>) {
    let nanos = crate::time::since::now();
    let mut ev = json!({
        "Type": typ,
        "Action": action,
        "Actor": {"ID": id, "Attributes": attrs},
        "scope": "local",
        "time": (nanos / 1_000_000_000) as i64,
        "timeNano": nanos as i64,
    });
    if typ == "container" || typ == "image" {
        ev["status"] = json!(action);
        ev["id"] = json!(id);
        if let Some(from) = attrs_image(&ev) {
            ev["from"] = json!(from);
        }
    }
    let [old, cur] = log_files(paths);
    if std::fs::metadata(&cur).is_ok_and(|m| m.len() > MAX_BYTES) {
        let _ = std::fs::rename(&cur, &old);
    }
    let mut line = ev.to_string();
    line.push('\n');
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cur)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

fn attrs_image(ev: &Value) -> Option<String> {
    (ev["Type"] == "container")
        .then(|| {
            ev["Actor"]["Attributes"]["image"]
                .as_str()
                .map(String::from)
        })
        .flatten()
}

/// A container event: docker's attributes (its labels, `image`, `name`) and `extra`
/// (`exitCode`, `signal`).
pub fn container(paths: &Paths, c: &Container, action: &str, extra: &[(&str, String)]) {
    let mut attrs: BTreeMap<String, String> = c.config.image_labels.clone();
    attrs.extend(c.labels.clone());
    attrs.insert("image".into(), c.image.clone());
    attrs.insert("name".into(), c.name.clone());
    for (k, v) in extra {
        attrs.insert((*k).into(), v.clone());
    }
    emit(paths, "container", action, &c.id, attrs);
}

/// An image id as docker's image events carry it: `sha256:` and the hex digest.
pub fn image_id(id: &str) -> String {
    if id.starts_with("sha256:") {
        id.to_string()
    } else {
        format!("sha256:{id}")
    }
}

/// An image event: docker names the image in a `name` attribute.
pub fn image(paths: &Paths, action: &str, id: &str, name: &str) {
    let attrs = BTreeMap::from([("name".to_string(), name.to_string())]);
    emit(paths, "image", action, id, attrs);
}
