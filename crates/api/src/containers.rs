//! The container endpoints that answer at once: create, start, stop, kill, restart, delete,
//! inspect, list, resize. Each is a call of the engine's verb (the one `hull VERB` calls).

use std::sync::Arc;

use hull_engine::container::start::Attach;
use hull_engine::container::{inspect, stop};
use hull_engine::{Container, Status};
use hull_format::parse;
use hull_monitor::proto;
use serde_json::{json, Value};

use crate::attach::relay;
use crate::{ApiError, ApiResult, Ctx};

/// An endpoint's answer: a status and a JSON body (None: no body).
pub type Reply = (u16, Option<Value>);

pub fn create(ctx: &Ctx, body: &[u8], name: Option<&str>) -> ApiResult<Reply> {
    let req = crate::create::request(body, name)?;
    let eng = ctx.engine()?;
    let c = eng.create(req)?.container;
    if let Some(size) = crate::create::console_size(body).filter(|_| c.config.tty) {
        ctx.track.set_console(&c.id, size);
    }
    Ok((201, Some(json!({ "Id": c.id, "Warnings": [] }))))
}

/// Starts `id`; false when it was running already (docker's 304).
pub fn start(ctx: &Arc<Ctx>, id: &str) -> ApiResult<bool> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    if c.status.is_live() {
        return Ok(false);
    }
    ctx.track.settle(&c.id);
    let c = eng.lookup(id)?;
    // Without a restart policy the service records the exit itself (WANT_HOOK), so waiters
    // learn it even after an --rm removed the container.
    let hooked = c.config.restart.is_none();
    let mut attaches = ctx.track.take_attaches(&c.id).into_iter();
    let first = attaches.next();
    let mut want = if hooked { proto::WANT_HOOK } else { 0 };
    if let Some(a) = &first {
        want |= a.want;
    }
    let size = ctx.track.take_console(&c.id);
    let started = eng.start(&c.id, Attach { want, size });
    // The other attaches connect to the monitor themselves (or learn there is none).
    for a in attaches {
        let _ = a.to.send(None);
    }
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            if let Some(a) = first {
                let _ = a.to.send(None);
            }
            // dockerd removes an AutoRemove container whose start failed (its start's
            // clean-up), so `docker run --rm` of a refused start leaves nothing.
            if c.config.auto_remove {
                hull_engine::container::remove::remove_all(&eng, &c, true);
            }
            return Err(e.into());
        }
    };
    ctx.track.started(&c.id, hooked);
    let sock = match first {
        Some(a) => match a.to.send(Some(started.sock)) {
            Ok(()) => return Ok(true),
            Err(back) => back.0.expect("sent Some"),
        },
        None => started.sock,
    };
    if hooked {
        // Nobody attached: a watcher keeps the starter's connection to record the exit.
        let ctx = Arc::clone(ctx);
        let id = c.id.clone();
        ctx.watchers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::thread::spawn(move || {
            relay(&ctx, &id, sock, None, None, None, true);
            ctx.watchers
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    Ok(true)
}

pub fn stop(ctx: &Ctx, id: &str, timeout: Option<u32>) -> ApiResult<bool> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    if !c.status.is_live() {
        return Ok(false);
    }
    eng.stop(&c.id, timeout)?;
    Ok(true)
}

pub fn kill(ctx: &Ctx, id: &str, signal: Option<&str>) -> ApiResult<()> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    let sig = match signal {
        None | Some("") => 9,
        Some(s) => parse::signal("signal", s).map_err(|e| ApiError::bad(e.to_string()))?,
    };
    if !c.status.is_live() {
        return Err(ApiError::conflict(format!(
            "cannot kill container: {id}: container {} is not running",
            c.id
        )));
    }
    eng.kill(&c.id, sig)?;
    // As dockerd, a SIGKILL is answered once the container has exited (a client's inspect
    // right after it sees "exited"; the Python SDK's test_kill does that).
    if sig == 9 {
        let _ = hull_engine::container::stop::wait_exit(
            &eng,
            &c,
            Some(std::time::Duration::from_secs(10)),
        );
    }
    Ok(())
}

