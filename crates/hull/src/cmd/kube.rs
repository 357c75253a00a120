//! `hull kube play FILE`, `hull kube down FILE`, `hull kube generate POD`.

use std::path::{Path, PathBuf};

use hull_engine::{kube, Paths};

use super::{CmdError, CmdResult};

/// Run Kubernetes Pod and Deployment manifests.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Create and start the pods a manifest describes.
    Play { file: PathBuf },
    /// Remove the pods a manifest describes.
    Down { file: PathBuf },
    /// Write a Pod manifest for a pod.
    Generate { pod: String },
}

fn err(e: impl std::fmt::Display) -> CmdError {
    CmdError::new(e.to_string())
}

fn read(file: &Path) -> Result<kube::Manifests, CmdError> {
    let m = kube::read(file).map_err(err)?;
    for w in &m.warnings {
        eprintln!("hull: warning: {w}");
    }
    Ok(m)
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    match a.cmd {
        Sub::Play { file } => {
            let m = read(&file)?;
            let mut eng = super::engine(paths)?;
            let played = eng
                .kube_play(&m, &file)
                .map_err(|e| CmdError::new(format!("{}: {e}", file.display())))?;
            for p in played {
                println!("Pod: {} {}", p.id, p.name);
            }
            Ok(())
        }
        Sub::Down { file } => {
            let m = read(&file)?;
            let mut eng = super::engine(paths)?;
            for name in eng.kube_down(&m).map_err(err)? {
                println!("Pod removed: {name}");
            }
            Ok(())
        }
        Sub::Generate { pod } => {
            let eng = super::engine(paths)?;
            print!("{}", eng.kube_generate(&pod).map_err(err)?);
            Ok(())
        }
    }
}
