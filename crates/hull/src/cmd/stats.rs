//! `hull stats [--no-stream] [-a] [--format] [CONTAINER...]`: CPU %, memory, network, block
//! I/O and pids of running containers, from their cgroups; refreshed every second until
//! interrupted, or one reading with --no-stream.

use std::io::{IsTerminal, Write};

use hull_engine::container::stats::{self, StatsQuery};
use hull_engine::Paths;
use hull_format::human::{bytes_size, human_size};
use hull_format::template;
use serde_json::{json, Value};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// Show every container (default: running ones).
    #[arg(short, long)]
    all: bool,
    /// One reading, then exit.
    #[arg(long)]
    no_stream: bool,
    /// Full container ids.
    #[arg(long)]
    no_trunc: bool,
    /// Go template, "table TEMPLATE" or "json".
    #[arg(long)]
    format: Option<String>,
    containers: Vec<String>,
}

const TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

const TITLES: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// A `docker stats` row: the fields its `--format` knows, as docker's client writes them.
pub fn row(id: &str, name: &str, prev: Option<&stats::Sample>, cur: &stats::Sample) -> Value {
    let cpu = prev.map_or(0.0, |p| stats::cpu_percent(p, cur));
    let mem_pct = if cur.mem_limit > 0 {
        cur.mem_usage as f64 / cur.mem_limit as f64 * 100.0
    } else {
        0.0
    };
    json!({
        "BlockIO": format!("{} / {}", human_size(cur.blk_read), human_size(cur.blk_write)),
        "CPUPerc": format!("{cpu:.2}%"),
        "Container": &id[..12.min(id.len())],
        "ID": id,
        "MemPerc": format!("{mem_pct:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(cur.mem_usage), bytes_size(cur.mem_limit)),
        "Name": name,
        "NetIO": format!("{} / {}", human_size(cur.net_rx), human_size(cur.net_tx)),
        "PIDs": cur.pids.to_string(),
    })
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    // Checked before the first reading, so a bad template fails at once.
    template::Template::parse(args.format.as_deref().unwrap_or(TABLE))?;
    let tty = std::io::stdout().is_terminal();
    let query = StatsQuery {
        containers: args.containers.clone(),
        all: args.all,
        stream: !args.no_stream,
        ..StatsQuery::default()
    };
    let mut failed = None;
    eng.stats_readings(&query, |readings| {
        let rows: Vec<Value> = readings
            .iter()
            .map(|r| {
                let c = &r.container;
                let mut row = row(&c.id, &c.name, r.prev.as_ref(), &r.cur);
                if !args.no_trunc {
                    row["ID"] = row["Container"].clone();
                }
                row
            })
            .collect();
        let out = match template::render_rows(args.format.as_deref(), TABLE, &rows, TITLES) {
            Ok(o) => o,
            Err(e) => {
                failed = Some(e);
                return false;
            }
        };
        let mut stdout = std::io::stdout().lock();
        if !args.no_stream && tty {
            // Redraw in place, as docker does on a terminal.
            let _ = write!(stdout, "\x1b[2J\x1b[H");
        }
        let _ = write!(stdout, "{out}");
        let _ = stdout.flush();
        true
    })?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_like_docker_stats() {
        use std::time::Duration;

        let t = std::time::Instant::now();
        let a = stats::Sample {
            at: Some(t),
            cpu_ns: 1_000_000_000,
            ..Default::default()
        };
        let b = stats::Sample {
            at: Some(t + Duration::from_secs(2)),
            cpu_ns: 2_000_000_000,
            mem_usage: 1536,
            mem_limit: 64 * 1024 * 1024,
            net_rx: 4_261_000,
            ..Default::default()
        };
        let r = row("0123456789abcdef", "web", Some(&a), &b);
        assert_eq!(r["CPUPerc"], "50.00%");
        assert_eq!(r["Container"], "0123456789ab");
        assert_eq!(r["ID"], "0123456789abcdef");
        assert_eq!(r["MemPerc"], "0.00%");
        assert_eq!(r["MemUsage"], "1.5KiB / 64MiB");
        assert_eq!(r["NetIO"], "4.261MB / 0B");
        assert_eq!(r["BlockIO"], "0B / 0B");
        assert_eq!(row("0123456789abcdef", "web", None, &b)["CPUPerc"], "0.00%");
    }
}