pub fn delete(ctx: &Ctx, id: &str, force: bool, volumes: bool) -> ApiResult<()> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    if c.status.is_live() && !force {
        return Err(ApiError::conflict(format!(
            "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
            c.name
        )));
    }
    if !c.status.is_live() {
        ctx.track.settle(&c.id);
    }
    eng.remove(&c.id, force, volumes)?;
    ctx.track.removed(&c.id);
    Ok(())
}

pub fn inspect(ctx: &Ctx, id: &str) -> ApiResult<Value> {
    Ok(ctx.engine()?.inspect(id)?)
}

/// `POST /containers/{id}/resize?h=&w=`: the terminal's new size, through the monitor.
pub fn resize(ctx: &Ctx, id: &str, h: Option<&str>, w: Option<&str>) -> ApiResult<()> {
    let eng = ctx.engine()?;
    let c = eng.lookup(id)?;
    let num = |v: Option<&str>, k: &str| -> ApiResult<u16> {
        v.unwrap_or("")
            .parse()
            .map_err(|_| ApiError::bad(format!("{k}: expected a number")))
    };
    let (rows, cols) = (num(h, "h")?, num(w, "w")?);
    if !c.status.is_live() {
        return Err(ApiError::conflict(format!(
            "container {} is not running",
            c.id
        )));
    }
    let mut s = stop::connect(&eng, &c.id)
        .ok_or_else(|| ApiError::conflict(format!("container {} is not running", c.id)))?;
    let mut p = rows.to_le_bytes().to_vec();
    p.extend_from_slice(&cols.to_le_bytes());
    proto::write_frame(&mut s, proto::HELLO, &[0])
        .and_then(|_| proto::write_frame(&mut s, proto::RESIZE, &p))
        .map_err(|e| ApiError::internal(format!("container {}: resize: {e}", c.id)))?;
    Ok(())
}

/// `GET /containers/json?all=&filters=`: docker's list entries.
pub fn list(ctx: &Ctx, all: bool, filters: Option<&str>) -> ApiResult<Value> {
    let filters = Filters::parse(filters)?;
    let eng = ctx.engine()?;
    let rows: Vec<Value> = eng
        .list()?
        .into_iter()
        .filter(|c| all || c.status.is_live())
        .filter(|c| filters.matches(c))
        .map(|c| list_entry(&eng, &c))
        .collect();
    Ok(Value::Array(rows))
}

pub(crate) fn list_entry(eng: &hull_engine::Engine, c: &Container) -> Value {
    let full = inspect::inspect(eng, c);
    let created = hull_clock::civil::parse_rfc3339(&c.created).map_or(0, |(s, _)| s);
    let labels: serde_json::Map<String, Value> = c
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.image,
        "ImageID": c.image_id,
        "Command": c.config.args().join(" "),
        "Created": created,
        "Ports": [],
        "Labels": labels,
        "State": c.status.as_str(),
        "Status": inspect::status_text(c),
        "HostConfig": { "NetworkMode": full["HostConfig"]["NetworkMode"] },
        "NetworkSettings": { "Networks": full["NetworkSettings"]["Networks"] },
        "Mounts": full["Mounts"],
    })
}

/// docker's `filters` query: a JSON map of name to values (or to {value: true}).
struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    fn parse(q: Option<&str>) -> ApiResult<Filters> {
        let known = ["id", "name", "label", "status", "exited"];
        Ok(Filters(crate::filters::parse(q, &known)?))
    }

    /// Every filter name must match one of its values, except `label`, whose values must
    /// all match (docker's rule: compose asks for project=P and service=S).
    fn matches(&self, c: &Container) -> bool {
        self.0.iter().all(|(k, vals)| {
            let mut each = vals.iter();
            let one = |v: &String| match k.as_str() {
                "id" => c.id.starts_with(v.as_str()),
                "name" => c.name.contains(v.trim_start_matches('/')),
                "label" => match v.split_once('=') {
                    Some((k, val)) => c.labels.get(k).is_some_and(|x| x == val),
                    None => c.labels.contains_key(v),
                },
                "status" => c.status.as_str() == v,
                "exited" => c.status == Status::Exited && c.exit_code.to_string() == *v,
                _ => false,
            };
            match k.as_str() {
                "label" => each.all(one),
                _ => each.any(one),
            }
        })
    }
}
