//! `hull images` (and `hull image ls`): REPOSITORY TAG IMAGE ID CREATED SIZE, one row per
//! tag, `<none>` for untagged images.

use hull_engine::image::ops::{split_tag, ImageFilter};
use hull_engine::image::ImageSummary;
use hull_engine::Paths;
use hull_format::human;
use hull_format::template;
use serde_json::{json, Value};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// Only images of this repository (and tag): `busybox`, `busybox:latest`.
    reference: Option<String>,
    /// Show intermediate images too (hull keeps none: the same as without).
    #[arg(short, long)]
    all: bool,
    /// Only the image ids.
    #[arg(short, long)]
    quiet: bool,
    /// Full ids.
    #[arg(long)]
    no_trunc: bool,
    /// Show digests.
    #[arg(long)]
    digests: bool,
    /// dangling=true|false, reference=PATTERN.
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Go template, "table TEMPLATE" or "json".
    #[arg(long)]
    format: Option<String>,
}

/// docker's CreatedAt: `2024-05-01 10:00:00 +0000 UTC`.
pub fn docker_time(rfc3339: &str) -> String {
    match hull_clock::civil::parse_rfc3339(rfc3339) {
        Some((t, _)) => {
            let s = hull_clock::civil::format_rfc3339(t);
            format!("{} {} +0000 UTC", &s[..10], &s[11..19])
        }
        None => rfc3339.to_string(),
    }
}

/// The hex of an id, 12 digits unless `full`.
pub fn show_id(id: &str, full: bool) -> String {
    if full {
        id.to_string()
    } else {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        hex.chars().take(12).collect()
    }
}

/// One row per tag (or one `<none>` row), as JSON for the template.
fn rows(img: &ImageSummary, no_trunc: bool) -> Vec<Value> {
    let created = img.created.clone().unwrap_or_default();
    let row = |repo: &str, tag: &str, digest: &str| {
        json!({
            "Containers": "N/A",
            "CreatedAt": docker_time(&created),
            "CreatedSince": if created.is_empty() { "N/A".to_string() } else { human::ago(&created) },
            "Digest": digest,
            "ID": show_id(&img.id, no_trunc),
            "Repository": repo,
            "SharedSize": "N/A",
            "Size": human::human_size_prec(img.size, 3),
            "Tag": tag,
            "UniqueSize": "N/A",
            "VirtualSize": human::human_size_prec(img.size, 3),
        })
    };
    let digest_of = |repo: &str| {
        img.repo_digests
            .iter()
            .find_map(|d| {
                d.split_once('@')
                    .filter(|(r, _)| *r == repo)
                    .map(|(_, d)| d)
            })
            .unwrap_or("<none>")
            .to_string()
    };
    if img.repo_tags.is_empty() {
        let digest = img
            .repo_digests
            .first()
            .and_then(|d| d.split_once('@'))
            .map_or("<none>", |(_, d)| d);
        let repo = img
            .repo_digests
            .first()
            .and_then(|d| d.split_once('@'))
            .map_or("<none>", |(r, _)| r);
        return vec![row(repo, "<none>", digest)];
    }
    img.repo_tags
        .iter()
        .map(|t| {
            let (repo, tag) = split_tag(t);
            row(
                repo,
                if tag.is_empty() { "<none>" } else { tag },
                &digest_of(repo),
            )
        })
        .collect()
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let mut filters = Vec::new();
    for f in &args.filter {
        filters.push(ImageFilter::parse(f)?);
    }
    if let Some(r) = &args.reference {
        filters.push(ImageFilter::Reference(r.clone()));
    }
    let _ = args.all;
    let images = super::state_engine(paths)?.image_list(&filters)?;
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for img in &images {
            if seen.insert(img.id.clone()) {
                println!("{}", show_id(&img.id, args.no_trunc));
            }
        }
        return Ok(());
    }
    let table: Vec<Value> = images.iter().flat_map(|i| rows(i, args.no_trunc)).collect();
    let default = if args.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let out = template::render_rows(
        args.format.as_deref(),
        default,
        &table,
        &[("ID", "IMAGE ID"), ("CreatedSince", "CREATED")],
    )?;
    print!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_reads_like_docker() {
        assert_eq!(
            docker_time("2024-05-01T10:00:00Z"),
            "2024-05-01 10:00:00 +0000 UTC"
        );
    }
}
