//! A container's filesystem: `GET /containers/{id}/changes` (docker's kinds: 0 changed,
//! 1 added, 2 deleted) and `GET /containers/{id}/export` (a tar, streamed).

use std::io::Write;

use hull_engine::container::changes::Kind;
use serde_json::{json, Value};

use crate::http::{Conn, Outcome};
use crate::{ApiError, ApiResult, Ctx};

pub fn changes(ctx: &Ctx, id: &str) -> ApiResult<Value> {
    let list = ctx.engine()?.changes(id)?;
    let kind = |k: Kind| match k {
        Kind::Changed => 0,
        Kind::Added => 1,
        Kind::Deleted => 2,
    };
    Ok(Value::Array(
        list.iter()
            .map(|c| json!({ "Path": c.path, "Kind": kind(c.kind) }))
            .collect(),
    ))
}

/// The tar is written as it is made; an error after the head has gone out can only cut
/// the stream short (the client then reports a broken archive).
pub fn export(ctx: &Ctx, id: &str, conn: &mut Conn) -> ApiResult<Outcome> {
    let eng = ctx.engine()?;
    eng.lookup(id)?;
    let chunked = conn
        .chunked(200, "application/x-tar", &crate::system::headers())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, chunked);
    if eng.export(id, &mut out).is_err() || out.flush().is_err() {
        return Ok(Outcome::Close);
    }
    match out.into_inner().map(|c| c.finish()) {
        Ok(Ok(())) => Ok(Outcome::Done),
        _ => Ok(Outcome::Close),
    }
}
