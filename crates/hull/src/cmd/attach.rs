//! `hull attach CONTAINER`: our stdio to a running container's.

use hull_engine::container::attach::AttachRequest;
use hull_engine::Paths;
use hull_term::attach;

use super::{CmdError, CmdResult};

/// Attach local standard input, output, and error streams to a running container.
#[derive(clap::Args)]
pub struct Args {
    /// Do not attach STDIN.
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    /// Proxy all received signals to the process.
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    #[command(flatten)]
    detach_keys: super::flags::DetachKeys,
    container: String,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let keys = a.detach_keys.parse()?;
    let eng = super::engine(paths)?;
    let req = AttachRequest {
        stdin: !a.no_stdin,
        size: attach::terminal_size(),
        output: None,
    };
    let at = eng.attach(&a.container, &req)?;
    match attach::attach(at.sock, at.stdin, at.tty, a.sig_proxy, &keys) {
        Some(0) => Ok(()),
        Some(code) => Err(CmdError::exit(code)),
        None => Ok(()),
    }
}
