//! `hull ps [-a] [-q] [-n N] [-l] [-s] [--filter K=V] [--format T] [--no-trunc]`.

use hull_engine::container::list::ListRequest;
use hull_engine::Paths;
use hull_format::human::{ago, human_size_prec};
use hull_format::template;

use super::CmdResult;

/// List containers.
#[derive(clap::Args)]
pub struct Args {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Filter output based on conditions provided (name, id, status, label, ancestor).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Format output using a Go template, or json.
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Show the n last created containers (all states).
    #[arg(short = 'n', long, allow_negative_numbers = true)]
    last: Option<i64>,
    /// Show the latest created container (all states).
    #[arg(short, long)]
    latest: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    size: bool,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    // docker: -n -1 (its default) is no limit; -l is -n 1; a limit lists every state.
    let last = if a.latest {
        Some(1)
    } else {
        a.last.filter(|&n| n >= 0).map(|n| n as usize)
    };
    let sizes = a.size || a.format.as_deref().is_some_and(|f| f.contains(".Size"));
    let rows = eng.ps(&ListRequest {
        all: a.all,
        filters: a.filter,
        last,
        size: sizes,
    })?;
    if a.quiet {
        for r in &rows {
            let c = &r.container;
            println!("{}", if a.no_trunc { &c.id } else { c.short_id() });
        }
        return Ok(());
    }
    let mut values = Vec::new();
    for r in rows {
        let mut v = r.row;
        v["RunningFor"] = serde_json::json!(ago(&r.container.created));
        if a.no_trunc {
            v["ID"] = serde_json::json!(r.container.id);
            // Go's strconv.Quote of the whole command line.
            v["Command"] = serde_json::json!(serde_json::to_string(&r.command_line)?);
        }
        if let Some(s) = r.size {
            let h = |b| human_size_prec(b, 3);
            v["Size"] = serde_json::json!(format!("{} (virtual {})", h(s.rw), h(s.root_fs)));
        }
        values.push(v);
    }
    if a.format.as_deref() == Some("json") {
        for v in &values {
            println!("{v}");
        }
        return Ok(());
    }
    let table = if a.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    const TITLES: &[(&str, &str)] = &[("ID", "CONTAINER ID"), ("RunningFor", "CREATED")];
    print!(
        "{}",
        template::render_rows(a.format.as_deref(), table, &values, TITLES)?
    );
    Ok(())
}
