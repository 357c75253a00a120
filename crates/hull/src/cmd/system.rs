//! `hull system prune [-a] [-f] [--volumes]`: stopped containers, then the networks no
//! container uses, then images no container uses (untagged ones; every one with -a), then with --volumes the anonymous volumes no
//! container uses (docker 23's rule: named volumes are never pruned here).

use clap::Subcommand;
use hull_engine::{container::remove, volume, Engine, Paths, Status};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: SystemCmd,
}

#[derive(Subcommand)]
enum SystemCmd {
    /// Remove stopped containers, unused images and (with --volumes) unused volumes.
    Prune(PruneArgs),
    /// Show the engine's directories, runtime, storage and the host (as `hull info`).
    Info(super::info::Args),
    /// Find (and with --repair remove) what crashes left: crates/engine/src/check.rs.
    Check(super::network::CheckArgs),
    /// Show disk usage.
    Df(super::df::Args),
    /// Serve the Docker Engine API on a unix socket (access to it is root on the host).
    Service(super::service::Args),
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Every unused image, not only untagged ones.
    #[arg(short, long)]
    all: bool,
    /// No prompt.
    #[arg(short, long)]
    force: bool,
    /// Unused volumes too.
    #[arg(long)]
    volumes: bool,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    match args.cmd {
        SystemCmd::Prune(a) => prune(paths, a),
        SystemCmd::Info(a) => super::info::exec(paths, a),
        SystemCmd::Check(a) => super::network::check(paths, a),
        SystemCmd::Df(a) => super::df::exec(paths, a),
        SystemCmd::Service(a) => super::service::exec(paths, a),
    }
}

/// Removes every stopped container; returns their ids and the bytes their changes held.
pub fn prune_containers(eng: &Engine) -> Result<(Vec<String>, u64), CmdError> {
    let mut total = 0u64;
    let mut deleted = Vec::new();
    for c in eng.list()? {
        if matches!(c.status, Status::Exited | Status::Created | Status::Dead) {
            total += volume::dir_size(&eng.paths.container_dir(&c.id).join("upper"));
            remove::remove(eng, &c, false, false)?;
            deleted.push(c.id);
        }
    }
    Ok((deleted, total))
}

fn prune(paths: &Paths, args: PruneArgs) -> CmdResult {
    let mut warning = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if args.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if args.all {
        "  - all images without at least one container associated to them"
    } else {
        "  - all dangling images"
    });
    if !args.force && !super::volume::confirm(&warning) {
        return Ok(());
    }
    let eng = super::engine(paths)?;
    let (deleted, mut total) = prune_containers(&eng)?;
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for id in &deleted {
            println!("{id}");
        }
        println!();
    }
    let networks = eng.network_prune()?;
    if !networks.is_empty() {
        println!("Deleted Networks:");
        for n in &networks {
            println!("{n}");
        }
        println!();
    }
    if args.volumes {
        let pruned = eng.volume_prune(false, &|_| false)?;
        total += pruned.bytes;
        if !pruned.names.is_empty() {
            println!("Deleted Volumes:");
            for n in &pruned.names {
                println!("{n}");
            }
            println!();
        }
    }
    let images = eng.image_prune(args.all)?;
    total += images.bytes;
    if !images.lines.is_empty() {
        println!("Deleted Images:");
        for l in &images.lines {
            println!("{l}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        hull_format::human::human_size(total)
    );
    Ok(())
}
