//! Method and path to endpoint. Paths come with a `/v1.NN` prefix (1.40 to 1.50) or without
//! one (the newest); a version outside that range is docker's 400.

use std::sync::Arc;

use serde_json::Value;

use crate::http::{Conn, Outcome, Request};
use crate::system::{self, MAX_MINOR, MIN_MINOR};
use crate::{archive, attach, containers, events, exec, filesystem, logs, maintain, usage, wait};
use crate::{ApiError, ApiResult, Ctx};

/// The path without its version prefix; a version hull does not serve is an error.
fn strip_version(path: &str) -> ApiResult<&str> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(path);
    };
    let (ver, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some(minor) = ver.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok()) else {
        return Ok(path);
    };
    if minor < MIN_MINOR {
        return Err(ApiError::bad(format!(
            "client version 1.{minor} is too old. Minimum supported API version is {}, please upgrade your client to a newer version",
            system::MIN_API_VERSION
        )));
    }
    if minor > MAX_MINOR {
        return Err(ApiError::bad(format!(
            "client version 1.{minor} is too new. Maximum supported API version is {}",
            system::API_VERSION
        )));
    }
    Ok(if tail.is_empty() { "/" } else { tail })
}

pub fn handle(ctx: &Arc<Ctx>, req: &Request, conn: &mut Conn) -> Outcome {
    match route(ctx, req, conn) {
        Ok(o) => o,
        Err(e) => {
            let _ = conn.respond(
                e.status,
                "application/json",
                &system::headers(),
                &e.body(),
                req.method != "HEAD",
            );
            Outcome::Done
        }
    }
}

/// A JSON answer (or an empty one) with docker's headers.
pub fn reply(conn: &mut Conn, req: &Request, status: u16, body: Option<Value>) -> Outcome {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let ct = if bytes.is_empty() {
        "text/plain; charset=utf-8"
    } else {
        "application/json"
    };
    match conn.respond(status, ct, &system::headers(), &bytes, req.method != "HEAD") {
        Ok(()) => Outcome::Done,
        Err(_) => Outcome::Close,
    }
}

