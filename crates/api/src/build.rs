//! `POST /build`: the classic builder's API (docker's `DOCKER_BUILDKIT=0` client). The body
//! is the context as a tar; the builder (crates/build, `hull build`'s) writes its lines into
//! docker's JSON stream as `{"stream": ...}`, the id as `{"aux": {"ID": ...}}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path};

use hull_build::context::Context;
use hull_build::parse::Dockerfile;
use hull_build::Options;
use serde_json::json;

use crate::http::{Conn, Outcome, Request};
use crate::stream::JsonStream;
use crate::{ApiError, ApiResult, Ctx};

/// A JSON-object query parameter of strings (`buildargs`, `labels`); a null value takes the
/// empty string.
fn string_pairs(req: &Request, k: &str) -> ApiResult<Vec<(String, String)>> {
    let Some(raw) = req.param(k).filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let m: BTreeMap<String, Option<String>> =
        serde_json::from_str(raw).map_err(|e| ApiError::bad(format!("{k}: {raw:?}: {e}")))?;
    Ok(m.into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

fn options(req: &Request) -> ApiResult<Options> {
    if req.param("version") == Some("2") {
        return Err(ApiError::bad(
            "version 2 (BuildKit): not supported by hull; use the classic builder (DOCKER_BUILDKIT=0)",
        ));
    }
    for k in ["remote", "extrahosts", "cpusetcpus", "cachefrom", "outputs"] {
        if req.param(k).is_some_and(|v| !v.is_empty() && v != "[]") {
            return Err(ApiError::bad(format!("{k}: not supported by hull")));
        }
    }
    let tags: Vec<String> = req
        .query
        .iter()
        .filter(|(k, v)| k == "t" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    for t in &tags {
        hull_image::Reference::parse(t)
            .map_err(|e| ApiError::bad(format!("invalid tag {t:?}: {e}")))?;
    }
    Ok(Options {
        tags,
        build_args: string_pairs(req, "buildargs")?,
        target: req
            .param("target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        no_cache: req.flag("nocache"),
        network: match req.param("networkmode").unwrap_or("") {
            "" | "default" | "bridge" => String::new(),
            n => n.to_string(),
        },
        labels: string_pairs(req, "labels")?,
        platform: req
            .param("platform")
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        quiet: req.flag("q"),
        pull: req.flag("pull"),
        // Secrets come with BuildKit's session (version 2), which is refused above.
        secrets: Vec::new(),
        // The classic builder's stream, as dockerd's `POST /build` without BuildKit.
        progress: hull_build::progress::Style::Classic,
    })
}

/// The builder's text as `{"stream": ...}` messages, a line at a time.
struct Lines<'a, 'b> {
    out: &'a mut JsonStream<'b>,
    partial: Vec<u8>,
}

impl Write for Lines<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            self.out
                .send(&json!({ "stream": String::from_utf8_lossy(&line) }));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn build(ctx: &Ctx, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let o = options(req)?;
    let name = req
        .param("dockerfile")
        .filter(|d| !d.is_empty())
        .unwrap_or("Dockerfile");
    // The Dockerfile is a path inside the context.
    if Path::new(name)
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(ApiError::bad(format!(
            "dockerfile: {name:?}: must be a path inside the context"
        )));
    }
    let eng = ctx.engine()?;
    let tmp = eng.paths.root.join("tmp");
    let bctx = Context::tar(&mut req.body.as_slice(), &tmp).map_err(|e| ApiError::bad(e.msg))?;
    let root = bctx.root().expect("a tar context has a root").to_path_buf();
    let text = std::fs::read_to_string(root.join(name)).map_err(|e| {
        ApiError::internal(format!("Cannot locate specified Dockerfile: {name}: {e}"))
    })?;
    let df = Dockerfile::parse(name, &text).map_err(|e| ApiError::bad(e.to_string()))?;
    let mut out = JsonStream::new(conn);
    let built = {
        let mut lines = Lines {
            out: &mut out,
            partial: Vec::new(),
        };
        hull_build::build(&eng, &df, &bctx, &o, &mut lines)
    };
    match built {
        Ok(id) => {
            out.send(&json!({ "aux": { "ID": id } }));
            if o.quiet {
                out.send(&json!({ "stream": format!("{id}\n") }));
            }
        }
        Err(e) => out.fail(&e.msg, Some(e.code)),
    }
    Ok(out.finish())
}
