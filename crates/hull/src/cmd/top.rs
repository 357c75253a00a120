//! `hull top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`), only the lines of the
//! container's processes (the pids of its cgroup).

use hull_engine::{container::stats, Paths};
use hull_format::template;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    container: String,
    /// Options for ps (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let c = eng.lookup(&args.container)?;
    if !c.status.is_live() {
        return Err(CmdError {
            msg: format!("container {} is not running", c.name),
            code: 1,
        });
    }
    let pids = stats::pids(&c)?;
    let rows = stats::top(&pids, &args.ps_args)?;
    let lines: Vec<String> = rows.iter().map(|r| r.join("\t")).collect();
    print!("{}", template::tabwrite(&lines));
    Ok(())
}
