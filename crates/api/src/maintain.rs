//! `POST /containers/{id}/update` (new limits and restart policy, the engine's update verb,
//! which the CLI's `hull update` calls too) and `POST /containers/prune?filters=`.

use hull_engine::container::config::RestartPolicy;
use hull_engine::container::modes::Restart;
use hull_engine::container::prune::PruneFilters;
use hull_engine::container::update::UpdateRequest;
use serde_json::{json, Value};

use crate::{filters, ApiError, ApiResult, Ctx};

/// The update fields hull carries out; any other one given non-zero is refused by name.
const CARRIED: &[&str] = &[
    "Memory",
    "MemorySwap",
    "NanoCpus",
    "CpuShares",
    "CpusetCpus",
    "PidsLimit",
    "RestartPolicy",
];

/// docker's `UpdateConfig` to the engine's request.
fn request(body: &Value) -> ApiResult<UpdateRequest> {
    if let Some(fields) = body.as_object() {
        crate::create::refuse_unknown(fields, "", CARRIED)?;
    }
    let int = |k: &str| body[k].as_i64().filter(|n| *n != 0);
    let memory = int("Memory");
    if let Some(m) = memory.filter(|m| *m < 6 << 20) {
        return Err(ApiError::bad(format!(
            "Memory: {m}: minimum memory limit allowed is 6MB"
        )));
    }
    let restart = match body["RestartPolicy"]["Name"].as_str().unwrap_or("") {
        "" => None,
        n => Some(RestartPolicy {
            name: Restart::parse(n).ok_or_else(|| {
                ApiError::bad(format!("RestartPolicy.Name: invalid restart policy {n:?}"))
            })?,
            max_retries: body["RestartPolicy"]["MaximumRetryCount"]
                .as_u64()
                .unwrap_or(0) as u32,
        }),
    };
    Ok(UpdateRequest {
        memory,
        memory_swap: int("MemorySwap"),
        nano_cpus: int("NanoCpus"),
        cpu_shares: int("CpuShares").map(|n| n as u64),
        cpuset_cpus: body["CpusetCpus"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(String::from),
        // A null PidsLimit leaves it; 0 or -1 is docker's "unlimited".
        pids_limit: body["PidsLimit"].as_i64(),
        restart,
        faketime: None,
    })
}

pub fn update(ctx: &Ctx, id: &str, body: &[u8]) -> ApiResult<Value> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))?
    };
    let req = request(&v)?;
    ctx.engine()?.update(id, &req)?;
    Ok(json!({ "Warnings": [] }))
}

/// `POST /containers/prune`: docker's `until` and `label`/`label!` filters.
pub fn prune(ctx: &Ctx, q: Option<&str>) -> ApiResult<Value> {
    let mut f = PruneFilters::default();
    for (k, vals) in filters::parse(q, &["until", "label", "label!"])? {
        match k.as_str() {
            "until" => {
                for v in vals {
                    let now = hull_engine::time::since::now();
                    let t = hull_engine::time::since::parse(&v, now)
                        .map_err(|e| ApiError::bad(format!("until: {e}")))?;
                    f.until = Some(t);
                }
            }
            "label" => f.labels.extend(vals),
            _ => f.not_labels.extend(vals),
        }
    }
    let p = ctx.engine()?.container_prune(&f)?;
    Ok(json!({ "ContainersDeleted": p.removed, "SpaceReclaimed": p.space }))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`: the engine's
/// commit verb, as `hull commit`. A config in the body (docker's override of the
/// container's) is refused by name unless empty: hull takes changes only.
pub fn commit(ctx: &Ctx, req: &crate::http::Request) -> ApiResult<Value> {
    use hull_engine::container::commit::CommitOpts;
    let container = req
        .param("container")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad("container: a container is required"))?;
    let body: Value = if req.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad(format!("commit config: {e}")))?
    };
    if let Some(fields) = body.as_object() {
        crate::create::refuse_unknown(fields, "", &[])?;
    }
    let reference = match (req.param("repo").unwrap_or(""), req.param("tag")) {
        ("", _) => String::new(),
        (repo, Some(tag)) if !tag.is_empty() => format!("{repo}:{tag}"),
        (repo, _) => repo.to_string(),
    };
    let opts = CommitOpts {
        changes: req
            .query
            .iter()
            .filter(|(k, v)| k == "changes" && !v.is_empty())
            .flat_map(|(_, v)| v.lines().map(String::from).collect::<Vec<_>>())
            .collect(),
        author: req
            .param("author")
            .filter(|a| !a.is_empty())
            .map(String::from),
        message: req
            .param("comment")
            .filter(|a| !a.is_empty())
            .map(String::from),
        // docker pauses a running container unless told `pause=0` (a stopped one is not).
        pause: req.flag_or("pause", true),
        reference,
    };
    let eng = ctx.engine()?;
    let c = eng.lookup(container)?;
    let opts = CommitOpts {
        pause: opts.pause && c.status == hull_engine::Status::Running,
        ..opts
    };
    let id = eng.commit(&c.id, &opts)?;
    Ok(json!({ "Id": id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_clis_update_body_becomes_the_request() {
        // What docker 28's `update --memory 64m --pids-limit 20` sends (trimmed of zeros).
        let body = json!({
            "Memory": 64 << 20, "MemorySwap": 0, "BlkioWeight": 0, "CpuPeriod": 0,
            "PidsLimit": 20, "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
        });
        let r = request(&body).unwrap();
        assert_eq!(
            (r.memory, r.memory_swap, r.pids_limit),
            (Some(64 << 20), None, Some(20))
        );
        assert!(r.restart.is_none());
        let e = request(&json!({"BlkioWeight": 300})).unwrap_err();
        assert_eq!(e.message, "BlkioWeight: not supported by hull");
        let e = request(&json!({"RestartPolicy": {"Name": "sometimes"}})).unwrap_err();
        assert_eq!(e.status, 400);
    }
}
