//! `hull stats [--no-stream] [-a] [--format] [CONTAINER...]`: CPU %, memory, network, block
//! I/O and pids of running containers, from their cgroups; refreshed every second until
//! interrupted, or one reading with --no-stream.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use hull_engine::{container::stats, Paths};
use hull_format::template;
use serde_json::Value;

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

/// The containers to show.
fn targets(
    eng: &hull_engine::Engine,
    args: &Args,
) -> Result<Vec<hull_engine::Container>, super::CmdError> {
    let list = if args.containers.is_empty() {
        eng.list()?
            .into_iter()
            .filter(|c| args.all || c.status.is_live())
            .collect()
    } else {
        args.containers
            .iter()
            .map(|n| eng.lookup(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(list)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    // Checked before the first reading, so a bad template fails at once.
    template::Template::parse(args.format.as_deref().unwrap_or(TABLE))?;
    let tty = std::io::stdout().is_terminal();
    let mut now = targets(&eng, &args)?;
    // The first reading only gives the CPU % its start: its CPU time is all it reads.
    let mut prev = stats::cpu_sample_all(&now);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        // One reading reuses the list the first sample was taken of; a stream re-lists, so
        // containers started since appear.
        if !args.no_stream {
            now = targets(&eng, &args)?;
        }
        let cur = stats::sample_all(&now);
        let rows: Vec<Value> = now
            .iter()
            .map(|t| {
                let zero = stats::Sample::default();
                let c = cur.get(&t.id).unwrap_or(&zero);
                let mut r = stats::row(&t.id, &t.name, prev.get(&t.id), c);
                if !args.no_trunc {
                    r["ID"] = r["Container"].clone();
                }
                r
            })
            .collect();
        let out = template::render_rows(args.format.as_deref(), TABLE, &rows, TITLES)?;
        let mut stdout = std::io::stdout().lock();
        if !args.no_stream && tty {
            // Redraw in place, as docker does on a terminal.
            let _ = write!(stdout, "\x1b[2J\x1b[H");
        }
        let _ = write!(stdout, "{out}");
        let _ = stdout.flush();
        if args.no_stream {
            return Ok(());
        }
        prev = cur;
    }
}
