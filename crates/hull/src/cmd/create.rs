//! `hull create`: a container from an image, not started; prints its id.

use hull_engine::Paths;

use super::flags::CreateFlags;
use super::CmdResult;

/// Create a new container.
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[command(flatten)]
    flags: CreateFlags,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let mut args = a.args;
    let image = args.remove(0);
    let pod = a.flags.pod.clone();
    let mut req = a.flags.request(image, args)?;
    if let Some(p) = pod {
        super::pod::join(&eng, &p, &mut req)?;
    }
    let c = hull_engine::create::create(&eng, req)?;
    println!("{}", c.id);
    Ok(())
}
