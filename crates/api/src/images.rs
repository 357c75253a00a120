//! The image endpoints: list, inspect, history, create (pull), push, tag, delete, load, get
//! (save), prune. Each calls the engine's image verb (the one `hull images|pull|...` calls)
//! and writes docker's JSON; pull, push and load answer with docker's JSON message stream.

use std::io::Write;

use hull_engine::image::ops::{ImageFilter, RegistryRequest};
use hull_engine::Engine;
use hull_image::{Progress, Reference};
use serde_json::{json, Value};

use crate::http::{Conn, Outcome, Request};
use crate::stream::{self, JsonStream};
use crate::{ApiError, ApiResult, Ctx};

/// Seconds since the epoch of an RFC 3339 time (0 when there is none).
pub(crate) fn unix(rfc3339: Option<&str>) -> i64 {
    rfc3339
        .and_then(hull_clock::civil::parse_rfc3339)
        .map(|(secs, _)| secs)
        .unwrap_or(0)
}

/// `GET /images/{name}/json`. docker's client parses `Metadata.LastTagTime` as a time:
/// an image never tagged here has Go's zero time, as in dockerd's answer.
pub fn inspect(ctx: &Ctx, name: &str) -> ApiResult<Value> {
    let mut v = ctx.engine()?.image_inspect(name)?;
    if v["Metadata"]["LastTagTime"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        v["Metadata"]["LastTagTime"] = json!("0001-01-01T00:00:00Z");
    }
    Ok(v)
}

/// `GET /images/json`.
pub fn list(ctx: &Ctx, req: &Request) -> ApiResult<Value> {
    let mut filters = Vec::new();
    for (k, v) in stream::filters(req, &["dangling", "reference"])? {
        filters.push(ImageFilter::parse(&format!("{k}={v}"))?);
    }
    let eng = ctx.engine()?;
    let used = eng.images_in_use()?;
    let rows: Vec<Value> = eng
        .image_list(&filters)?
        .into_iter()
        .map(|img| {
            let hex = img.id.trim_start_matches("sha256:");
            let containers = used.get(hex).map_or(0, |u| u.len());
            json!({
                "Id": img.id,
                "ParentId": "",
                "RepoTags": img.repo_tags,
                "RepoDigests": img.repo_digests,
                "Created": unix(img.created.as_deref()),
                "Size": img.size,
                "SharedSize": -1,
                "VirtualSize": img.size,
                "Labels": Value::Null,
                "Containers": containers,
            })
        })
        .collect();
    Ok(Value::Array(rows))
}

/// `GET /images/{name}/history`: newest first, as docker's.
pub fn history(ctx: &Ctx, name: &str) -> ApiResult<Value> {
    let eng = ctx.engine()?;
    let tags = eng
        .image_inspect(name)
        .ok()
        .and_then(|i| i["RepoTags"].as_array().cloned())
        .unwrap_or_default();
    let rows = eng.image_history(name)?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "Id": r.id.clone().unwrap_or_else(|| "<missing>".into()),
                "Created": unix(Some(&r.created)),
                "CreatedBy": r.created_by,
                "Tags": if i == 0 { Value::Array(tags.clone()) } else { Value::Null },
                "Size": r.size,
                "Comment": r.comment,
            })
        })
        .collect())
}

/// The registry credentials of `X-Registry-Auth` (base64url JSON: username, password).
fn registry_auth(req: &Request) -> Option<(String, String)> {
    let raw = req.header("x-registry-auth")?;
    let json = hull_image::registry::auth::decode_base64(raw.trim())?;
    let v: Value = serde_json::from_slice(&json).ok()?;
    let user = v["username"].as_str().filter(|u| !u.is_empty())?;
    Some((user.to_string(), v["password"].as_str()?.to_string()))
}

/// docker's daemon pulls from and pushes to a registry on the loopback over plain http
/// (127.0.0.0/8 is an insecure registry by default); any other registry needs TLS.
fn registry_request(reference: String, req: &Request) -> ApiResult<RegistryRequest> {
    let r = Reference::parse(&reference).map_err(|e| ApiError::bad(e.to_string()))?;
    let host = r.registry.rsplit_once(':').map_or(&*r.registry, |(h, _)| h);
    let loopback = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback());
    Ok(RegistryRequest {
        reference,
        insecure: loopback,
        credentials: registry_auth(req),
    })
}

/// A pull's progress as docker's JSON messages.
struct PullProgress<'a, 'b> {
    out: &'a mut JsonStream<'b>,
    totals: std::collections::HashMap<String, (u64, Option<u64>)>,
}

impl Progress for PullProgress<'_, '_> {
    fn start(&mut self, id: &str, total: Option<u64>) {
        self.totals.insert(id.to_string(), (0, total));
        self.out
            .send(&json!({"status": "Pulling fs layer", "progressDetail": {}, "id": id}));
    }

