//! `_ping`, `version`, `info`: who answers, and which API versions it speaks.

use hull_engine::sysinfo;
use serde_json::{json, Value};

use crate::{ApiError, ApiResult, Ctx};

/// The newest API version served: what docker 28.2's client asks for.
pub const API_VERSION: &str = "1.50";
/// The oldest (docker 19.03's).
pub const MIN_API_VERSION: &str = "1.40";
pub const MIN_MINOR: u32 = 40;
pub const MAX_MINOR: u32 = 50;

/// The headers docker's `_ping` (and every answer) carries; the client negotiates from
/// Api-Version.
pub fn headers() -> Vec<(&'static str, String)> {
    vec![
        ("Api-Version", API_VERSION.to_string()),
        ("Docker-Experimental", "false".to_string()),
        ("Ostype", "linux".to_string()),
        ("Server", format!("hull/{}", env!("CARGO_PKG_VERSION"))),
        (
            "Cache-Control",
            "no-cache, no-store, must-revalidate".to_string(),
        ),
        ("Pragma", "no-cache".to_string()),
    ]
}

fn runtime(ctx: &Ctx) -> (String, Option<String>, Option<String>) {
    let path = ctx
        .runtime
        .clone()
        .filter(|r| !r.as_os_str().is_empty())
        .or_else(|| hull_engine::engine::find_binary("hullrt").ok());
    let name = path
        .as_deref()
        .and_then(|p| p.file_name())
        .map_or("hullrt".into(), |n| n.to_string_lossy().into_owned());
    let version = path.as_deref().and_then(sysinfo::runtime_version);
    (name, path.map(|p| p.display().to_string()), version)
}

pub fn version(ctx: &Ctx) -> Value {
    let v = env!("CARGO_PKG_VERSION");
    let (rt, _, rt_version) = runtime(ctx);
    json!({
        "Platform": { "Name": "hull" },
        "Components": [
            { "Name": "Engine", "Version": v, "Details": {
                "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux", "Arch": sysinfo::go_arch(), "KernelVersion": sysinfo::kernel_version(),
            }},
            { "Name": rt, "Version": rt_version.unwrap_or_else(|| "unknown".into()) },
        ],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": sysinfo::go_arch(),
        "KernelVersion": sysinfo::kernel_version(),
        "BuildTime": "",
    })
}

pub fn info(ctx: &Ctx) -> ApiResult<Value> {
    let mut info = ctx.engine()?.info(true)?;
    let (rt, rt_path, _) = runtime(ctx);
    let ours = json!({
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "none"],
            "Log": ["json-file", "k8s-file", "none"],
        },
        "DefaultRuntime": rt,
        "Runtimes": { rt.clone(): { "path": rt_path } },
        "Swarm": { "LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "" },
        "Warnings": [],
    });
    if let (Some(info), Value::Object(ours)) = (info.as_object_mut(), ours) {
        info.extend(ours);
    }
    Ok(info)
}

/// `GET /system/df`: `Engine::disk_usage` (what `hull system df` shows) in docker's shape;
/// docker's client computes its TOTAL/ACTIVE/SIZE/RECLAIMABLE table from it.
pub fn df(ctx: &Ctx) -> ApiResult<Value> {
    let eng = ctx.engine()?;
    let du = eng.disk_usage()?;
    let images: Vec<Value> = du
        .images
        .iter()
        .map(|i| {
            json!({
                "Id": i.summary.id,
                "ParentId": "",
                "RepoTags": i.summary.repo_tags,
                "RepoDigests": i.summary.repo_digests,
                "Created": crate::images::unix(i.summary.created.as_deref()),
                "Size": i.size,
                "SharedSize": i.shared,
                "VirtualSize": i.size,
                "Labels": Value::Null,
                "Containers": i.containers,
            })
        })
        .collect();
    let containers: Vec<Value> = du
        .containers
        .iter()
        .map(|c| {
            let mut v = crate::containers::list_entry(&eng, &c.container);
            v["SizeRw"] = json!(c.size);
            v
        })
        .collect();
    let volumes: Vec<Value> = du
        .volumes
        .iter()
        .map(|v| {
            let mut j = v.volume.inspect_json();
            j["UsageData"] = json!({ "Size": v.size, "RefCount": v.links });
            j
        })
        .collect();
    Ok(json!({
        "LayersSize": du.images_size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": [],
    }))
}

/// A swarm endpoint: hull has no swarm mode, so it answers as a docker that is in no swarm
/// (503; the Python SDK's `leave_swarm(force=True)` takes that as done).
pub fn no_swarm(path: &str) -> ApiError {
    let message = if path.starts_with("/swarm/leave") {
        "This node is not part of a swarm".to_string()
    } else if path.starts_with("/swarm/init") || path.starts_with("/swarm/join") {
        "hull has no swarm mode: swarm init and join are not supported".to_string()
    } else {
        "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" \
         to connect this node to swarm and try again."
            .to_string()
    };
    ApiError {
        status: 503,
        message,
    }
}
