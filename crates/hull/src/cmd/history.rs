//! `hull history [--no-trunc] [-q] [-H=false] [--format T] IMAGE`: docker's columns, newest
//! first.

use hull_engine::Paths;
use hull_format::human;
use hull_format::template;
use serde_json::json;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Sizes and dates in human-readable form (`-H=false`: bytes and RFC 3339).
    #[arg(short = 'H', long, default_value = "true", num_args = 0..=1, default_missing_value = "true")]
    human: bool,
    /// Don't truncate ids and commands.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only image ids.
    #[arg(short, long)]
    quiet: bool,
    /// Go template applied to each row.
    #[arg(long)]
    format: Option<String>,
    image: String,
}

/// docker's Ellipsis: at most `n` characters, the last one `…` when cut.
fn ellipsis(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// docker's client exits 1 for what its daemon refuses.
pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    verb(paths, a).map_err(CmdError::daemon)
}

fn verb(paths: &Paths, a: Args) -> CmdResult {
    let rows = super::state_engine(paths)?.image_history(&a.image)?;
    let id = |r: &hull_engine::image::HistoryRow| match &r.id {
        Some(id) if a.no_trunc => id.clone(),
        Some(id) => id.trim_start_matches("sha256:").chars().take(12).collect(),
        None => "<missing>".to_string(),
    };
    if a.quiet {
        for r in &rows {
            println!("{}", id(r));
        }
        return Ok(());
    }
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            let by = r.created_by.replace('\t', " ");
            json!({
                "ID": id(r),
                "CreatedSince": if a.human { human::ago(&r.created) } else { r.created.clone() },
                "CreatedAt": r.created,
                "CreatedBy": if a.no_trunc { by } else { ellipsis(&by, 45) },
                "Size": if a.human { human::human_size_prec(r.size, 3) } else { r.size.to_string() },
                "Comment": r.comment,
            })
        })
        .collect();
    const TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    const TITLES: &[(&str, &str)] = &[
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedBy", "CREATED BY"),
    ];
    print!(
        "{}",
        template::render_rows(a.format.as_deref(), TABLE, &values, TITLES)?
    );
    Ok(())
}
