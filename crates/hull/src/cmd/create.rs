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
    /// --pull, -q, --cidfile: cmd/runopts.rs.
    #[command(flatten)]
    opts: super::runopts::RunOpts,
    /// The image: a word before it that starts with '-' is a flag (an unknown one is a
    /// usage error naming it, not an image name).
    image: String,
    /// [COMMAND] [ARG...]: everything after the image, flags included.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let (image, args) = (a.image, a.args);
    let pod = a.flags.pod.clone();
    let mut req = a.flags.request(image, args)?;
    // After the flags are checked: a bad value is reported before any pull.
    a.opts.before(paths, &req.image)?;
    if let Some(p) = pod {
        eng.pod_join(&p, &mut req)?;
    }
    let c = eng.create(req)?.container;
    a.opts.created(&c.id)?;
    println!("{}", c.id);
    Ok(())
}
