//! `hull ps [-a] [-q] [--filter K=V] [--format T] [--no-trunc]`.

use hull_engine::{format, inspect, Container, Paths};

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
    for c in eng.list()? {
        let mut keep = a.all || c.status.is_live() || !a.filter.is_empty();
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
        }
    }
    if a.format.as_deref() == Some("json") {
        for v in &values {
            println!("{v}");
        }
        return Ok(());
    }
    const TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    const TITLES: &[(&str, &str)] = &[("ID", "CONTAINER ID"), ("RunningFor", "CREATED")];
    print!(
        "{}",
        format::render_rows(a.format.as_deref(), TABLE, &values, TITLES)?
    );
    Ok(())
}
