//! The network endpoints: create, list, inspect, remove, prune, connect, disconnect, each a
//! call of the engine's network verb (`hull network ...`'s), answered in docker's shapes.

use hull_engine::network::stored::Endpoint;
use hull_engine::network::CreateRequest;
use serde_json::{json, Value};

use crate::http::Request;
use crate::stream::filters;
use crate::volumes::label_matches;
use crate::{ApiError, ApiResult, Ctx};

fn body_json(body: &[u8]) -> ApiResult<Value> {
    match body {
        [] => Ok(json!({})),
        b => serde_json::from_slice(b).map_err(|e| ApiError::bad(format!("body: {e}"))),
    }
}

/// A field hull does not carry out is refused unless it has its zero value.
fn refuse_set(v: &Value, field: &str) -> ApiResult<()> {
    let set = match &v[field] {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(_) => true,
    };
    match set {
        true => Err(ApiError::bad(format!("{field}: not supported by hull"))),
        false => Ok(()),
    }
}

/// `POST /networks/create` (201, `{"Id", "Warning"}`): a bridge network.
pub fn create(ctx: &Ctx, body: &[u8]) -> ApiResult<Value> {
    let v = body_json(body)?;
    let name = v["Name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad("Name: a network name is needed"))?;
    match v["Driver"].as_str().unwrap_or("") {
        "" | "bridge" => {}
        d => {
            return Err(ApiError::bad(format!(
                "Driver: {d:?}: hull makes bridge networks only"
            )))
        }
    }
    for f in ["EnableIPv6", "Ingress", "ConfigOnly", "ConfigFrom", "Scope"] {
        refuse_set(&v, f)?;
    }
    let ipam = &v["IPAM"];
    if !matches!(ipam["Driver"].as_str(), None | Some("" | "default")) {
        return Err(ApiError::bad("IPAM.Driver: only the default driver"));
    }
    let configs = ipam["Config"].as_array().cloned().unwrap_or_default();
    if configs.len() > 1 {
        return Err(ApiError::bad("IPAM.Config: hull takes one subnet"));
    }
    let mut req = CreateRequest {
        name: name.to_string(),
        internal: v["Internal"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    if let Some(c) = configs.first() {
        for f in ["IPRange", "AuxiliaryAddresses"] {
            refuse_set(c, f).map_err(|e| ApiError::bad(format!("IPAM.Config.{}", e.message)))?;
        }
        if let Some(s) = c["Subnet"].as_str().filter(|s| !s.is_empty()) {
            req.subnet = Some(
                s.parse()
                    .map_err(|e| ApiError::bad(format!("IPAM.Config.Subnet: {s:?}: {e}")))?,
            );
        }
        if let Some(g) = c["Gateway"].as_str().filter(|g| !g.is_empty()) {
            if req.subnet.is_none() {
                return Err(ApiError::bad("IPAM.Config.Gateway: needs a Subnet"));
            }
            req.gateway = Some(g.parse().map_err(|_| {
                ApiError::bad(format!("IPAM.Config.Gateway: {g:?}: not an address"))
            })?);
        }
    }
    for (field, into_options) in [("Options", true), ("Labels", false)] {
        let Some(m) = v[field].as_object() else {
            continue;
        };
        for (k, val) in m {
            let val = val
                .as_str()
                .ok_or_else(|| ApiError::bad(format!("{field}.{k}: want a string")))?;
            match into_options {
                true => req.options.push((k.clone(), val.to_string())),
                false => {
                    req.labels.insert(k.clone(), val.to_string());
                }
            }
        }
    }
    let n = ctx.engine()?.network_create(&req)?;
    Ok(json!({ "Id": n.id, "Warning": "" }))
}

/// Two differences from `hull network inspect` that clients trip on:
/// - docker's client parses `Created` as a time: the built-in networks (`host`, `none`),
///   which hull records no time for, get Go's zero time;
/// - dockerd lists only the options the network was created with: the bridge's name when it
///   is the generated `br-<id>` is not one (compose 1.x recreates a network whose options
///   differ from its file's).
fn docker_shape(mut n: Value) -> Value {
    if n["Created"].as_str().is_none_or(str::is_empty) {
        n["Created"] = json!("0001-01-01T00:00:00Z");
    }
    let generated = n["Id"]
        .as_str()
        .and_then(|id| id.get(..12))
        .map(|s| format!("br-{s}"));
    if let Some(o) = n["Options"].as_object_mut() {
        const NAME: &str = "com.docker.network.bridge.name";
        if generated.is_some() && o.get(NAME).and_then(Value::as_str) == generated.as_deref() {
            o.remove(NAME);
        }
    }
    n
}

/// `GET /networks/{id}`.
pub fn inspect(ctx: &Ctx, name: &str) -> ApiResult<Value> {
    ctx.engine()?
        .network_inspect(name)?
        .map(docker_shape)
        .ok_or_else(|| ApiError::not_found(format!("network {name} not found")))
}

/// `GET /networks`: docker's inspect objects; filters name (a substring), id (a prefix),
/// driver, label, type (custom, builtin).
pub fn list(ctx: &Ctx, req: &Request) -> ApiResult<Value> {
    let fs = filters(req, &["name", "id", "driver", "label", "type"])?;
    let eng = ctx.engine()?;
    let mut out = Vec::new();
    for row in eng.network_list()? {
        let Some(name) = row["Name"].as_str() else {
            continue;
        };
        let Some(n) = eng.network_inspect(name)? else {
            continue;
        };
        let labels: std::collections::BTreeMap<String, String> =
            serde_json::from_value(n["Labels"].clone()).unwrap_or_default();
        let builtin = matches!(name, "bridge" | "host" | "none");
        let mut keep = true;
        for (k, f) in &fs {
            keep &= match k.as_str() {
                "name" => name.contains(f.as_str()),
                "id" => n["Id"].as_str().is_some_and(|i| i.starts_with(f.as_str())),
                "driver" => n["Driver"].as_str() == Some(f.as_str()),
                "label" => label_matches(f, &labels),
                "type" => match f.as_str() {
                    "custom" => !builtin,
                    "builtin" => builtin,
                    _ => return Err(ApiError::bad(format!("invalid filter 'type'='{f}'"))),
                },
                _ => return Err(ApiError::bad(format!("invalid filter {k:?}"))),
            };
        }
        if keep {
            out.push(docker_shape(n));
        }
    }
    Ok(Value::Array(out))
}

/// `DELETE /networks/{id}`.
pub fn remove(ctx: &Ctx, name: &str) -> ApiResult<()> {
    Ok(ctx.engine()?.network_remove(name)?)
}

/// `POST /networks/prune`.
pub fn prune(ctx: &Ctx, req: &Request) -> ApiResult<Value> {
    filters(req, &[])?;
    let names = ctx.engine()?.network_prune()?;
    Ok(json!({ "NetworksDeleted": names }))
}

/// `POST /networks/{id}/connect`: `{"Container", "EndpointConfig": {"IPAMConfig":
/// {"IPv4Address"}}}`.
pub fn connect(ctx: &Ctx, network: &str, body: &[u8]) -> ApiResult<()> {
    let v = body_json(body)?;
    let container = v["Container"]
        .as_str()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad("Container: a container is needed"))?;
    let ep = &v["EndpointConfig"];
    let ip = match ep["IPAMConfig"]["IPv4Address"]
        .as_str()
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| {
            ApiError::bad(format!(
                "EndpointConfig.IPAMConfig.IPv4Address: {a:?}: not an address"
            ))
        })?),
    };
    for f in ["Links", "DriverOpts", "MacAddress"] {
        refuse_set(ep, f).map_err(|e| ApiError::bad(format!("EndpointConfig.{}", e.message)))?;
    }
    let mut aliases = Vec::new();
    for a in ep["Aliases"].as_array().into_iter().flatten() {
        let a = a
            .as_str()
            .ok_or_else(|| ApiError::bad("EndpointConfig.Aliases: want strings"))?;
        aliases.push(a.to_string());
    }
    let ep = Endpoint {
        ip,
        aliases,
        ..Default::default()
    };
    Ok(ctx
        .engine()?
        .network_connect_endpoint(container, network, &ep)?)
}

/// `POST /networks/{id}/disconnect`: `{"Container", "Force"}`.
pub fn disconnect(ctx: &Ctx, network: &str, body: &[u8]) -> ApiResult<()> {
    let v = body_json(body)?;
    let container = v["Container"]
        .as_str()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad("Container: a container is needed"))?;
    Ok(ctx
        .engine()?
        .network_disconnect_endpoint(container, network)?)
}
