//! Routes of the image, build, volume and network endpoints (router.rs has the system and
//! container ones). An image's name may hold slashes (`localhost:5000/a/b:1`), so its paths
//! are matched by their first and last segments, the name being what is between.

use serde_json::Value;

use crate::http::{Conn, Outcome, Request};
use crate::router::reply;
use crate::{build, images, networks, volumes, ApiResult, Ctx};

/// The endpoint's answer, or None when the path is none of these.
pub fn route(ctx: &Ctx, req: &Request, conn: &mut Conn, path: &str) -> ApiResult<Option<Outcome>> {
    let m = req.method.as_str();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut r = |status: u16, body: Option<Value>| Ok(Some(reply(conn, req, status, body)));
    let out = match (m, parts.as_slice()) {
        ("GET", ["images", "json"]) => r(200, Some(images::list(ctx, req)?)),
        ("POST", ["images", "create"]) => images::create(ctx, req, conn).map(Some),
        ("POST", ["images", "load"]) => images::load(ctx, req, conn).map(Some),
        ("POST", ["images", "prune"]) => r(200, Some(images::prune(ctx, req)?)),
        ("GET", ["images", "get"]) => {
            let names: Vec<&str> = req
                .query
                .iter()
                .filter(|(k, _)| k == "names")
                .map(|(_, v)| v.as_str())
                .collect();
            images::get(ctx, &names, conn).map(Some)
        }
        ("GET" | "POST" | "DELETE", ["images", name @ .., last]) if !name.is_empty() => {
            let name = name.join("/");
            match (m, *last) {
                ("GET", "json") => r(200, Some(images::inspect(ctx, &name)?)),
                ("GET", "history") => r(200, Some(images::history(ctx, &name)?)),
                ("GET", "get") => images::get(ctx, &[&name], conn).map(Some),
                ("POST", "push") => images::push(ctx, &name, req, conn).map(Some),
                ("POST", "tag") => {
                    images::tag(ctx, &name, req)?;
                    r(201, None)
                }
                ("DELETE", _) => {
                    let name = format!("{name}/{last}");
                    r(200, Some(images::delete(ctx, &name, req)?))
                }
                _ => Ok(None),
            }
        }
        ("DELETE", ["images", name]) => r(200, Some(images::delete(ctx, name, req)?)),
        ("POST", ["build"]) => build::build(ctx, req, conn).map(Some),
        ("POST", ["volumes", "create"]) => r(201, Some(volumes::create(ctx, &req.body)?)),
        ("GET", ["volumes"]) => r(200, Some(volumes::list(ctx, req)?)),
        ("POST", ["volumes", "prune"]) => r(200, Some(volumes::prune(ctx, req)?)),
        ("GET", ["volumes", name]) => r(200, Some(volumes::inspect(ctx, name)?)),
        ("DELETE", ["volumes", name]) => {
            volumes::remove(ctx, name, req.flag("force"))?;
            r(204, None)
        }
        ("POST", ["networks", "create"]) => r(201, Some(networks::create(ctx, &req.body)?)),
        ("GET", ["networks"]) => r(200, Some(networks::list(ctx, req)?)),
        ("POST", ["networks", "prune"]) => r(200, Some(networks::prune(ctx, req)?)),
        ("GET", ["networks", name]) => r(200, Some(networks::inspect(ctx, name)?)),
        ("DELETE", ["networks", name]) => {
            networks::remove(ctx, name)?;
            r(204, None)
        }
        ("POST", ["networks", name, "connect"]) => {
            networks::connect(ctx, name, &req.body)?;
            r(200, None)
        }
        ("POST", ["networks", name, "disconnect"]) => {
            networks::disconnect(ctx, name, &req.body)?;
            r(200, None)
        }
        _ => Ok(None),
    };
    out
}
