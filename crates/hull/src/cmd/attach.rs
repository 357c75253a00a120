//! `hull attach CONTAINER`: our stdio to a running container's.

use hull_engine::{container::stop, Paths};
use hull_monitor::proto;
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
    let c = eng.lookup(&a.container)?;
    if !c.status.is_live() {
        return Err(CmdError::new(
            "you cannot attach to a stopped container, start it first".into(),
        ));
    }
    let mut sock = stop::connect(&eng, &c.id)
        .ok_or_else(|| CmdError::new(format!("container {}: no monitor to attach to", c.name)))?;
    let stdin = c.config.open_stdin && !a.no_stdin;
    let mut want = proto::WANT_STDOUT | proto::WANT_STDERR;
    if stdin {
        want |= proto::WANT_STDIN;
    }
    proto::write_frame(&mut sock, proto::HELLO, &[want])?;
    if c.config.tty {
        if let Some((r, col)) = attach::terminal_size() {
            let mut p = r.to_le_bytes().to_vec();
            p.extend_from_slice(&col.to_le_bytes());
            proto::write_frame(&mut sock, proto::RESIZE, &p)?;
        }
    }
    match attach::attach(sock, stdin, c.config.tty, a.sig_proxy, &keys) {
        Some(0) => Ok(()),
        Some(code) => Err(CmdError::exit(code)),
        None => Ok(()),
    }
}
