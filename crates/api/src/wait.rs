//! `POST /containers/{id}/wait?condition=not-running|next-exit|removed`. As dockerd, the
//! answer's head is sent at once (the client takes it as "the wait is registered" and only
//! then starts the container); the body, `{"StatusCode": N}`, when the condition is met.

use std::io::Write;
use std::sync::Arc;

use crate::http::{unless_hung_up, Conn, Outcome, Request};
use crate::track::Counts;
use crate::{ApiError, Ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    NotRunning,
    NextExit,
    Removed,
}

fn condition(req: &Request) -> Result<Condition, ApiError> {
    match req.param("condition").unwrap_or("") {
        "" | "not-running" => Ok(Condition::NotRunning),
        "next-exit" => Ok(Condition::NextExit),
        "removed" => Ok(Condition::Removed),
        other => Err(ApiError::bad(format!(
            "invalid condition: {other:?}: expected not-running, next-exit or removed"
        ))),
    }
}

pub fn wait(ctx: &Arc<Ctx>, id: &str, req: &Request, conn: &mut Conn) -> Result<Outcome, ApiError> {
    let cond = condition(req)?;
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    // Taken before the head goes out: any start and exit after it are the ones waited for.
    let snap = ctx.track.counts(&c.id);
    let mut body = conn
        .chunked(200, "application/json", &[])
        .map_err(|e| ApiError::internal(e.to_string()))?;
    // The wait itself on a thread of its own: a client that goes away (`docker run -d` sends
    // a wait, then leaves) ends the request, as dockerd's does, instead of holding this
    // connection (and keeping an idle service from starting over) until the exit.
    let (ctx2, id) = (Arc::clone(ctx), c.id.clone());
    drop(eng);
    let waited = unless_hung_up(&conn.stream, move || condition_met(&ctx2, &id, cond, snap));
    let Some(code) = waited else {
        return Ok(Outcome::Close);
    };
    let code = code?;
    let _ = body.write_all(
        serde_json::json!({ "StatusCode": code, "Error": null })
            .to_string()
            .as_bytes(),
    );
    let _ = body.finish();
    Ok(Outcome::Done)
}

/// Waits until `cond` holds for `id` after `snap`; the exit code to answer.
fn condition_met(ctx: &Ctx, id: &str, cond: Condition, snap: Counts) -> Result<i32, ApiError> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    Ok(if cond == Condition::NotRunning && !c.status.is_live() {
        ctx.track.settle(&c.id);
        // Gone meanwhile (--rm): the code the service recorded.
        match eng.lookup(&c.id) {
            Ok(now) => now.exit_code,
            Err(_) => ctx.track.counts(&c.id).code,
        }
    } else if c.status.is_live() && snap.starts == snap.exits {
        // Running, but not started by this service: the monitor tells its exit.
        let code = hull_engine::container::stop::wait_exit(&eng, &c, None).unwrap_or(c.exit_code);
        if cond == Condition::Removed && eng.lookup(&c.id).is_ok() {
            ctx.track.wait_for(&c.id, |n| n.removes > snap.removes);
        }
        code
    } else {
        drop(eng);
        wait_tracked(ctx, &c.id, cond, c.status.is_live(), snap)?
    })
}

/// The next exit after `snap` of a container this service starts (or started).
fn wait_tracked(
    ctx: &Ctx,
    id: &str,
    cond: Condition,
    live: bool,
    snap: Counts,
) -> Result<i32, ApiError> {
    if !live {
        ctx.track.wait_for(id, |n| n.starts > snap.starts);
    }
    let now = ctx.track.counts(id);
    let code = if now.hooked {
        ctx.track.wait_for(id, |n| n.exits > snap.exits).code
    } else {
        // A restart policy: the monitor records exits; it tells this one.
        let eng = ctx.engine()?;
        let c = eng.lookup(id)?;
        hull_engine::container::stop::wait_exit(&eng, &c, None).unwrap_or(c.exit_code)
    };
    let gone = ctx.engine().is_ok_and(|e| e.lookup(id).is_err());
    if cond == Condition::Removed && !gone {
        ctx.track.wait_for(id, |n| n.removes > snap.removes);
    }
    Ok(code)
}
