//! `hull ps [-a] [-q] [-n N] [-l] [-s] [--filter K=V] [--format T] [--no-trunc]`.

use hull_engine::{container::inspect, Container, Paths};
use hull_format::template;

use super::{CmdError, CmdResult};

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

fn matches(c: &Container, f: &str) -> Result<bool, CmdError> {
    let (k, v) = f
        .split_once('=')
        .ok_or_else(|| CmdError::new(format!("invalid --filter {f:?}: expected KEY=VALUE")))?;
    Ok(match k {
        "name" => c.name.contains(v),
        "id" => c.id.starts_with(v),
        "status" => c.status.as_str() == v,
        "ancestor" => c.image == v || c.image_id.contains(v),
        "exited" => c.status == hull_engine::Status::Exited && c.exit_code.to_string() == v,
        "label" => match v.split_once('=') {
            Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
            None => c.labels.contains_key(v),
        },
        _ => {
            return Err(CmdError::new(format!(
                "invalid --filter {f:?}: unknown key {k:?}"
            )))
        }
    })
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let mut rows = Vec::new();
    // docker: -n -1 (its default) is no limit; -l is -n 1; a limit lists every state.
    let last = if a.latest {
        Some(1)
    } else {
        a.last.filter(|&n| n >= 0)
    };
    for c in eng.list()? {
        if last.is_some_and(|n| rows.len() as i64 >= n) {
            break;
        }
        let mut keep = a.all || last.is_some() || c.status.is_live() || !a.filter.is_empty();
        for f in &a.filter {
            keep &= matches(&c, f)?;
        }
        if keep {
            rows.push(c);
        }
    }
    if a.quiet {
        for c in &rows {
            println!("{}", if a.no_trunc { &c.id } else { c.short_id() });
        }
        return Ok(());
    }
    let mut values: Vec<serde_json::Value> = rows.iter().map(inspect::ps_row).collect();
    for (v, c) in values.iter_mut().zip(&rows) {
        v["Ports"] = serde_json::json!(inspect::ports_column(&eng, c));
    }
    if a.no_trunc {
        for (v, c) in values.iter_mut().zip(&rows) {
            v["ID"] = serde_json::json!(c.id);
            // Go's strconv.Quote of the whole command line.
            v["Command"] = serde_json::json!(serde_json::to_string(&inspect::command_line(c))?);
        }
    }
    if a.size || a.format.as_deref().is_some_and(|f| f.contains(".Size")) {
        for (v, c) in values.iter_mut().zip(&rows) {
            v["Size"] = serde_json::json!(size_column(paths, c));
        }
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

/// docker's SIZE: the container's own changes, and with its image's layers ("virtual").
fn size_column(paths: &Paths, c: &Container) -> String {
    let rw = hull_engine::volume::dir_size(&paths.container_dir(&c.id).join("upper"));
    let image = hull_image::Store::open(&paths.root)
        .and_then(|s| {
            let img = s.resolve(&c.image_id)?;
            img.diff_ids.iter().map(|d| s.layer_disk_size(d)).sum()
        })
        .unwrap_or(0);
    let h = |b| hull_engine::time::timefmt::human_size_prec(b, 3);
    format!("{} (virtual {})", h(rw), h(rw + image))
}
