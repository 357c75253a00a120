//! `hull commit`, `hull diff` and `hull export` over a container's filesystem: its overlay
//! upper dir for the changes, its merged rootfs (mounted at a private place while it is
//! stopped) for the export.

use std::io::{Seek, Write};
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::container::changes::{self, Change};
use crate::container::Container;
use crate::engine::Engine;
use crate::{bundle::rootfs, container::inspect, image};

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("{0}")]
    Image(#[from] hull_image::ImageError),
    #[error("{0}")]
    Resolve(#[from] image::ImageError),
    #[error("{0}")]
    Rootfs(#[from] rootfs::RootfsError),
    #[error("{0}")]
    Runtime(#[from] crate::ocirt::driver::RuntimeError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CommitError {
    move |source| CommitError::Io {
        what: what.to_string(),
        source,
    }
}

/// `hull diff`: the container's changes, docker's A/C/D.
pub fn diff(eng: &Engine, c: &Container) -> Result<Vec<Change>, CommitError> {
    let img = image::resolve(&eng.paths, &c.image_id)?;
    let upper = eng.paths.container_dir(&c.id).join("upper");
    changes::changes(&upper, &img.layers).map_err(io(upper.display()))
}

/// Runs `f` on the container's merged rootfs: its own mount while it runs, else the overlay
/// mounted at a private place for this call only.
pub fn with_rootfs<T>(
    eng: &Engine,
    c: &Container,
    f: impl FnOnce(&std::path::Path) -> Result<T, CommitError>,
) -> Result<T, CommitError> {
    let merged = eng.paths.rootfs(&c.id);
    if rootfs::is_mounted(&merged) {
        return f(&merged);
    }
    let img = image::resolve(&eng.paths, &c.image_id)?;
    let target: PathBuf =
        eng.paths
            .runroot
            .join("export")
            .join(format!("{}-{}", c.short_id(), std::process::id()));
    rootfs::mount_overlay(&img.layers, &eng.paths.container_dir(&c.id), &target, false)?;
    let res = f(&target);
    rootfs::unmount(&target);
    let _ = std::fs::remove_dir(&target);
    res
}

/// `hull export`: the container's filesystem as a tar (not its volumes).
pub fn export(eng: &Engine, c: &Container, out: &mut dyn Write) -> Result<(), CommitError> {
    with_rootfs(eng, c, |root| {
        changes::tree_tar(root, out).map_err(io(format!("export {}", c.name)))
    })
}

/// `hull commit`'s options.
#[derive(Debug, Default)]
pub struct CommitOpts {
    /// Dockerfile instructions (`CMD ["sh"]`, `ENV A=b`...).
    pub changes: Vec<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Freeze a running container while its changes are read (docker's default).
    pub pause: bool,
    /// `[registry/]repository[:tag]`, or empty for an untagged image.
    pub reference: String,
}

/// The image config's `config` object as docker commits it: the container's config.
fn child_config(
    eng: &Engine,
    c: &Container,
    changes: &[String],
) -> Result<Map<String, Value>, CommitError> {
    let ctr = &inspect::inspect(eng, c)["Config"];
    let mut cfg = Map::new();
    for k in [
        "Hostname",
        "Domainname",
        "User",
        "AttachStdin",
        "Tty",
        "OpenStdin",
        "Env",
        "Cmd",
        "Image",
        "WorkingDir",
        "Entrypoint",
        "Labels",
    ] {
        cfg.insert(k.into(), ctr[k].clone());
    }
    for k in ["AttachStdout", "AttachStderr", "StdinOnce"] {
        cfg.insert(k.into(), json!(false));
    }
    let exposed = &ctr["ExposedPorts"];
    let none = exposed.as_object().is_none_or(Map::is_empty);
    cfg.insert(
        "ExposedPorts".into(),
        if none { Value::Null } else { exposed.clone() },
    );
    cfg.insert("Volumes".into(), Value::Null);
    cfg.insert("OnBuild".into(), Value::Null);
    if !c.config.stop_signal.is_empty() {
        cfg.insert("StopSignal".into(), json!(c.config.stop_signal));
    }
    for ch in changes {
        hull_image::apply_change(&mut cfg, ch)?;
    }
    Ok(cfg)
}

/// `hull commit`: a new image of the container's image plus its changes. Returns the id.
pub(crate) fn commit(eng: &Engine, c: &Container, o: &CommitOpts) -> Result<String, CommitError> {
    let config = child_config(eng, c, &o.changes)?;
    let mut store = hull_image::Store::open(&eng.paths.root)?;
    let mut tmp =
        tempfile::tempfile_in(eng.paths.root.join("tmp")).map_err(io("commit: temp file"))?;
    let upper = eng.paths.container_dir(&c.id).join("upper");
    let pause = o.pause && c.status == crate::Status::Running;
    if pause {
        eng.oci.pause(&c.id)?;
    }
    let any = changes::layer_tar(&upper, &mut tmp);
    if pause {
        eng.oci.resume(&c.id)?;
    }
    let any = any.map_err(io(upper.display()))?;
    tmp.rewind().map_err(io("commit: temp file"))?;
    let child = hull_image::ChildConfig {
        config,
        container: c.id.clone(),
        created_by: c.config.args().join(" "),
        author: o.author.clone(),
        comment: o.message.clone(),
        created: crate::time::nanotime::now_nanos(),
    };
    let layer: Option<&mut dyn std::io::Read> = if any { Some(&mut tmp) } else { None };
    Ok(store.commit_child(&c.image_id, layer, child, &o.reference)?)
}

impl Engine {
    /// `diff` (docker's `changes`): the container's changes to its image.
    pub fn changes(&self, key: &str) -> crate::Result<Vec<Change>> {
        let c = self.lookup(key)?;
        Ok(diff(self, &c)?)
    }

    /// `export`: the container's filesystem (not its volumes) as a tar, to `out`.
    pub fn export(&self, key: &str, out: &mut dyn Write) -> crate::Result<()> {
        let c = self.lookup(key)?;
        export(self, &c, out)?;
        crate::events::container(&self.paths, &c, "export", &[]);
        Ok(())
    }

    /// `commit`: a new image of container `key`'s changes over its image; the new id.
    pub fn commit(&self, key: &str, o: &CommitOpts) -> crate::Result<String> {
        let c = self.lookup(key)?;
        let id = commit(self, &c, o)?;
        // docker's attributes: the comment, the new image's id and the name it was given.
        let image_ref = if o.reference.is_empty() {
            String::new()
        } else {
            hull_image::Reference::parse(&o.reference)
                .map(|r| r.with_default_tag().familiar())
                .unwrap_or_else(|_| o.reference.clone())
        };
        let extra = [
            ("comment", o.message.clone().unwrap_or_default()),
            ("imageID", crate::events::image_id(&id)),
            ("imageRef", image_ref),
        ];
        crate::events::container(&self.paths, &c, "commit", &extra);
        Ok(id)
    }

    /// Container `key`'s changes over its image as a layer tar written to `out` (docker's
    /// format: a whiteout becomes an empty `.wh.NAME`, an opaque directory gets
    /// `.wh..wh..opq`), as `commit` and `build`'s RUN take them. Whether it has any entry.
    pub fn layer_tar(&self, key: &str, out: &mut dyn std::io::Write) -> crate::Result<bool> {
        let c = self.lookup(key)?;
        let upper = self.paths.container_dir(&c.id).join("upper");
        changes::layer_tar(&upper, out).map_err(|e| {
            crate::Error::Internal(format!("read changes in {}: {e}", upper.display()))
        })
    }
}
