use std::path::Path;

use hull_runtime::lifecycle;

/// List containers.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Print only the ids.
    #[arg(short, long)]
    quiet: bool,
}

pub fn exec(root: &Path, a: Args) -> super::Result {
    let all = lifecycle::list(root)?;
    if a.quiet {
        for (s, _) in &all {
            println!("{}", s.id);
        }
    } else if a.format == "json" {
        let v: Vec<_> = all.iter().map(|(s, st)| s.oci(*st)).collect();
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
    } else {
        println!(
            "{:<20} {:<8} {:<10} {:<40} {:<31} OWNER",
            "ID", "PID", "STATUS", "BUNDLE", "CREATED"
        );
        for (s, st) in &all {
            let pid = if *st == hull_runtime::state::Status::Stopped {
                0
            } else {
                s.pid
            };
            println!(
                "{:<20} {:<8} {:<10} {:<40} {:<31} {}",
                s.id,
                pid,
                st,
                s.bundle.display(),
                s.created,
                if s.owner.is_empty() { "root" } else { &s.owner }
            );
        }
    }
    Ok(0)
}
