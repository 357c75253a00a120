//! `hull network create|ls|inspect|rm|prune|connect|disconnect|reload`: bridge networks.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use clap::Subcommand;
use hull_engine::network::{self, endpoint, host, lease, CreateRequest};
use hull_engine::{container, db, format, parse, Paths};
use serde_json::json;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: NetworkCmd,
}

#[derive(Subcommand)]
enum NetworkCmd {
    /// Create a bridge network.
    Create {
        /// Driver (only "bridge").
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Subnet in CIDR form (default: a free private /24).
        #[arg(long)]
        subnet: Option<String>,
        /// Gateway address (default: the subnet's first address).
        #[arg(long)]
        gateway: Option<Ipv4Addr>,
        /// No traffic in or out of the network, only between its containers.
        #[arg(long)]
        internal: bool,
        /// Driver options: mtu=N, bridge=NAME.
        #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
        opts: Vec<String>,
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        name: String,
    },
    /// List networks.
    #[command(visible_alias = "list")]
    Ls {
        #[arg(short, long)]
        quiet: bool,
        /// Go template, "table TEMPLATE" or "json".
        #[arg(long)]
        format: Option<String>,
    },
    /// Show networks as JSON.
    Inspect {
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove networks.
    #[command(visible_alias = "remove")]
    Rm {
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove the networks no container uses.
    Prune {
        #[arg(short, long)]
        force: bool,
    },
    /// Connect a running container to a network.
    Connect {
        #[arg(long)]
        ip: Option<Ipv4Addr>,
        network: String,
        container: String,
    },
    /// Disconnect a container from a network.
    Disconnect {
        #[arg(short, long)]
        force: bool,
        network: String,
        container: String,
    },
    /// Re-apply hull's firewall rules (after `nft flush ruleset`).
    Reload,
    /// The DNS responder of a network (started by hull itself).
    #[command(hide = true)]
    DnsServe { name: String },
}

fn fail(msg: String) -> CmdError {
    CmdError { msg, code: 1 }
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let mut conn = db::open(&paths.db())?;
    network::ensure_schema(&conn)?;
    match args.cmd {
        NetworkCmd::Create {
            driver,
            subnet,
            gateway,
            internal,
            opts,
            labels,
            name,
        } => {
            if driver != "bridge" {
                return Err(fail(format!(
                    "network driver {driver:?}: only \"bridge\" is supported"
                )));
            }
            let subnet = subnet
                .map(|s| s.parse().map_err(|e| fail(format!("--subnet: {e}"))))
                .transpose()?;
            if gateway.is_some() && subnet.is_none() {
                return Err(fail("--gateway needs --subnet".into()));
            }
            let mut options = Vec::new();
            for o in &opts {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| fail(format!("-o {o}: expected KEY=VALUE")))?;
                options.push((k.to_string(), v.to_string()));
            }
            let mut lmap = BTreeMap::new();
            for l in &labels {
                let (k, v) = parse::label(l)?;
                lmap.insert(k, v);
            }
            let req = CreateRequest {
                name,
                subnet,
                gateway,
                internal,
                options,
                labels: lmap,
            };
            let n = network::create(&mut conn, paths, &req)?;
            println!("{}", n.id);
            Ok(())
        }
        NetworkCmd::Ls { quiet, format } => {
            let nets = network::list(&conn)?;
            if quiet {
                for n in nets {
                    println!("{}", &n.id[..12]);
                }
                return Ok(());
            }
            let rows: Vec<_> = nets.iter().map(|n| n.list_json()).collect();
            let out = format::render_rows(
                format.as_deref(),
                "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                &rows,
                &[("ID", "NETWORK ID")],
            )?;
            print!("{out}");
            Ok(())
        }
        NetworkCmd::Inspect { format, names } => {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for name in &names {
                match network::get(&conn, name)? {
                    Some(n) => {
                        let mut cs = serde_json::Map::new();
                        for l in lease::of_network(&conn, &n.name)? {
                            cs.insert(
                                l.container.clone(),
                                json!({"Name": l.name, "MacAddress": hull_net::ipam::format_mac(&l.mac),
                                       "IPv4Address": format!("{}/{}", l.ip, n.subnet.prefix), "IPv6Address": ""}),
                            );
                        }
                        found.push(n.inspect_json(cs.into()));
                    }
                    None => missing.push(name.as_str()),
                }
            }
            print!("{}", format::inspect_output(format.as_deref(), &found)?);
            if missing.is_empty() {
                Ok(())
            } else {
                Err(fail(format!("no such network: {}", missing.join(", "))))
            }
        }
        NetworkCmd::Rm { force, names } => {
            let mut errs = Vec::new();
            for n in &names {
                match network::remove(&mut conn, paths, n) {
                    Ok(_) => println!("{n}"),
                    Err(network::NetworkError::NotFound(_)) if force => {}
                    Err(e) => errs.push(e.to_string()),
                }
            }
            if errs.is_empty() {
                Ok(())
            } else {
                Err(fail(errs.join("; ")))
            }
        }
        NetworkCmd::Prune { force } => {
            if !force && !super::volume::confirm("WARNING! This will remove all custom networks not used by at least one container.") {
                return Ok(());
            }
            let gone = network::prune(&mut conn, paths)?;
            if !gone.is_empty() {
                println!("Deleted Networks:");
                for n in gone {
                    println!("{n}");
                }
            }
            Ok(())
        }
        NetworkCmd::Connect {
            ip,
            network: net,
            container: c,
        } => {
            let c = container::lookup(&conn, &c)?;
            endpoint::connect_one(&mut conn, paths, &c.id, &c.name, &net, ip)?;
            Ok(())
        }
        NetworkCmd::Disconnect {
            force,
            network: net,
            container: c,
        } => {
            let c = container::lookup(&conn, &c)?;
            match endpoint::disconnect(&mut conn, paths, &c.id, &net) {
                Err(_) if force => Ok(()),
                r => r.map_err(Into::into),
            }
        }
        NetworkCmd::Reload => {
            host::reload(&conn, paths)?;
            Ok(())
        }
        NetworkCmd::DnsServe { name } => {
            let n = network::lookup(&conn, &name)?;
            drop(conn);
            host::serve_dns(paths, &n)?;
            Ok(())
        }
    }
}
