//! `hull save [-o FILE] IMAGE...`: a docker-archive (also an OCI layout) that `docker load`,
//! `podman load` and `hull load` read.

use std::io::Write;
use std::path::PathBuf;

use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(required = true)]
    images: Vec<String>,
}

fn io_err(what: &std::path::Path, e: std::io::Error) -> CmdError {
    CmdError {
        msg: format!("{}: {e}", what.display()),
        code: 125,
    }
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::state_engine(paths)?;
    let images: Vec<&str> = args.images.iter().map(String::as_str).collect();
    match &args.output {
        Some(out) => {
            // Written beside the target and renamed into place, so a failed save leaves no
            // half archive behind.
            let dir = match out.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".hull-save-")
                .tempfile_in(&dir)
                .map_err(|e| io_err(&dir, e))?;
            {
                let mut w = std::io::BufWriter::new(tmp.as_file_mut());
                eng.image_save(&images, &mut w)?;
                w.flush().map_err(|e| io_err(out, e))?;
            }
            tmp.persist(out).map_err(|e| io_err(out, e.error))?;
        }
        None => {
            use std::io::IsTerminal;
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                return Err(CmdError {
                    msg: "cowardly refusing to save to a terminal: use -o FILE or redirect".into(),
                    code: 125,
                });
            }
            let mut w = std::io::BufWriter::new(stdout.lock());
            eng.image_save(&images, &mut w)?;
            w.flush()
                .map_err(|e| io_err(std::path::Path::new("stdout"), e))?;
        }
    }
    Ok(())
}
