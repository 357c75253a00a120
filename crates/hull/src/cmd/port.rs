//! `hull port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports, as docker
//! prints them ("80/tcp -> 0.0.0.0:8080").

use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    container: String,
    /// Only this container port (`80` or `53/udp`).
    private_port: Option<String>,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let eng = super::engine(paths)?;
    let ports = eng.port(&args.container)?;
    let want = args.private_port.as_deref().map(|p| {
        if p.contains('/') {
            p.to_string()
        } else {
            format!("{p}/tcp")
        }
    });
    let mut found = false;
    for p in ports {
        let key = format!("{}/{}", p.container_port, p.proto);
        if want.as_ref().is_some_and(|w| *w != key) {
            continue;
        }
        found = true;
        let ip = p
            .host_ip
            .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string());
        match want {
            Some(_) => println!("{ip}:{}", p.host_port),
            None => println!("{key} -> {ip}:{}", p.host_port),
        }
    }
    if let (Some(w), false) = (want, found) {
        return Err(CmdError {
            msg: format!("no public port '{w}' published for {}", args.container),
            code: 1,
        });
    }
    Ok(())
}
