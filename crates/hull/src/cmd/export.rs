//! `hull export [-o FILE] CONTAINER`: the container's filesystem (not its volumes) as a tar,
//! to stdout or FILE.

use std::io::Write;

use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Write to a file instead of stdout.
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
    container: String,
}

/// docker's client exits 1 for what its daemon refuses.
pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    verb(paths, a).map_err(CmdError::daemon)
}

fn verb(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    match &a.output {
        Some(path) => {
            let mut f = std::fs::File::create(path)
                .map_err(|e| CmdError::new(format!("{}: {e}", path.display())))?;
            eng.export(&a.container, &mut f)?;
            f.sync_all()
                .map_err(|e| CmdError::new(format!("{}: {e}", path.display())))?;
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(CmdError::new(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect".into(),
                ));
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            eng.export(&a.container, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}
