//! `POST /build`: the classic builder's API (docker's `DOCKER_BUILDKIT=0` client). The body
//! is the context as a tar; the builder (crates/build, `hull build`'s) writes its lines into
//! docker's JSON stream as `{"stream": ...}`, the id as `{"aux": {"ID": ...}}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path};

use hull_build::cancel::Cancel;
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
        cancel: Cancel::default(),
    })
}

/// The builder's text as `{"stream": ...}` messages, a line at a time. Its closing
/// "Successfully built/tagged" lines are held back: dockerd sends them after the image's
/// `aux` message, and clients (the Python SDK) take the last message's `stream` as the
/// build's result.
struct Lines<'a, 'b> {
    out: &'a mut JsonStream<'b>,
    partial: Vec<u8>,
    closing: Vec<String>,
}

impl Write for Lines<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.starts_with("Successfully built ") || !self.closing.is_empty() {
                self.closing.push(line);
            } else {
                self.out.send(&json!({ "stream": line }));
            }
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
    // A gzip-compressed context (`docker build` over the API with gzip, the Python SDK's
    // `gzip=True`) is unpacked first, as dockerd detects it.
    let body: std::borrow::Cow<[u8]> = if req.body.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::MultiGzDecoder::new(req.body.as_slice()),
            &mut plain,
        )
        .map_err(|e| ApiError::bad(format!("context: gzip: {e}")))?;
        plain.into()
    } else {
        req.body.as_slice().into()
    };
    let bctx = Context::tar(&mut &*body, &tmp).map_err(|e| ApiError::bad(e.msg))?;
    let root = bctx.root().expect("a tar context has a root").to_path_buf();
    let text = std::fs::read_to_string(root.join(name)).map_err(|e| {
        ApiError::internal(format!("Cannot locate specified Dockerfile: {name}: {e}"))
    })?;
    let df = Dockerfile::parse(name, &text).map_err(|e| ApiError::bad(e.to_string()))?;
    let watch = conn
        .stream
        .try_clone()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    // A client that hangs up cancels the build, as dockerd cancels a build whose request
    // went away: no further step starts and a `RUN` under way is killed. The watcher ends
    // when the build does (`done` dropped).
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let mut out = JsonStream::new(conn);
    let (built, closing) = std::thread::scope(|scope| {
        let cancel = &o.cancel;
        scope.spawn(move || {
            if crate::http::until_hung_up(&watch, &finished).is_none() {
                cancel.cancel();
            }
        });
        let mut lines = Lines {
            out: &mut out,
            partial: Vec::new(),
            closing: Vec::new(),
        };
        let built = hull_build::build(&eng, &df, &bctx, &o, &mut lines);
        drop(done);
        (built, lines.closing)
    });
    match built {
        Ok(id) => {
            out.send(&json!({ "aux": { "ID": id } }));
            for line in closing {
                out.send(&json!({ "stream": line }));
            }
            if o.quiet {
                out.send(&json!({ "stream": format!("{id}\n") }));
            }
        }
        Err(e) => {
            for line in closing {
                out.send(&json!({ "stream": line }));
            }
            out.fail(&e.msg, Some(e.code))
        }
    }
    Ok(out.finish())
}
