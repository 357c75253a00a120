//! What a container uses: `GET /containers/{id}/top?ps_args=` and
//! `GET /containers/{id}/stats?stream=&one-shot=` (docker's JSON shape, which `docker stats`
//! reads: cpu_stats/precpu_stats, memory_stats, networks, blkio_stats, pids_stats).

use std::io::Write;

use hull_engine::container::stats::{Sample, StatsQuery, StatsRow};
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

fn cpu(s: Option<&Sample>) -> Value {
    let (total, system) = s.map_or((0, 0), |s| (s.cpu_ns, s.system_ns));
    json!({
        "cpu_usage": { "total_usage": total, "usage_in_kernelmode": 0, "usage_in_usermode": 0 },
        "system_cpu_usage": system,
        "online_cpus": hull_engine::sysinfo::ncpu(),
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
    })
}

/// A reading's time, or Go's zero time for one not taken (a container that does not run).
fn read_time(s: Option<&Sample>) -> String {
    s.and_then(|s| s.read)
        .map_or("0001-01-01T00:00:00Z".to_string(), nanotime::rfc3339)
}

/// docker's stats JSON of one row of the engine's `stats_readings`, the reading before as
/// its precpu_stats.
fn doc(row: &StatsRow) -> Value {
    let s = &row.cur;
    json!({
        "read": read_time(Some(s)),
        "preread": read_time(row.prev.as_ref()),
        "id": row.container.id,
        "name": format!("/{}", row.container.name),
        "pids_stats": { "current": s.pids },
        "cpu_stats": cpu(Some(s)),
        "precpu_stats": cpu(row.prev.as_ref()),
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

/// `stats` (the engine's `stats_readings` of one container): one document (`stream=false`;
/// with `one-shot`, without the earlier reading docker takes for its CPU share), or one a
/// second until the client goes or the container stops.
pub fn stats(ctx: &Ctx, id: &str, req: &Request, conn: &mut Conn) -> ApiResult<Outcome> {
    let stream = req.flag_or("stream", true);
    let query = StatsQuery {
        containers: vec![id.to_string()],
        stream,
        first: stream || req.flag("one-shot"),
        ..StatsQuery::default()
    };
    let eng = ctx.engine()?;
    if !stream {
        let mut body = None;
        eng.stats_readings(&query, |rows| {
            body = rows.first().map(doc);
            false
        })?;
        let body = body.ok_or_else(|| ApiError::internal(format!("stats {id}: no reading")))?;
        let _ = conn.respond(
            200,
            "application/json",
            &crate::system::headers(),
            body.to_string().as_bytes(),
            true,
        );
        return Ok(Outcome::Done);
    }
    // The head goes out with the first document: an unknown container is still a 404.
    let mut out = None;
    let mut gone = false;
    let res = eng.stats_readings(&query, |rows| {
        let Some(row) = rows.first() else {
            return false;
        };
        let live = row.container.status.is_live();
        // After the first document, a container that stopped ends the stream.
        if out.is_some() && !live {
            return false;
        }
        if out.is_none() {
            match conn.chunked(200, "application/json", &crate::system::headers()) {
                Ok(w) => out = Some(w),
                Err(_) => {
                    gone = true;
                    return false;
                }
            }
        }
        let Some(w) = out.as_mut() else {
            return false;
        };
        let line = format!("{}\n", doc(row));
        if w.write_all(line.as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            gone = true;
            return false;
        }
        live
    });
    match out {
        None if gone => Ok(Outcome::Close),
        None => {
            res?;
            Err(ApiError::internal(format!("stats {id}: no reading")))
        }
        Some(w) => {
            if !gone {
                let _ = w.finish();
            }
            Ok(Outcome::Close)
        }
    }
}
