//! `hull system service`: serves the Docker Engine API on a unix socket (crates/api) until
//! `--timeout` seconds pass with no connection (0: never). Whoever can connect to the socket
//! is root on the host: it is made 0660, root's, group root or --group.

use std::time::Duration;

use hull_api::listen::Listen;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Where to listen: unix:///PATH. Ignored when systemd passes the socket (LISTEN_FDS).
    #[arg(long, default_value = "unix:///run/hull/docker.sock")]
    socket: String,
    /// Seconds without a connection after which the service exits (0: never).
    #[arg(long, default_value_t = 0)]
    timeout: u64,
    /// The group that may use the socket besides root (a name or gid).
    #[arg(long)]
    group: Option<String>,
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let listen = if std::env::var_os("LISTEN_FDS").is_some() {
        Listen::Systemd
    } else {
        Listen::parse(&a.socket, a.group.as_deref())?
    };
    hull_api::serve(hull_api::Config {
        paths: paths.clone(),
        runtime: super::runtime_flag(),
        cgroup_manager: Some(super::cgroup_manager()),
        listen,
        idle_timeout: (a.timeout > 0).then(|| Duration::from_secs(a.timeout)),
    })
    .map_err(|e| CmdError::new(e.to_string()))
}
