//! `hull push NAME[:TAG]`: uploads an image to its registry, with the credentials `login`
//! stored (or --creds).

use hull_engine::image::ops::RegistryRequest;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Verify the registry's TLS certificate (false also allows plain http).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    tls_verify: bool,
    /// Credentials for the registry: USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// Accepted for docker compatibility (hull prints no progress bars).
    #[arg(short, long)]
    quiet: bool,
    name: String,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let credentials = match a.creds.as_deref().map(|c| c.split_once(':')) {
        None => None,
        Some(Some((u, p))) if !u.is_empty() => Some((u.to_string(), p.to_string())),
        Some(_) => return Err(CmdError::new("invalid --creds: want USER:PASSWORD".into())),
    };
    let req = RegistryRequest {
        reference: a.name.clone(),
        insecure: !a.tls_verify,
        credentials,
    };
    let eng = super::state_engine(paths)?;
    let mut out = std::io::stdout().lock();
    eng.image_push(&req, &mut out)
        .map_err(|e| CmdError::from(e).daemon())?;
    Ok(())
}
