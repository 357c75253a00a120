//! `hull rmi` (and `hull image rm`): untag, and delete an image when its last tag goes. An
//! image a container was created from is never deleted (its layers are the container's lower
//! layers): untagging one of several tags is allowed, anything else is refused.

use hull_engine::{container::prune, state, Paths};
use hull_image::{Reference, Store};

use super::{CmdError, CmdResult};

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

/// Whether removing `arg` would delete the image, not just untag one of its names.
fn deletes(arg: &str, tags: &[String]) -> bool {
    let by_name = Reference::parse(arg)
        .ok()
        .map(|r| r.with_default_tag().familiar())
        .filter(|n| tags.contains(n));
    match by_name {
        Some(_) => tags.len() <= 1,
        None => true,
    }
}

/// Removes one image the way rmi does, refusing an image containers use. Returns docker's
/// lines (`Untagged: ...`, `Deleted: ...`).
pub fn remove_one(
    store: &mut Store,
    conn: &rusqlite::Connection,
    arg: &str,
    force: bool,
) -> Result<Vec<String>, CmdError> {
    let img = store.resolve(arg)?;
    let used = prune::images_in_use(conn)?;
    let users = prune::image_users(&used, &img.id);
    if !users.is_empty() && deletes(arg, &img.names) {
        return Err(CmdError {
            msg: format!(
                "conflict: unable to remove image {arg:?}: container(s) {} use it (remove them first)",
                users.join(", ")
            ),
            code: 1,
        });
    }
    Ok(store.remove(arg, force)?)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let mut store = Store::open(&paths.root)?;
    let conn = state::open(&paths.db())?;
    let _ = args.no_prune;
    let mut errors = Vec::new();
    for arg in &args.images {
        match remove_one(&mut store, &conn, arg, args.force) {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
            }
            Err(e) => errors.push(e.msg),
        }
    }
    super::all_done(errors)
}
