//! `HEAD/GET/PUT /containers/{id}/archive?path=` (what `docker cp` asks): the path's stat in
//! docker's `X-Docker-Container-Path-Stat` header (base64 of a JSON object), the path as a
//! tar, or a tar extracted into a directory. The engine's archive verbs, on the same tree
//! code as `hull cp`.

use std::io::Write;

use hull_engine::container::cp::PathStat;
use rustix::fs::FileType;
use serde_json::json;

use crate::http::{Conn, Outcome, Request};
use crate::{ApiError, ApiResult, Ctx};

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// Go's `os.FileMode` of a stat: the permission bits and Go's type and special bits.
fn go_mode(st: &PathStat) -> u64 {
    let mut m = u64::from(st.mode & 0o777);
    m |= match st.kind {
        FileType::Directory => 1 << 31,
        FileType::Symlink => 1 << 27,
        FileType::BlockDevice => 1 << 26,
        FileType::CharacterDevice => (1 << 26) | (1 << 21),
        FileType::Fifo => 1 << 25,
        FileType::Socket => 1 << 24,
        _ => 0,
    };
    for (unix, go) in [(0o4000, 23), (0o2000, 22), (0o1000, 20)] {
        if st.mode & unix != 0 {
            m |= 1 << go;
        }
    }
    m
}

/// The header's value: standard base64 of docker's JSON.
fn stat_header(st: &PathStat) -> String {
    let doc = json!({
        "name": st.name,
        "size": st.size,
        "mode": go_mode(st),
        "mtime": hull_clock::civil::format_rfc3339(st.mtime),
        "linkTarget": st.link_target,
    });
    hull_image::registry::client::base64(doc.to_string().as_bytes())
}

fn path(req: &Request) -> ApiResult<&str> {
    req.param("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad("path: a path in the container is required"))
}

/// `HEAD`: the stat alone.
pub fn head(ctx: &Ctx, id: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let st = ctx.engine()?.archive_stat(id, path(req)?)?;
    let mut headers = crate::system::headers();
    headers.push((STAT_HEADER, stat_header(&st)));
    let _ = conn.respond(200, "text/plain; charset=utf-8", &headers, b"", false);
    Ok(Outcome::Done)
}

/// `GET`: the stat in the head, the tar as the body (streamed).
pub fn get(ctx: &Ctx, id: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let p = path(req)?;
    let eng = ctx.engine()?;
    // Stat first: a missing path is a 404 before any of the body has gone.
    let st = eng.archive_stat(id, p)?;
    let mut headers = crate::system::headers();
    headers.push((STAT_HEADER, stat_header(&st)));
    let chunked = conn
        .chunked(200, "application/x-tar", &headers)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, chunked);
    if eng.archive_get(id, p, &mut out).is_err() || out.flush().is_err() {
        return Ok(Outcome::Close);
    }
    match out.into_inner().map(|c| c.finish()) {
        Ok(Ok(())) => Ok(Outcome::Done),
        _ => Ok(Outcome::Close),
    }
}

/// `PUT`: the body (a tar) extracted into the directory `path`.
pub fn put(ctx: &Ctx, id: &str, req: &Request) -> ApiResult<()> {
    let mut body: &[u8] = &req.body;
    ctx.engine()?
        .archive_put(id, path(req)?, &mut body, req.flag("copyUIDGID"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_as_go_encodes_it() {
        use hull_image::registry::client::base64;
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"{\"a\":1}"), "eyJhIjoxfQ==");
    }
}
