//! `hull inspect [--format T] CONTAINER...` (containers; images through `image inspect`).

use hull_engine::Paths;
use hull_format::template;

use super::{CmdError, CmdResult};

/// Display detailed information on one or more containers.
#[derive(clap::Args)]
pub struct Args {
    /// Format the output using the given Go template.
    #[arg(short, long)]
    format: Option<String>,
    /// Accepted for docker compatibility (container only).
    #[arg(long = "type")]
    kind: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let mut docs = Vec::new();
    let mut missing = None;
    for n in &a.names {
        match eng.inspect(n) {
            Ok(doc) => docs.push(doc),
            Err(e) => {
                eprintln!("hull: {e}");
                missing = Some(CmdError::exit(1));
            }
        }
    }
    let _ = a.kind;
    print!("{}", template::inspect_output(a.format.as_deref(), &docs)?);
    missing.map_or(Ok(()), Err)
}
