//! The volume endpoints: create, list, inspect, remove, prune, each a call of the engine's
//! volume verb (`hull volume ...`'s), answered in docker's shapes.

use std::collections::BTreeMap;

use hull_engine::volume::verbs::VolumeCreate;
use hull_engine::volume::Volume;
use serde_json::{json, Value};

use crate::http::Request;
use crate::stream::{api_minor, filters};
use crate::{ApiError, ApiResult, Ctx};

fn string_map(v: &Value, field: &str) -> ApiResult<BTreeMap<String, String>> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => Ok((k.clone(), s.to_string())),
                None => Err(ApiError::bad(format!("{field}.{k}: want a string"))),
            })
            .collect(),
        _ => Err(ApiError::bad(format!("{field}: want an object"))),
    }
}

/// `POST /volumes/create` (201, the volume; an existing one of that name is returned).
pub fn create(ctx: &Ctx, body: &[u8]) -> ApiResult<Value> {
    let v: Value = match body {
        [] => json!({}),
        b => serde_json::from_slice(b).map_err(|e| ApiError::bad(format!("body: {e}")))?,
    };
    let name = v["Name"].as_str().filter(|n| !n.is_empty());
    let req = VolumeCreate {
        name: name.map(str::to_string),
        // docker's default driver, which the Python SDK (compose 1.x) sends as "".
        driver: match v["Driver"].as_str().unwrap_or("") {
            "" => "local".to_string(),
            d => d.to_string(),
        },
        labels: string_map(&v["Labels"], "Labels")?,
        options: string_map(&v["DriverOpts"], "DriverOpts")?,
    };
    Ok(ctx.engine()?.volume_create(&req)?.inspect_json())
}

/// Whether a `label` filter (`key` or `key=value`) holds for `labels`.
pub fn label_matches(filter: &str, labels: &BTreeMap<String, String>) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}

/// `GET /volumes`: filters name (a substring), label, driver, dangling.
pub fn list(ctx: &Ctx, req: &Request) -> ApiResult<Value> {
    let eng = ctx.engine()?;
    let fs = filters(req, &["name", "label", "driver", "dangling"])?;
    let mut out = Vec::new();
    for vol in eng.volume_list()? {
        let mut keep = true;
        for (k, f) in &fs {
            keep &= match k.as_str() {
                "name" => vol.name.contains(f.as_str()),
                "label" => label_matches(f, &vol.labels),
                "driver" => vol.driver == *f,
                "dangling" => {
                    let unused = eng.volume_users(&vol.name)?.is_empty();
                    unused == matches!(f.as_str(), "true" | "1")
                }
                _ => return Err(ApiError::bad(format!("invalid filter {k:?}"))),
            };
        }
        if keep {
            out.push(vol.inspect_json());
        }
    }
    Ok(json!({ "Volumes": out, "Warnings": null }))
}

/// `GET /volumes/{name}`.
pub fn inspect(ctx: &Ctx, name: &str) -> ApiResult<Value> {
    match ctx.engine()?.volume_get(name)? {
        Some(v) => Ok(v.inspect_json()),
        None => Err(ApiError::not_found(format!("get {name}: no such volume"))),
    }
}

/// `DELETE /volumes/{name}?force=1` (force: a missing volume is no error).
pub fn remove(ctx: &Ctx, name: &str, force: bool) -> ApiResult<()> {
    match ctx.engine()?.volume_remove(name) {
        Err(hull_engine::Error::NotFound(_)) if force => Ok(()),
        r => Ok(r?),
    }
}

/// `POST /volumes/prune`: the unused anonymous volumes, every unused one with the filter
/// `all=true` (or before API 1.42, as docker's), minus those a `label` filter holds back.
pub fn prune(ctx: &Ctx, req: &Request) -> ApiResult<Value> {
    let mut all = api_minor(req) < 42;
    let mut labels = Vec::new();
    for (k, v) in filters(req, &["all", "label"])? {
        match k.as_str() {
            "all" => all = matches!(v.as_str(), "true" | "1"),
            "label" => labels.push(v),
            _ => return Err(ApiError::bad(format!("invalid filter {k:?}"))),
        }
    }
    let keep = |v: &Volume| !labels.iter().all(|l| label_matches(l, &v.labels));
    let pruned = ctx.engine()?.volume_prune(all, &keep)?;
    Ok(json!({ "VolumesDeleted": pruned.names, "SpaceReclaimed": pruned.bytes }))
}
