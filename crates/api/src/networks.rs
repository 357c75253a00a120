//! The network endpoints: create, list, inspect, remove, prune, connect, disconnect, each a
//! call of the engine's network verb (`hull network ...`'s), answered in docker's shapes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
    for f in ["Ingress", "ConfigOnly", "ConfigFrom", "Scope"] {
        refuse_set(&v, f)?;
    }
    let ipam = &v["IPAM"];
    if !matches!(ipam["Driver"].as_str(), None | Some("" | "default")) {
        return Err(ApiError::bad("IPAM.Driver: only the default driver"));
    }
    let mut req = CreateRequest {
        name: name.to_string(),
        internal: v["Internal"].as_bool().unwrap_or(false),
        ipv6: v["EnableIPv6"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    // One IPv4 and one IPv6 entry at most, each told by its subnet's (or gateway's) family.
    let configs = ipam["Config"].as_array().cloned().unwrap_or_default();
    let (mut seen4, mut seen6) = (false, false);
    for c in &configs {
        for f in ["IPRange", "AuxiliaryAddresses"] {
            refuse_set(c, f).map_err(|e| ApiError::bad(format!("IPAM.Config.{}", e.message)))?;
        }
        let text = |k: &str| c[k].as_str().filter(|s| !s.is_empty());
        let (subnet, gateway) = (text("Subnet"), text("Gateway"));
        let v6 = subnet.or(gateway).is_some_and(|s| s.contains(':'));
        let seen = if v6 { &mut seen6 } else { &mut seen4 };
        if std::mem::replace(seen, true) {
            return Err(ApiError::bad(
                "IPAM.Config: hull takes one IPv4 and one IPv6 subnet",
            ));
        }
        if gateway.is_some() && subnet.is_none() {
            return Err(ApiError::bad("IPAM.Config.Gateway: needs a Subnet"));
        }
        let bad_subnet = |e: String| ApiError::bad(format!("IPAM.Config.Subnet: {e}"));
        let bad_gateway =
            |g: &str| ApiError::bad(format!("IPAM.Config.Gateway: {g:?}: not an address"));
        if let Some(s) = subnet {
            let s = cidr(s).ok_or_else(|| bad_subnet(format!("{s:?}: not ADDRESS/PREFIX")))?;
            match v6 {
                true => req.subnet6 = Some(s.parse().map_err(|e| bad_subnet(format!("{e}")))?),
                false => req.subnet = Some(s.parse().map_err(|e| bad_subnet(format!("{e}")))?),
            }
        }
        if let Some(g) = gateway {
            match v6 {
                true => req.gateway6 = Some(g.parse().map_err(|_| bad_gateway(g))?),
                false => req.gateway = Some(g.parse().map_err(|_| bad_gateway(g))?),
            }
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

/// A CIDR subnet with its host bits cleared, as dockerd 20.10 reads one (Go's
/// `net.ParseCIDR`): `2001:389::1/64` is `2001:389::/64`. None when it is not ADDRESS/PREFIX.
fn cidr(s: &str) -> Option<String> {
    let (a, p) = s.split_once('/')?;
    let prefix: u32 = p.parse().ok()?;
    let net = match a.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) if prefix <= 32 => IpAddr::V4(Ipv4Addr::from(
            u32::from(a) & u32::MAX.checked_shl(32 - prefix).unwrap_or(0),
        )),
        IpAddr::V6(a) if prefix <= 128 => IpAddr::V6(Ipv6Addr::from(
            u128::from(a) & u128::MAX.checked_shl(128 - prefix).unwrap_or(0),
        )),
        _ => return None,
    };
    Some(format!("{net}/{prefix}"))
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
/// {"IPv4Address", "IPv6Address"}, "Aliases"}}`.
pub fn connect(ctx: &Ctx, network: &str, body: &[u8]) -> ApiResult<()> {
    let v = body_json(body)?;
    let container = v["Container"]
        .as_str()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad("Container: a container is needed"))?;
    let ep = &v["EndpointConfig"];
    let (ip, ip6) = endpoint_addresses(ep, "EndpointConfig")?;
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
    let ep = Endpoint { ip, ip6, aliases };
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

/// An endpoint's `IPAMConfig.IPv4Address` and `IPv6Address` (missing or empty: none), each
/// parsed as its own family. `field` names the endpoint in errors: `EndpointConfig` in a
/// connect, `EndpointsConfig` in a create.
pub(crate) fn endpoint_addresses(
    ep: &Value,
    field: &str,
) -> ApiResult<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    fn one<A: std::str::FromStr>(ep: &Value, field: &str, key: &str) -> ApiResult<Option<A>> {
        match ep["IPAMConfig"][key].as_str().filter(|a| !a.is_empty()) {
            None => Ok(None),
            Some(a) => a.parse().map(Some).map_err(|_| {
                let family = if key == "IPv6Address" { "IPv6" } else { "IPv4" };
                ApiError::bad(format!(
                    "{field}.IPAMConfig.{key}: {a:?}: not an {family} address"
                ))
            }),
        }
    }
    Ok((
        one(ep, field, "IPv4Address")?,
        one(ep, field, "IPv6Address")?,
    ))
}
