//! `GET /containers/{id}/logs`: the engine's log reader (`hull logs`'s) writing into the
//! answer, in docker's multiplexed frames (raw for a terminal), chunked, to the end or, with
//! `follow`, until the container exits.

use std::io::Write;

use hull_engine::container::logs::{self, Opts};

use crate::attach::{frame, MULTIPLEXED, RAW};
use crate::http::{Conn, Outcome, Request};
use crate::{ApiError, Ctx};

/// docker's `since`/`until`: seconds since the epoch, with an optional fraction.
fn instant(req: &Request, k: &str) -> Result<Option<i128>, ApiError> {
    let Some(v) = req.param(k).filter(|v| !v.is_empty() && *v != "0") else {
        return Ok(None);
    };
    let bad = || ApiError::bad(format!("{k}: {v:?} is not a timestamp"));
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i128 = secs.parse().map_err(|_| bad())?;
    let mut nanos: i128 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = digits.parse().map_err(|_| bad())?;
    }
    Ok(Some(secs * 1_000_000_000 + nanos))
}

fn opts(req: &Request) -> Result<Opts, ApiError> {
    let tail = match req.param("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| ApiError::bad(format!("tail: {n:?} is not a number")))?
                .max(0) as usize,
        ),
    };
    Ok(Opts {
        follow: req.flag("follow"),
        tail,
        timestamps: req.flag("timestamps"),
        since: instant(req, "since")?,
        until: instant(req, "until")?,
        details: req.flag("details"),
    })
}

pub fn logs(ctx: &Ctx, id: &str, req: &Request, conn: &mut Conn) -> Result<Outcome, ApiError> {
    let (want_out, want_err) = (req.flag("stdout"), req.flag("stderr"));
    if !want_out && !want_err {
        return Err(ApiError::bad(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let o = opts(req)?;
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    let tty = c.config.tty;
    let mut body = conn
        .chunked(200, if tty { RAW } else { MULTIPLEXED }, &[])
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut sink = |stream: u8, data: &[u8]| -> bool {
        let wanted = if stream == 2 { want_err } else { want_out };
        if !wanted {
            return true;
        }
        let r = match tty {
            true => body.write_all(data),
            false => body.write_all(&frame(stream, data)),
        };
        r.is_ok()
    };
    if let Err(e) = logs::logs_to(&eng, &c, o, &mut sink) {
        // The head is out: the error goes in the stream, as dockerd's does.
        let _ = body.write_all(&frame(2, format!("{e}\n").as_bytes()));
    }
    match body.finish() {
        Ok(()) => Ok(Outcome::Done),
        Err(_) => Ok(Outcome::Close),
    }
}
