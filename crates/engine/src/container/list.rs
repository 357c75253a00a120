//! `ps`: the containers a listing asks for (docker's filters, -a, -n/-l, -s), each with
//! docker's ps row.

use serde_json::{json, Value};

use crate::container::{inspect, Container, Status};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// What `ps` lists.
#[derive(Debug, Default, Clone)]
pub struct ListRequest {
    /// Every state, not only running (and paused, restarting) containers.
    pub all: bool,
    /// docker's `--filter KEY=VALUE`: name, id, status, ancestor, exited, label.
    pub filters: Vec<String>,
    /// At most this many, newest first, in every state (docker's -n; -l is 1).
    pub last: Option<usize>,
    /// The sizes too (docker's -s).
    pub size: bool,
}

/// A container's disk use (docker's SizeRw and SizeRootFs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Its own changes (the overlay's upper dir).
    pub rw: u64,
    /// Its changes and its image's layers.
    pub root_fs: u64,
}

/// One container as `ps` shows it.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub container: Container,
    /// docker's ps row (ID, Image, Command, CreatedAt, Ports, Status, Names...); the client
    /// adds RunningFor ("2 hours ago") from CreatedAt.
    pub row: Value,
    /// The whole command line (`--no-trunc`).
    pub command_line: String,
    pub size: Option<Size>,
}

fn matches(c: &Container, f: &str) -> Result<bool> {
    let (k, v) = f.split_once('=').ok_or_else(|| {
        Error::InvalidArgument(format!("invalid --filter {f:?}: expected KEY=VALUE"))
    })?;
    Ok(match k {
        "name" => c.name.contains(v),
        "id" => c.id.starts_with(v),
        "status" => c.status.as_str() == v,
        "health" => crate::container::health::filter_matches(c, v),
        "ancestor" => c.image == v || c.image_id.contains(v),
        "exited" => c.status == Status::Exited && c.exit_code.to_string() == v,
        "label" => match v.split_once('=') {
            Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
            None => c.labels.contains_key(v),
        },
        _ => {
            return Err(Error::InvalidArgument(format!(
                "invalid --filter {f:?}: unknown key {k:?}"
            )))
        }
    })
}

/// docker's SIZE: the container's own changes, and with its image's layers.
fn size(eng: &Engine, c: &Container) -> Size {
    let rw = crate::volume::dir_size(&eng.paths.container_dir(&c.id).join("upper"));
    let image = hull_image::Store::open(&eng.paths.root)
        .and_then(|s| {
            let img = s.resolve(&c.image_id)?;
            img.diff_ids.iter().map(|d| s.layer_disk_size(d)).sum()
        })
        .unwrap_or(0);
    Size {
        rw,
        root_fs: rw + image,
    }
}

impl Engine {
    /// `ps`: the containers `req` asks for, newest first.
    pub fn ps(&self, req: &ListRequest) -> Result<Vec<ListRow>> {
        let mut kept = Vec::new();
        for c in self.list()? {
            if req.last.is_some_and(|n| kept.len() >= n) {
                break;
            }
            let mut keep =
                req.all || req.last.is_some() || c.status.is_live() || !req.filters.is_empty();
            for f in &req.filters {
                keep &= matches(&c, f)?;
            }
            if keep {
                kept.push(c);
            }
        }
        Ok(kept
            .into_iter()
            .map(|c| {
                let mut row = inspect::ps_row(&c);
                // Each row's own file of the firewall's state, read without its lock.
                let ports = crate::network::endpoint::ports(&self.paths, &c.id);
                row["Ports"] = json!(inspect::ports_column(&ports));
                ListRow {
                    command_line: inspect::command_line(&c),
                    size: req.size.then(|| size(self, &c)),
                    row,
                    container: c,
                }
            })
            .collect())
    }
}
