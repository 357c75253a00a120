//! `hull rmi` (and `hull image rm`): untag, and delete an image when its last tag goes. An
//! image a container was created from is never deleted (its layers are the container's lower
//! layers): untagging one of several tags is allowed, anything else is refused.

use hull_engine::Paths;

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {
    /// Delete an image that has several tags, by id.
    #[arg(short, long)]
    force: bool,
    /// Accepted for docker compatibility (untagged parents do not exist in hull).
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::state_engine(paths)?;
    let _ = args.no_prune;
    let mut errors = Vec::new();
    for arg in &args.images {
        match eng.image_remove(arg, args.force) {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::all_done(errors)
}
