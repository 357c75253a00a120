//! `hull system df [-v] [--format T]`: docker's disk usage table (images, containers, local
//! volumes, build cache) from the image store, the containers' upper dirs and the volumes.

use hull_engine::container::config::MountKind;
use hull_engine::disk_usage::{ContainerUsage, ImageUsage, VolumeUsage};
use hull_engine::Paths;
use hull_format::human::{ago, human_size, human_size_prec};
use hull_format::template;
use serde_json::{json, Value};

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// One table per type, a row per image, container and volume.
    #[arg(short, long)]
    verbose: bool,
    /// Go template applied to each row.
    #[arg(long)]
    format: Option<String>,
}

/// `12MB (50%)` as docker writes a reclaimable size; just the size when the total is 0.
fn reclaimable(part: u64, total: u64) -> String {
    match (part * 100).checked_div(total) {
        Some(pct) => format!("{} ({pct}%)", human_size(part)),
        None => human_size(part),
    }
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let du = eng.disk_usage()?;
    let active_images = du.images.iter().filter(|i| i.containers > 0).count();
    let (images_total, images_idle) = (du.images_size, du.images_reclaimable);
    let ctr_total: u64 = du.containers.iter().map(|c| c.size).sum();
    let ctr_idle: u64 = du
        .containers
        .iter()
        .filter(|c| !c.active)
        .map(|c| c.size)
        .sum();
    let active_ctrs = du.containers.iter().filter(|c| c.active).count();
    let vol_total: u64 = du.volumes.iter().map(|v| v.size).sum();
    let vol_idle: u64 = du
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let active_vols = du.volumes.iter().filter(|v| v.links > 0).count();
    let (image_rows, ctr_rows, vol_rows) = (du.images, du.containers, du.volumes);
    if a.verbose {
        return verbose(&image_rows, &ctr_rows, &vol_rows);
    }
    let row = |t: &str, total: usize, active: usize, size: u64, recl: String| json!({"Type": t, "TotalCount": total, "Active": active, "Size": human_size(size), "Reclaimable": recl});
    let rows = vec![
        row(
            "Images",
            image_rows.len(),
            active_images,
            images_total,
            reclaimable(images_idle, images_total),
        ),
        row(
            "Containers",
            ctr_rows.len(),
            active_ctrs,
            ctr_total,
            reclaimable(ctr_idle, ctr_total),
        ),
        row(
            "Local Volumes",
            vol_rows.len(),
            active_vols,
            vol_total,
            reclaimable(vol_idle, vol_total),
        ),
        row("Build Cache", 0, 0, 0, human_size(0)),
    ];
    const TABLE: &str =
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
    const TITLES: &[(&str, &str)] = &[("TotalCount", "TOTAL")];
    print!(
        "{}",
        template::render_rows(a.format.as_deref(), TABLE, &rows, TITLES)?
    );
    Ok(())
}

/// docker's `system df -v`: a table per type.
fn verbose(images: &[ImageUsage], ctrs: &[ContainerUsage], vols: &[VolumeUsage]) -> CmdResult {
    let table = |rows: Vec<Value>, t: &str, titles: &[(&str, &str)]| {
        template::render_rows(None, t, &rows, titles)
    };
    let mut img = Vec::new();
    let h3 = |b| human_size_prec(b, 3);
    for ImageUsage {
        summary: s,
        size,
        shared,
        containers: users,
    } in images
    {
        let short: String =
            s.id.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect();
        let tags: Vec<(String, String)> = if s.repo_tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            s.repo_tags
                .iter()
                .map(
                    |t| match t.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) {
                        Some((r, tag)) => (r.to_string(), tag.to_string()),
                        None => (t.clone(), "<none>".into()),
                    },
                )
                .collect()
        };
        for (repo, tag) in tags {
            img.push(json!({"Repository": repo, "Tag": tag, "ID": short,
                "CreatedSince": ago(s.created.as_deref().unwrap_or("")),
                "Size": h3(*size), "SharedSize": h3(*shared),
                "UniqueSize": h3(size - shared), "Containers": users}));
        }
    }
    println!("Images space usage:\n");
    print!("{}", table(img, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &[("ID", "IMAGE ID"), ("CreatedSince", "CREATED")])?);
    let ctr: Vec<Value> = ctrs
        .iter()
        .map(|u| {
            let (c, rw) = (&u.container, &u.size);
            let mut v = u.row.clone();
            v["RunningFor"] = json!(ago(&c.created));
            v["LocalVolumes"] = json!(c
                .config
                .mounts
                .iter()
                .filter(|m| m.kind == MountKind::Volume)
                .count());
            v["Size"] = json!(human_size_prec(*rw, 3));
            v
        })
        .collect();
    println!("\nContainers space usage:\n");
    print!("{}", table(ctr, "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
        &[("ID", "CONTAINER ID"), ("RunningFor", "CREATED")])?);
    let vol: Vec<Value> = vols
        .iter()
        .map(|u| json!({"Name": u.volume.name, "Links": u.links, "Size": human_size(u.size)}))
        .collect();
    println!("\nLocal Volumes space usage:\n");
    print!(
        "{}",
        table(
            vol,
            "table {{.Name}}\t{{.Links}}\t{{.Size}}",
            &[("Name", "VOLUME NAME")]
        )?
    );
    println!("\nBuild cache usage: 0B\n");
    println!("CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED");
    Ok(())
}
