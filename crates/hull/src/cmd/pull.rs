//! `hull pull REF`: from any registry speaking the OCI distribution API, with a progress bar
//! per layer on a terminal.

use hull_engine::image::ops::RegistryRequest;
use hull_engine::image::{NoProgress, Progress, TtyProgress};
use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// No progress output: only the image's name at the end.
    #[arg(short, long)]
    quiet: bool,
    /// Verify the registry's TLS certificate (false also allows plain http).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    tls_verify: bool,
    /// Credentials for the registry: USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// Accepted for docker compatibility: only this machine's platform.
    #[arg(long)]
    platform: Option<String>,
    reference: String,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let credentials = match &args.creds {
        None => None,
        Some(c) => match c.split_once(':') {
            Some((u, p)) if !u.is_empty() => Some((u.to_string(), p.to_string())),
            _ => {
                return Err(CmdError {
                    msg: "invalid --creds: want USER:PASSWORD".into(),
                    code: 125,
                })
            }
        },
    };
    super::image::check_platform(args.platform.as_deref())?;
    let req = RegistryRequest {
        reference: args.reference.clone(),
        insecure: !args.tls_verify,
        credentials,
    };
    let eng = super::state_engine(paths)?;
    let mut quiet = NoProgress;
    let mut tty;
    // Bars per layer on a terminal; nothing but the final name otherwise (logs stay clean).
    use std::io::IsTerminal;
    let progress: &mut dyn Progress = if args.quiet || !std::io::stderr().is_terminal() {
        &mut quiet
    } else {
        tty = TtyProgress::new();
        &mut tty
    };
    let pulled = eng.image_pull(&req, progress)?;
    println!("{}", pulled.reference);
    Ok(())
}
