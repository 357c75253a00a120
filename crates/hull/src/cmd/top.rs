//! `hull top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`), only the lines of the
//! container's processes (the pids of its cgroup).

use hull_engine::Paths;
use hull_format::template;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    container: String,
    /// Options for ps (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

/// docker's client exits 1 for what its daemon refuses.
pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let top = eng
        .top(&args.container, &args.ps_args)
        .map_err(|e| CmdError::from(e).daemon())?;
    let lines: Vec<String> = std::iter::once(&top.titles)
        .chain(&top.processes)
        .map(|r| r.join("\t"))
        .collect();
    print!("{}", template::tabwrite(&lines));
    Ok(())
}
