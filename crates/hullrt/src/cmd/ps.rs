use std::path::Path;
use std::process::Command;

use hull_runtime::Error;

/// Show the processes running in a container: a JSON array of host pids, or `ps` output
/// (default `ps -ef`, or the ps arguments given after the id) filtered to those pids.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    id: String,
    /// Arguments for ps(1) in table format, e.g. `-- -o pid,comm`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let pids = hull_runtime::resources::pids(root, &a.id)?;
    if a.format == "json" {
        println!("{}", serde_json::to_string(&pids).unwrap_or_default());
        return Ok(0);
    }
    let args = if a.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        a.ps_args
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::call("run ps", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Other(format!(
            "ps {}: {}",
            args.join(" "),
            err.trim()
        )));
    }
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    // Like runc: the PID column is found by name in the header.
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        return Err(Error::Other(format!(
            "ps {}: no PID column in {header:?}",
            args.join(" ")
        )));
    };
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p: i32| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(0)
}
