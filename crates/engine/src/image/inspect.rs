//! `docker image inspect`'s JSON of a stored image (the CLI's `image inspect`, the API's
//! `/images/{name}/json`).

use hull_image::{go_arch, Image};
use serde_json::{json, Map, Value};

/// `docker image inspect`'s shape, from the image's config as stored.
pub fn inspect_json(img: &Image) -> Value {
    let raw: Value = serde_json::from_slice(&img.config_raw).unwrap_or(Value::Null);
    let mut config = json!({
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "ExposedPorts": null,
        "Tty": false,
        "OpenStdin": false,
        "StdinOnce": false,
        "Env": null,
        "Cmd": null,
        "Image": "",
        "Volumes": null,
        "WorkingDir": "",
        "Entrypoint": null,
        "OnBuild": null,
        "Labels": null,
    });
    if let (Some(dst), Some(src)) = (config.as_object_mut(), raw["config"].as_object()) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
    let comment = raw["comment"]
        .as_str()
        .or_else(|| {
            raw["history"]
                .as_array()
                .and_then(|h| h.last())
                .and_then(|h| h["comment"].as_str())
        })
        .unwrap_or("");
    let lower: Vec<String> = img
        .layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let str_or = |v: &Value, d: &str| v.as_str().unwrap_or(d).to_string();
    let mut out = Map::new();
    out.insert("Id".into(), json!(img.id));
    out.insert("RepoTags".into(), json!(img.names));
    out.insert("RepoDigests".into(), json!(img.digests));
    out.insert("Parent".into(), json!(""));
    out.insert("Comment".into(), json!(comment));
    out.insert(
        "Created".into(),
        json!(img
            .created
            .clone()
            .unwrap_or_else(|| str_or(&raw["created"], ""))),
    );
    out.insert("DockerVersion".into(), json!(""));
    out.insert("Author".into(), json!(str_or(&raw["author"], "")));
    out.insert("Config".into(), config);
    out.insert(
        "Architecture".into(),
        json!(str_or(&raw["architecture"], go_arch())),
    );
    if let Some(v) = raw["variant"].as_str() {
        out.insert("Variant".into(), json!(v));
    }
    out.insert("Os".into(), json!(str_or(&raw["os"], "linux")));
    out.insert("Size".into(), json!(img.size));
    out.insert(
        "GraphDriver".into(),
        json!({"Name": "overlay", "Data": {"LowerDir": lower.join(":")}}),
    );
    out.insert(
        "RootFS".into(),
        json!({"Type": "layers", "Layers": img.diff_ids}),
    );
    out.insert("Metadata".into(), json!({"LastTagTime": ""}));
    Value::Object(out)
}
