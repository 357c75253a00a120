//! `hull start [-a] [-i] CONTAINER...`.

use hull_engine::container::start::{self, Attach};
use hull_engine::Paths;
use hull_monitor::proto;
use hull_term::attach;

use super::{CmdError, CmdResult};

/// Start one or more stopped containers.
#[derive(clap::Args)]
pub struct Args {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short, long)]
    attach: bool,
    /// Attach the container's STDIN.
    #[arg(short, long)]
    interactive: bool,
    #[command(flatten)]
    detach_keys: super::flags::DetachKeys,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let keys = a.detach_keys.parse()?;
    let eng = super::engine(paths)?;
    // docker's: each failure on its own line, then one summary line, exit 1.
    let mut failed = Vec::new();
    for name in &a.containers {
        let c = match eng.lookup(name) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("hull: {e}");
                failed.push(name.as_str());
                continue;
            }
        };
        if c.status.is_live() {
            println!("{name}");
            continue;
        }
        let at = if a.attach {
            Attach {
                want: proto::WANT_STDOUT | proto::WANT_STDERR,
                size: if c.config.tty {
                    attach::terminal_size()
                } else {
                    None
                },
            }
        } else {
            Attach::default()
        };
        let started = match start::start(&eng, &c, at) {
            Ok(s) => s,
            Err(e) if a.attach => {
                return Err(CmdError {
                    msg: e.to_string(),
                    code: e.exit_code(),
                })
            }
            Err(e) => {
                eprintln!("hull: {e}");
                failed.push(name.as_str());
                continue;
            }
        };
        if a.attach {
            let stdin = a.interactive && c.config.open_stdin;
            return match attach::attach(started.sock, stdin, c.config.tty, true, &keys) {
                Some(0) => Ok(()),
                Some(code) => Err(CmdError::exit(code)),
                None => Err(CmdError::new(format!(
                    "container {}: lost the monitor",
                    c.name
                ))),
            };
        }
        println!("{name}");
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(CmdError {
        msg: format!("failed to start containers: {}", failed.join(", ")),
        code: 1,
    })
}