    fn advance(&mut self, id: &str, bytes: u64) {
        let Some((done, total)) = self.totals.get_mut(id) else {
            return;
        };
        *done += bytes;
        let mut detail = json!({ "current": *done });
        if let Some(t) = total {
            detail["total"] = json!(*t);
        }
        self.out
            .send(&json!({"status": "Downloading", "progressDetail": detail, "id": id}));
    }

    fn finish(&mut self, id: &str, status: &str) {
        self.out
            .send(&json!({"status": status, "progressDetail": {}, "id": id}));
    }

    fn message(&mut self, line: &str) {
        // `latest: Pulling from library/busybox` is docker's {"id": "latest", "status": ...}.
        match line.split_once(": Pulling from ") {
            Some((id, repo)) => self
                .out
                .send(&json!({"status": format!("Pulling from {repo}"), "id": id})),
            None => self.out.send(&json!({ "status": line })),
        }
    }
}

/// `POST /images/create?fromImage=NAME&tag=TAG`: a pull, streamed as docker's progress.
pub fn create(ctx: &Ctx, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    if let Some(p) = req.param("platform").filter(|p| !p.is_empty()) {
        let want = format!("linux/{}", hull_image::go_arch());
        if p != want {
            return Err(ApiError::bad(format!(
                "platform {p:?}: only {want} is supported"
            )));
        }
    }
    if let Some(src) = req.param("fromSrc") {
        return import(ctx, src, req, conn);
    }
    let Some(image) = req.param("fromImage").filter(|i| !i.is_empty()) else {
        return Err(ApiError::bad("fromImage: an image to pull is needed"));
    };
    // `tag` is a tag or a digest; fromImage may carry its own.
    let reference = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(d) if d.starts_with("sha256:") => format!("{image}@{d}"),
        Some(t) => format!("{image}:{t}"),
        None => image.to_string(),
    };
    let rr = registry_request(reference, req)?;
    let eng = ctx.engine()?;
    stream::json_answer(conn, |out| {
        let mut progress = PullProgress {
            out,
            totals: Default::default(),
        };
        eng.image_pull(&rr, &mut progress).map(|_| ())
    })
}

/// `POST /images/create?fromSrc=-|URL&repo=&tag=&changes=&message=` (`docker import`): the
/// request's body (`-`) or the file at the URL is a rootfs tarball that becomes a one-layer
/// image, as `hull import` makes it (the same verb, `Engine::image_import`). `repo` may
/// carry its tag (the docker CLI sends `repo=name:tag`); a `tag` without a `repo` names
/// nothing, as in dockerd.
fn import(ctx: &Ctx, src: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    if src.is_empty() {
        return Err(ApiError::bad(
            "fromSrc: a URL or - (the request body) is needed",
        ));
    }
    let reference = match (
        req.param("repo").filter(|r| !r.is_empty()),
        req.param("tag"),
    ) {
        (None, _) => String::new(),
        (Some(r), Some(t)) if t.starts_with("sha256:") => format!("{r}@{t}"),
        (Some(r), Some(t)) if !t.is_empty() => format!("{r}:{t}"),
        (Some(r), _) => r.to_string(),
    };
    if !reference.is_empty() {
        Reference::parse(&reference)
            .map_err(|e| ApiError::bad(format!("repo {reference:?}: {e}")))?;
    }
    let opts = hull_image::ImportOptions {
        changes: req
            .query
            .iter()
            .filter(|(k, _)| k == "changes")
            .map(|(_, v)| v.clone())
            .collect(),
        // dockerd's comment when none is given.
        message: Some(
            req.param("message")
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("Imported from {src}")),
        ),
    };
    // dockerd takes a bare host as an http URL.
    let url = match src {
        "-" => None,
        u if u.contains("://") => Some(u.to_string()),
        u => Some(format!("http://{u}")),
    };
    let eng = ctx.engine()?;
    stream::json_answer(conn, |out| {
        let fetched;
        let mut tar: &[u8] = match &url {
            None => &req.body,
            Some(u) => {
                if !hull_build::remote::is_url(u) {
                    return Err(hull_engine::Error::InvalidArgument(format!(
                        "fromSrc {u:?}: only http and https URLs are fetched"
                    )));
                }
                out.send(&json!({ "status": format!("Downloading from {u}") }));
                fetched = hull_build::remote::fetch(u, None).map_err(|e| {
                    let m = e.msg.strip_prefix("ADD ").unwrap_or(&e.msg).to_string();
                    hull_engine::Error::Internal(format!("fromSrc {m}"))
                })?;
                &fetched.bytes
            }
        };
        let id = eng.image_import(&mut tar, &reference, &opts)?;
        let id = match id.starts_with("sha256:") {
            true => id,
            false => format!("sha256:{id}"),
        };
        out.send(&json!({ "status": id }));
        Ok(())
    })
}

/// Turns push's text lines into docker's JSON messages as they come.
struct LineMessages<'a, 'b> {
    out: &'a mut JsonStream<'b>,
    partial: Vec<u8>,
}