fn route(ctx: &Arc<Ctx>, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let path = strip_version(&req.path)?;
    if let Some(o) = crate::objects::route(ctx, req, conn, path)? {
        return Ok(o);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = req.method.as_str();
    let r = |conn: &mut Conn, status, body| Ok(reply(conn, req, status, body));
    match (m, parts.as_slice()) {
        ("GET" | "HEAD", ["_ping"]) => {
            let _ = conn.respond(
                200,
                "text/plain; charset=utf-8",
                &system::headers(),
                b"OK",
                m == "GET",
            );
            Ok(Outcome::Done)
        }
        ("GET", ["version"]) => r(conn, 200, Some(system::version(ctx))),
        ("GET", ["info"]) => r(conn, 200, Some(system::info(ctx)?)),
        ("GET", ["system", "df"]) => r(conn, 200, Some(system::df(ctx)?)),
        ("GET", ["events"]) => events::events(ctx, req, conn),
        ("POST", ["containers", "create"]) => {
            let (status, body) = containers::create(ctx, &req.body, req.param("name"))?;
            r(conn, status, body)
        }
        ("GET", ["containers", "json"]) => {
            let list = containers::list(ctx, req.flag("all"), req.param("filters"))?;
            r(conn, 200, Some(list))
        }
        ("GET", ["containers", id, "json"]) => r(conn, 200, Some(containers::inspect(ctx, id)?)),
        ("POST", ["containers", id, "start"]) => {
            let started = containers::start(ctx, id)?;
            r(conn, if started { 204 } else { 304 }, None)
        }
        ("POST", ["containers", id, "stop"]) => {
            let stopped = containers::stop(ctx, id, timeout(req)?)?;
            r(conn, if stopped { 204 } else { 304 }, None)
        }
        ("POST", ["containers", id, "restart"]) => {
            containers::stop(ctx, id, timeout(req)?)?;
            containers::start(ctx, id)?;
            r(conn, 204, None)
        }
        ("POST", ["containers", id, "pause"]) => {
            ctx.engine()?.pause(id)?;
            r(conn, 204, None)
        }
        ("POST", ["containers", id, "unpause"]) => {
            ctx.engine()?.unpause(id)?;
            r(conn, 204, None)
        }
        ("POST", ["containers", id, "rename"]) => {
            let name = req.param("name").unwrap_or("");
            ctx.engine()?.rename(id, name)?;
            r(conn, 204, None)
        }
        ("POST", ["containers", id, "kill"]) => {
            containers::kill(ctx, id, req.param("signal"))?;
            r(conn, 204, None)
        }
        ("DELETE", ["containers", id]) => {
            containers::delete(ctx, id, req.flag("force"), req.flag("v"))?;
            r(conn, 204, None)
        }
        ("POST", ["containers", id, "resize"]) => {
            containers::resize(ctx, id, req.param("h"), req.param("w"))?;
            r(conn, 200, None)
        }
        ("POST", ["containers", id, "wait"]) => wait::wait(ctx, id, req, conn),
        ("POST", ["containers", id, "attach"]) => attach::attach(ctx, id, req, conn),
        ("GET", ["containers", id, "logs"]) => logs::logs(ctx, id, req, conn),
        ("GET", ["containers", id, "top"]) => {
            r(conn, 200, Some(usage::top(ctx, id, req.param("ps_args"))?))
        }
        ("GET", ["containers", id, "stats"]) => usage::stats(ctx, id, req, conn),
        ("GET", ["containers", id, "changes"]) => r(conn, 200, Some(filesystem::changes(ctx, id)?)),
        ("GET", ["containers", id, "export"]) => filesystem::export(ctx, id, conn),
        ("HEAD", ["containers", id, "archive"]) => archive::head(ctx, id, req, conn),
        ("GET", ["containers", id, "archive"]) => archive::get(ctx, id, req, conn),
        ("PUT", ["containers", id, "archive"]) => {
            archive::put(ctx, id, req)?;
            r(conn, 200, None)
        }
        ("POST", ["containers", id, "update"]) => {
            r(conn, 200, Some(maintain::update(ctx, id, &req.body)?))
        }
        ("POST", ["commit"]) => r(conn, 201, Some(maintain::commit(ctx, req)?)),
        (_, ["swarm" | "nodes" | "services" | "tasks" | "secrets" | "configs", ..]) => {
            Err(system::no_swarm(path))
        }
        ("POST", ["containers", "prune"]) => {
            r(conn, 200, Some(maintain::prune(ctx, req.param("filters"))?))
        }
        ("POST", ["containers", id, "exec"]) => {
            r(conn, 201, Some(exec::create(ctx, id, &req.body)?))
        }
        ("POST", ["exec", id, "start"]) => exec::start(ctx, id, req, conn),
        ("GET", ["exec", id, "json"]) => r(conn, 200, Some(exec::inspect(ctx, id)?)),
        ("POST", ["exec", id, "resize"]) => {
            exec::resize(ctx, id, req.param("h"), req.param("w"))?;
            r(conn, 200, None)
        }
        _ => Err(ApiError::not_found(format!(
            "page not found: {} {}",
            req.method, req.path
        ))),
    }
}

/// `t` (seconds) of stop and restart.
fn timeout(req: &Request) -> ApiResult<Option<u32>> {
    match req.param("t").filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(|t| Some(t.max(0) as u32))
            .map_err(|_| ApiError::bad(format!("t: {t:?} is not a number of seconds"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefixes_are_stripped_within_the_served_range() {
        assert_eq!(
            strip_version("/v1.50/containers/json").unwrap(),
            "/containers/json"
        );
        assert_eq!(strip_version("/v1.40/_ping").unwrap(), "/_ping");
        assert_eq!(
            strip_version("/containers/json").unwrap(),
            "/containers/json"
        );
        assert_eq!(strip_version("/v1.24/_ping").unwrap_err().status, 400);
        assert_eq!(strip_version("/v1.99/_ping").unwrap_err().status, 400);
    }
}
