//! `hull load [-i FILE]`: images from a docker-archive (`docker save`) or an oci-archive,
//! from a file or stdin.

use std::path::PathBuf;

use hull_engine::Paths;

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

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::state_engine(paths)?;
    let loaded = match &args.input {
        Some(p) => eng.image_load(p)?,
        None => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                return Err(CmdError {
                    msg: "requested load from stdin, but stdin is empty (use -i FILE or a pipe)"
                        .into(),
                    code: 125,
                });
            }
            eng.image_load_stream(&mut std::io::stdin().lock())?
        }
    };
    if !args.quiet {
        for l in loaded {
            if let Some(old) = &l.replaced {
                // docker's notice when a tag is taken from another image.
                println!(
                    "The image {} already exists, renaming the old one with ID {old} to \
                     empty string",
                    l.name
                );
            }
            if l.name.starts_with("sha256:") {
                println!("Loaded image ID: {}", l.name);
            } else {
                println!("Loaded image: {}", l.name);
            }
        }
    }
    Ok(())
}
