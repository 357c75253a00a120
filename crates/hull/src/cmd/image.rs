//! `hull image ls|rm|inspect|tag|load|save|import|pull|prune`: the image verbs under one
//! noun, plus `image inspect`'s JSON (docker's shape) and `image prune`.

use clap::Subcommand;
use hull_engine::Paths;
use hull_format::template;
use hull_image::{Image, Store};
use serde_json::{json, Map, Value};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: ImageCmd,
}

#[derive(Subcommand)]
enum ImageCmd {
    /// List images.
    #[command(visible_alias = "list")]
    Ls(super::images::Args),
    /// Remove images.
    #[command(visible_alias = "remove")]
    Rm(super::rmi::Args),
    /// Show images as JSON.
    Inspect(InspectArgs),
    /// Give an image another name.
    Tag(super::tag::Args),
    /// Load images from an archive.
    Load(super::load::Args),
    /// Save images to an archive.
    Save(super::save::Args),
    /// Make an image from a rootfs tarball.
    Import(super::import::Args),
    /// Pull an image from a registry.
    Pull(super::pull::Args),
    /// Remove unused images.
    Prune(PruneArgs),
    /// Show an image's history.
    History(super::history::Args),
    /// Upload an image to a registry.
    Push(super::push::Args),
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Go template applied to each image.
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Every image no container uses, not only untagged ones.
    #[arg(short, long)]
    all: bool,
    /// No prompt.
    #[arg(short, long)]
    force: bool,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    match args.cmd {
        ImageCmd::Ls(a) => super::images::exec(paths, a),
        ImageCmd::Rm(a) => super::rmi::exec(paths, a),
        ImageCmd::Inspect(a) => inspect(paths, a),
        ImageCmd::Tag(a) => super::tag::exec(paths, a),
        ImageCmd::Load(a) => super::load::exec(paths, a),
        ImageCmd::Save(a) => super::save::exec(paths, a),
        ImageCmd::Import(a) => super::import::exec(paths, a),
        ImageCmd::Pull(a) => super::pull::exec(paths, a),
        ImageCmd::Prune(a) => prune_images(paths, a),
        ImageCmd::History(a) => super::history::exec(paths, a),
        ImageCmd::Push(a) => super::push::exec(paths, a),
    }
}

/// The Go name of this machine's architecture, as image configs and docker spell it.
pub use hull_image::go_arch;

/// `docker image inspect`'s shape, from the image's config as stored.
pub fn inspect_json(img: &Image) -> Value {
    let raw: Value = serde_json::from_slice(&img.config_raw).unwrap_or(Value::Null);
    let mut config = json!({
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "ExposedPorts": null,
        "Tty": false,
        "OpenStdin": false,
        "StdinOnce": false,
        "Env": null,
        "Cmd": null,
        "Image": "",
        "Volumes": null,
        "WorkingDir": "",
        "Entrypoint": null,
        "OnBuild": null,
        "Labels": null,
    });
    if let (Some(dst), Some(src)) = (config.as_object_mut(), raw["config"].as_object()) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
    let comment = raw["comment"]
        .as_str()
        .or_else(|| {
            raw["history"]
                .as_array()
                .and_then(|h| h.last())
                .and_then(|h| h["comment"].as_str())
        })
        .unwrap_or("");
    let lower: Vec<String> = img
        .layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let str_or = |v: &Value, d: &str| v.as_str().unwrap_or(d).to_string();
    let mut out = Map::new();
    out.insert("Id".into(), json!(img.id));
    out.insert("RepoTags".into(), json!(img.names));
    out.insert("RepoDigests".into(), json!(img.digests));
    out.insert("Parent".into(), json!(""));
    out.insert("Comment".into(), json!(comment));
    out.insert(
        "Created".into(),
        json!(img
            .created
            .clone()
            .unwrap_or_else(|| str_or(&raw["created"], ""))),
    );
    out.insert("DockerVersion".into(), json!(""));
    out.insert("Author".into(), json!(str_or(&raw["author"], "")));
    out.insert("Config".into(), config);
    out.insert(
        "Architecture".into(),
        json!(str_or(&raw["architecture"], go_arch())),
    );
    if let Some(v) = raw["variant"].as_str() {
        out.insert("Variant".into(), json!(v));
    }
    out.insert("Os".into(), json!(str_or(&raw["os"], "linux")));
    out.insert("Size".into(), json!(img.size));
    out.insert(
        "GraphDriver".into(),
        json!({"Name": "overlay", "Data": {"LowerDir": lower.join(":")}}),
    );
    out.insert(
        "RootFS".into(),
        json!({"Type": "layers", "Layers": img.diff_ids}),
    );
    out.insert("Metadata".into(), json!({"LastTagTime": ""}));
    Value::Object(out)
}

fn inspect(paths: &Paths, args: InspectArgs) -> CmdResult {
    let store = Store::open(&paths.root)?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.images {
        match store.resolve(name) {
            Ok(img) => found.push(inspect_json(&img)),
            Err(hull_image::ImageError::NotFound(_)) => missing.push(name.as_str()),
            Err(e) => return Err(e.into()),
        }
    }
    print!(
        "{}",
        template::inspect_output(args.format.as_deref(), &found)?
    );
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CmdError {
            msg: format!("no such image: {}", missing.join(", ")),
            code: 1,
        })
    }
}

fn prune_images(paths: &Paths, args: PruneArgs) -> CmdResult {
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !super::volume::confirm(warning) {
        return Ok(());
    }
    let pruned = super::state_engine(paths)?.image_prune(args.all)?;
    // The build cache's entries for the images just removed go too.
    let store = Store::open(&paths.root)?;
    hull_build::cache::Cache::open(&paths.root).forget_missing(|id| store.resolve(id).is_ok())?;
    super::volume::print_pruned("Deleted Images:", &pruned.lines, pruned.bytes);
    Ok(())
}
