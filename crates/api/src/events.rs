//! `GET /events?since=&until=&filters=`: the engine's events verb (the one `hull events`
//! calls), each event one JSON document in a chunked answer, followed until `until` or
//! until the client goes.

use std::io::Write;

use hull_engine::events_query::{EventQuery, Seen};
use hull_engine::time::since;

use crate::http::{Conn, Outcome, Request};
use crate::{filters, ApiError, ApiResult, Ctx};

/// docker's filter keys (hull matches those of [`hull_engine::events_query::FILTER_KEYS`]
/// and ignores the others).
const DOCKER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

fn query(req: &Request) -> ApiResult<EventQuery> {
    let now = since::now();
    let time = |name: &str| {
        req.param(name)
            .filter(|v| !v.is_empty())
            .map(|v| since::parse(v, now))
            .transpose()
            .map_err(|e| ApiError::bad(format!("{name}: {e}")))
    };
    let mut q = EventQuery {
        since: time("since")?,
        until: time("until")?,
        ..Default::default()
    };
    for (k, vals) in filters::parse(req.param("filters"), DOCKER_KEYS)? {
        for v in vals {
            q.filter(&k, &v);
        }
    }
    Ok(q)
}

pub fn events(ctx: &Ctx, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let q = query(req)?;
    let eng = ctx.engine()?;
    let mut out = conn
        .chunked(200, "application/json", &crate::system::headers())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut ok = true;
    let res = eng.events(&q, &mut |seen| match seen {
        Seen::Event(ev) => {
            ok = out.write_all(format!("{ev}\n").as_bytes()).is_ok();
            ok
        }
        Seen::Idle => {
            ok = !crate::http::hung_up(&conn.stream);
            ok
        }
    });
    if res.is_ok() && ok && out.finish().is_ok() {
        return Ok(Outcome::Done);
    }
    Ok(Outcome::Close)
}
