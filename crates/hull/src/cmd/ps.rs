//! `hull ps [-a] [-q] [--filter K=V] [--format T] [--no-trunc]`.

use hull_engine::{inspect, Container, Paths};

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
    if a.no_trunc {
        for (v, c) in values.iter_mut().zip(&rows) {
            v["ID"] = serde_json::json!(c.id);
        }
    }
    match a.format.as_deref() {
        Some("json") => {
            for v in &values {
                println!("{v}");
            }
        }
        Some(t) => {
            let t = t.strip_prefix("table ").unwrap_or(t);
            for v in &values {
                println!("{}", super::tmpl::render(t, v));
            }
        }
        None => {
            let cols = [
                "ID",
                "Image",
                "Command",
                "RunningFor",
                "Status",
                "Ports",
                "Names",
            ];
            let heads = [
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ];
            let mut table: Vec<Vec<String>> = vec![heads.iter().map(|s| s.to_string()).collect()];
            for v in &values {
                table.push(
                    cols.iter()
                        .map(|k| v[k].as_str().unwrap_or_default().to_string())
                        .collect(),
                );
            }
            let widths: Vec<usize> = (0..cols.len())
                .map(|i| {
                    table
                        .iter()
                        .map(|r| r[i].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for r in table {
                let line: Vec<String> = r
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        if i + 1 == cols.len() {
                            s.clone()
                        } else {
                            format!("{s:<w$}", w = widths[i] + 3)
                        }
                    })
                    .collect();
                println!("{}", line.concat().trim_end());
            }
        }
    }
    Ok(())
}
