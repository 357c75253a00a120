//! `hull import FILE|- [REPOSITORY[:TAG]]`: a rootfs tarball (plain, gzip or zstd) becomes a
//! one-layer image; `--change` applies Dockerfile instructions to its config.

use hull_engine::image::ImportOptions;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// A Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE,
    /// LABEL, VOLUME, STOPSIGNAL.
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    changes: Vec<String>,
    /// The history comment.
    #[arg(short, long)]
    message: Option<String>,
    /// Accepted for docker compatibility: only this machine's platform.
    #[arg(long)]
    platform: Option<String>,
    /// The tarball, or - for stdin.
    file: String,
    /// The name to give the image (none: an untagged image).
    reference: Option<String>,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    super::image::check_platform(args.platform.as_deref())?;
    let opts = ImportOptions {
        changes: args.changes,
        message: args.message,
    };
    let reference = args.reference.unwrap_or_default();
    let eng = super::engine(paths)?;
    let id = if args.file == "-" {
        let mut stdin = std::io::stdin().lock();
        eng.image_import(&mut stdin, &reference, &opts)?
    } else if args.file.contains("://") {
        return Err(CmdError {
            msg: format!("{}: importing from a URL is not supported", args.file),
            code: 125,
        });
    } else {
        let mut f = std::fs::File::open(&args.file).map_err(|e| CmdError {
            msg: format!("{}: {e}", args.file),
            code: 125,
        })?;
        eng.image_import(&mut f, &reference, &opts)?
    };
    println!("{id}");
    Ok(())
}