impl Write for LineMessages<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line[..nl]).into_owned();
            // `abc123: Pushed` is docker's {"id": "abc123", "status": "Pushed"}.
            match line.split_once(": ").filter(|(id, _)| !id.contains(' ')) {
                Some((id, status)) if !status.starts_with("digest:") => self
                    .out
                    .send(&json!({"status": status, "progressDetail": {}, "id": id})),
                _ => self.out.send(&json!({ "status": line })),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `POST /images/{name}/push?tag=TAG`.
pub fn push(ctx: &Ctx, name: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let reference = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.to_string(),
    };
    let rr = registry_request(reference, req)?;
    let eng = ctx.engine()?;
    // docker's 404 before the stream starts.
    eng.image_inspect(&rr.reference)?;
    let tag = Reference::parse(&rr.reference)
        .ok()
        .and_then(|r| r.with_default_tag().tag)
        .unwrap_or_default();
    stream::json_answer(conn, |out| {
        let digest = {
            let mut lines = LineMessages {
                out,
                partial: Vec::new(),
            };
            eng.image_push(&rr, &mut lines)?
        };
        out.send(&json!({"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest}}));
        Ok(())
    })
}

/// `POST /images/{name}/tag?repo=REPO&tag=TAG`.
pub fn tag(ctx: &Ctx, name: &str, req: &Request) -> ApiResult<()> {
    let repo = req
        .param("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad("repo: a repository name is needed"))?;
    let target = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    };
    Ok(ctx.engine()?.image_tag(name, &target)?)
}

/// The engine's `Untagged: x` / `Deleted: y` lines as docker's objects.
fn deleted_items(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| {
            let (k, v) = l.split_once(": ")?;
            let k = match k.to_ascii_lowercase().as_str() {
                "untagged" => "Untagged",
                "deleted" => "Deleted",
                _ => return None,
            };
            Some(json!({ k: v }))
        })
        .collect()
}

/// `DELETE /images/{name}?force=1`.
pub fn delete(ctx: &Ctx, name: &str, req: &Request) -> ApiResult<Value> {
    let eng = ctx.engine()?;
    let lines = eng.image_remove(name, req.flag("force"))?;
    Ok(Value::Array(deleted_items(&lines)))
}

/// `POST /images/prune`: dangling images, or (filter `dangling=false`) every unused one.
pub fn prune(ctx: &Ctx, req: &Request) -> ApiResult<Value> {
    let mut all = false;
    for (k, v) in stream::filters(req, &["dangling"])? {
        match (k.as_str(), v.as_str()) {
            ("dangling", "false" | "0") => all = true,
            ("dangling", "true" | "1") => all = false,
            _ => return Err(ApiError::bad(format!("invalid filter {k:?}"))),
        }
    }
    let eng = ctx.engine()?;
    let pruned = eng.image_prune(all)?;
    Ok(json!({
        "ImagesDeleted": deleted_items(&pruned.lines),
        "SpaceReclaimed": pruned.bytes,
    }))
}

/// `POST /images/load` (the archive is the body): docker's `{"stream": "Loaded image: x\n"}`.
pub fn load(ctx: &Ctx, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let eng = ctx.engine()?;
    let loaded = eng.image_load_stream(&mut req.body.as_slice())?;
    // `quiet` hides progress bars in dockerd (it shows none here); the names are sent.
    stream::json_answer(conn, |out| {
        for l in loaded {
            if let Some(old) = l.replaced {
                out.send(&json!({"stream": format!(
                    "The image {} already exists, renaming the old one with ID {old} to empty string\n",
                    l.name
                )}));
            }
            let what = match l.name.starts_with("sha256:") {
                true => "Loaded image ID",
                false => "Loaded image",
            };
            out.send(&json!({ "stream": format!("{what}: {}\n", l.name) }));
        }
        Ok(())
    })
}

/// `GET /images/{name}/get` and `GET /images/get?names=a&names=b`: a docker-archive.
pub fn get(ctx: &Ctx, names: &[&str], conn: &mut Conn) -> ApiResult<Outcome> {
    if names.is_empty() {
        return Err(ApiError::bad("names: at least one image is needed"));
    }
    let eng: Engine = ctx.engine()?;
    // Every name is checked before the head goes out: a missing one is docker's 404.
    for n in names {
        eng.image_inspect(n)?;
    }
    let mut body = conn
        .chunked(200, "application/x-tar", &[])
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let saved = {
        let mut w = std::io::BufWriter::new(&mut body);
        eng.image_save(names, &mut w)
            .ok()
            .and_then(|_| w.flush().ok())
    };
    // A save that fails half way can only end the connection: the client sees a short tar.
    match saved.map(|_| body.finish()) {
        Some(Ok(())) => Ok(Outcome::Done),
        _ => Ok(Outcome::Close),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_lines_become_docker_objects() {
        let lines = vec![
            "Untagged: busybox:latest".to_string(),
            "deleted: sha256:abc".to_string(),
        ];
        assert_eq!(
            deleted_items(&lines),
            vec![
                json!({"Untagged": "busybox:latest"}),
                json!({"Deleted": "sha256:abc"})
            ]
        );
    }
}
