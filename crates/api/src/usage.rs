//! What a container uses: `GET /containers/{id}/top?ps_args=` and
//! `GET /containers/{id}/stats?stream=&one-shot=` (docker's JSON shape, which `docker stats`
//! reads: cpu_stats/precpu_stats, memory_stats, networks, blkio_stats, pids_stats).

use std::io::Write;
use std::time::Duration;

use hull_engine::container::stats::{self, Sample};
use hull_engine::time::nanotime;
use serde_json::{json, Value};

use crate::http::{Conn, Outcome, Request};
use crate::{ApiError, ApiResult, Ctx};

/// `top`: docker's `{"Titles": [...], "Processes": [[...]]}`.
pub fn top(ctx: &Ctx, id: &str, ps_args: Option<&str>) -> ApiResult<Value> {
    let args: Vec<String> = ps_args
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    let t = ctx.engine()?.top(id, &args)?;
    Ok(json!({ "Titles": t.titles, "Processes": t.processes }))
}

/// One reading at the host's CPU time.
struct Reading {
    sample: Sample,
    system: u64,
    at: String,
}

fn read(ctx: &Ctx, id: &str) -> ApiResult<(String, String, Reading)> {
    let (c, sample) = ctx.engine()?.stats(id)?;
    Ok((
        c.id,
        c.name,
        Reading {
            sample,
            system: stats::system_cpu_ns(),
            at: nanotime::now_nanos(),
        },
    ))
}

fn cpu(r: Option<&Reading>) -> Value {
    let (total, system) = r.map_or((0, 0), |r| (r.sample.cpu_ns, r.system));
    json!({
        "cpu_usage": { "total_usage": total, "usage_in_kernelmode": 0, "usage_in_usermode": 0 },
        "system_cpu_usage": system,
        "online_cpus": hull_engine::sysinfo::ncpu(),
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
    })
}

/// docker's stats JSON of `cur`, with `prev` as its precpu_stats.
fn doc(id: &str, name: &str, prev: Option<&Reading>, cur: &Reading) -> Value {
    let s = &cur.sample;
    json!({
        "read": cur.at,
        "preread": prev.map_or("0001-01-01T00:00:00Z".to_string(), |p| p.at.clone()),
        "id": id,
        "name": format!("/{name}"),
        "pids_stats": { "current": s.pids },
        "cpu_stats": cpu(Some(cur)),
        "precpu_stats": cpu(prev),
        "memory_stats": { "usage": s.mem_usage, "limit": s.mem_limit, "stats": {} },
        "blkio_stats": {
            "io_service_bytes_recursive": [
                { "major": 0, "minor": 0, "op": "read", "value": s.blk_read },
                { "major": 0, "minor": 0, "op": "write", "value": s.blk_write },
            ],
        },
        "networks": {
            "eth0": {
                "rx_bytes": s.net_rx, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
                "tx_bytes": s.net_tx, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
            },
        },
    })
}

/// docker's interval between readings.
const INTERVAL: Duration = Duration::from_secs(1);

/// `stats`: one document (`stream=false`; with `one-shot`, without the earlier reading
/// docker takes for its CPU share), or one a second until the client goes or the container
/// stops.
pub fn stats(ctx: &Ctx, id: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let stream = req.flag_or("stream", true);
    let (cid, name, first) = read(ctx, id)?;
    if !stream {
        let body = if req.flag("one-shot") {
            doc(&cid, &name, None, &first)
        } else {
            std::thread::sleep(INTERVAL);
            let (_, _, cur) = read(ctx, &cid)?;
            doc(&cid, &name, Some(&first), &cur)
        };
        let _ = conn.respond(
            200,
            "application/json",
            &crate::system::headers(),
            body.to_string().as_bytes(),
            true,
        );
        return Ok(Outcome::Done);
    }
    let mut out = conn
        .chunked(200, "application/json", &crate::system::headers())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut prev: Option<Reading> = None;
    let mut cur = first;
    loop {
        let line = format!("{}\n", doc(&cid, &name, prev.as_ref(), &cur));
        if out
            .write_all(line.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            return Ok(Outcome::Close);
        }
        std::thread::sleep(INTERVAL);
        let live = ctx
            .engine()
            .ok()
            .and_then(|e| e.lookup(&cid).ok())
            .is_some_and(|c| c.status.is_live());
        if !live {
            let _ = out.finish();
            return Ok(Outcome::Close);
        }
        match read(ctx, &cid) {
            Ok((_, _, r)) => prev = Some(std::mem::replace(&mut cur, r)),
            Err(_) => {
                let _ = out.finish();
                return Ok(Outcome::Close);
            }
        }
    }
}
