//! `hull commit [-a AUTHOR] [-c CHANGE]... [-m MSG] [-p=false] CONTAINER [REPO[:TAG]]`: a new
//! image of the container's changes over its image; prints the new id.

use hull_engine::container::commit::CommitOpts;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Author (e.g. "Jane <jane@example.com>").
    #[arg(short, long)]
    author: Option<String>,
    /// Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME,
    /// WORKDIR, STOPSIGNAL).
    #[arg(short, long)]
    change: Vec<String>,
    /// Commit message.
    #[arg(short, long)]
    message: Option<String>,
    /// Pause the container while committing (`-p=false`: do not).
    #[arg(short, long, default_value = "true", num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    container: String,
    /// The new image's name.
    reference: Option<String>,
}

/// docker's client exits 1 for what its daemon refuses.
pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    verb(paths, a).map_err(CmdError::daemon)
}

fn verb(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let id = eng.commit(
        &a.container,
        &CommitOpts {
            changes: a.change,
            author: a.author,
            message: a.message,
            pause: a.pause,
            reference: a.reference.unwrap_or_default(),
        },
    )?;
    println!("{id}");
    Ok(())
}
