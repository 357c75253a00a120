//! `hull load [-i FILE]`: images from a docker-archive (`docker save`) or an oci-archive,
//! from a file or stdin.

use std::collections::HashMap;
use std::path::PathBuf;

use hull_engine::Paths;
use hull_image::{Reference, Store};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// The archive (default: stdin).
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// No output.
    #[arg(short, long)]
    quiet: bool,
}

/// Every tag's image id before the load, by the tag's full reference.
fn tags(store: &Store) -> Result<HashMap<String, String>, CmdError> {
    let mut by_name = HashMap::new();
    for img in store.list()? {
        for t in &img.repo_tags {
            if let Ok(r) = Reference::parse(t) {
                by_name.insert(r.with_default_tag().to_string(), img.id.clone());
            }
        }
    }
    Ok(by_name)
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let mut store = Store::open(&paths.root)?;
    let before = tags(&store)?;
    let loaded = match &args.input {
        Some(p) => store.load(p)?,
        None => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                return Err(CmdError {
                    msg: "requested load from stdin, but stdin is empty (use -i FILE or a pipe)"
                        .into(),
                    code: 125,
                });
            }
            // The archive is read by random access (manifest.json may come last): spool
            // stdin to a file in the store's own tmp dir, removed when done.
            let tmp_dir = paths.root.join("tmp");
            let mut tmp = tempfile::Builder::new()
                .prefix("load-stdin-")
                .tempfile_in(&tmp_dir)
                .map_err(|e| CmdError {
                    msg: format!("{}: {e}", tmp_dir.display()),
                    code: 125,
                })?;
            std::io::copy(&mut std::io::stdin().lock(), tmp.as_file_mut()).map_err(|e| {
                CmdError {
                    msg: format!("reading the archive from stdin: {e}"),
                    code: 125,
                }
            })?;
            store.load(tmp.path())?
        }
    };
    if !args.quiet {
        let after = tags(&store)?;
        for name in loaded {
            let full = Reference::parse(&name).map(|r| r.with_default_tag().to_string());
            let moved = full
                .ok()
                .and_then(|f| Some((before.get(&f)?, after.get(&f)?)));
            if let Some((old, _)) = moved.filter(|(old, new)| old != new) {
                let old = if old.starts_with("sha256:") {
                    old.clone()
                } else {
                    format!("sha256:{old}")
                };
                // docker's notice when a tag is taken from another image.
                println!(
                    "The image {name} already exists, renaming the old one with ID {old} to \
                     empty string"
                );
            }
            if name.starts_with("sha256:") {
                println!("Loaded image ID: {name}");
            } else {
                println!("Loaded image: {name}");
            }
        }
    }
    Ok(())
}
