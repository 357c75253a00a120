//! `hull system df [-v] [--format T]`: docker's disk usage table (images, containers, local
//! volumes, build cache) from the image store, the containers' upper dirs and the volumes.

use std::collections::BTreeMap;

use hull_engine::time::timefmt::{human_size, human_size_prec};
use hull_engine::{container::prune, volume, Paths, Status};
use hull_format::template;
use hull_image::Store;
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
    let store = Store::open(&paths.root)?;
    let used = eng.images_in_use()?;
    // Images: each layer counted once in the total; an image's shared size is that of its
    // layers another image has too; docker's reclaimable is the total less what the used
    // images hold alone.
    let mut layer_size: BTreeMap<String, u64> = BTreeMap::new();
    let mut layer_images: BTreeMap<String, usize> = BTreeMap::new();
    let mut images = Vec::new();
    for s in store.list()? {
        let img = store.resolve(&s.id)?;
        for d in &img.diff_ids {
            if !layer_size.contains_key(d) {
                layer_size.insert(d.clone(), store.layer_disk_size(d)?);
            }
            *layer_images.entry(d.clone()).or_default() += 1;
        }
        let users = prune::image_users(&used, &img.id).len();
        images.push((s, img.diff_ids, users));
    }
    let mut image_rows = Vec::new();
    let (mut active_images, mut images_used) = (0, 0);
    for (s, diff_ids, users) in images {
        let size: u64 = diff_ids.iter().map(|d| layer_size[d]).sum();
        let shared: u64 = diff_ids
            .iter()
            .filter(|d| layer_images[*d] > 1)
            .map(|d| layer_size[d])
            .sum();
        if users > 0 {
            active_images += 1;
            images_used += size - shared;
        }
        image_rows.push(ImageRow {
            summary: s,
            size,
            shared,
            users,
        });
    }
    let images_total: u64 = layer_size.values().sum();
    // Containers: their own changes; active while running, paused or restarting.
    let mut ctr_rows = Vec::new();
    let (mut ctr_total, mut ctr_idle, mut active_ctrs) = (0, 0, 0);
    for c in eng.list()? {
        let rw = volume::dir_size(&paths.container_dir(&c.id).join("upper"));
        ctr_total += rw;
        if matches!(
            c.status,
            Status::Running | Status::Paused | Status::Restarting
        ) {
            active_ctrs += 1;
        } else {
            ctr_idle += rw;
        }
        ctr_rows.push((c, rw));
    }
    let mut vol_rows = Vec::new();
    let (mut vol_total, mut vol_idle, mut active_vols) = (0, 0, 0);
    for v in eng.volume_list()? {
        let size = volume::dir_size(&v.mountpoint);
        let links = eng.volume_users(&v.name)?.len();
        vol_total += size;
        if links > 0 {
            active_vols += 1;
        } else {
            vol_idle += size;
        }
        vol_rows.push((v, size, links));
    }
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
            reclaimable(images_total - images_used, images_total),
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

struct ImageRow {
    summary: hull_image::ImageSummary,
    size: u64,
    shared: u64,
    users: usize,
}
type VolumeRow = (volume::Volume, u64, usize);

/// docker's `system df -v`: a table per type.
fn verbose(
    images: &[ImageRow],
    ctrs: &[(hull_engine::Container, u64)],
    vols: &[VolumeRow],
) -> CmdResult {
    let table = |rows: Vec<Value>, t: &str, titles: &[(&str, &str)]| {
        template::render_rows(None, t, &rows, titles)
    };
    let mut img = Vec::new();
    let h3 = |b| human_size_prec(b, 3);
    for ImageRow {
        summary: s,
        size,
        shared,
        users,
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
                "CreatedSince": hull_engine::time::timefmt::ago(s.created.as_deref().unwrap_or("")),
                "Size": h3(*size), "SharedSize": h3(*shared),
                "UniqueSize": h3(size - shared), "Containers": users}));
        }
    }
    println!("Images space usage:\n");
    print!("{}", table(img, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &[("ID", "IMAGE ID"), ("CreatedSince", "CREATED")])?);
    let ctr: Vec<Value> = ctrs
        .iter()
        .map(|(c, rw)| {
            let mut v = hull_engine::container::inspect::ps_row(c);
            v["LocalVolumes"] = json!(c
                .config
                .mounts
                .iter()
                .filter(|m| m.kind == hull_engine::container::config::MountKind::Volume)
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
        .map(|(v, size, links)| json!({"Name": v.name, "Links": links, "Size": human_size(*size)}))
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
