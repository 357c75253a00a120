//! `hull image ls|rm|inspect|tag|load|save|import|pull|prune`: the image verbs under one
//! noun, plus `image inspect` (the engine's `image_inspect`: docker's shape) and `image prune`.

use clap::Subcommand;
use hull_engine::Paths;
use hull_format::template;

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
pub use hull_engine::image::go_arch;

/// `--platform` of `pull` and `import`: only this machine's (`linux/<go arch>`).
pub fn check_platform(platform: Option<&str>) -> CmdResult {
    let want = format!("linux/{}", go_arch());
    match platform {
        Some(p) if p != want => Err(CmdError {
            msg: format!("--platform {p:?}: only {want} is supported"),
            code: 125,
        }),
        _ => Ok(()),
    }
}

fn inspect(paths: &Paths, args: InspectArgs) -> CmdResult {
    let eng = super::state_engine(paths)?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.images {
        match eng.image_inspect(name) {
            Ok(img) => found.push(img),
            Err(hull_engine::Error::NotFound(_)) => missing.push(name.as_str()),
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
    let eng = super::state_engine(paths)?;
    let pruned = eng.image_prune(args.all)?;
    // The build cache's entries for the images just removed go too.
    let ids = eng.image_ids()?;
    hull_build::cache::Cache::open(&paths.root)
        .forget_missing(|id| ids.contains(id) || ids.contains(&format!("sha256:{id}")))?;
    super::volume::print_pruned("Deleted Images:", &pruned.lines, pruned.bytes);
    Ok(())
}
