//! `hull network create|ls|inspect|rm|prune|connect|disconnect|reload`: bridge networks.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use clap::Subcommand;
use hull_engine::network::{self, endpoint, CreateRequest};
use hull_engine::Paths;
use hull_format::parse;
use hull_format::template;

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
        /// Subnet in CIDR form (default: a free private /24); once more for an IPv6 one.
        #[arg(long)]
        subnet: Vec<String>,
        /// Gateway address (default: the subnet's first address); one per family.
        #[arg(long)]
        gateway: Vec<IpAddr>,
        /// Give containers IPv6 addresses from the IPv6 --subnet.
        #[arg(long)]
        ipv6: bool,
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
        /// IPv6 address on a network with IPv6.
        #[arg(long)]
        ip6: Option<Ipv6Addr>,
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
    /// The relay of a container's IPv6 port bindings (started by hull itself).
    #[command(hide = true)]
    PortRelay { id: String, routes: Vec<String> },
}

fn fail(msg: String) -> CmdError {
    CmdError { msg, code: 1 }
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    // The relay holds no state: it does not open the engine's.
    if let NetworkCmd::PortRelay { routes, .. } = &args.cmd {
        return network::ports::serve_relay(routes).map_err(fail);
    }
    let eng = super::state_engine(paths)?;
    match args.cmd {
        NetworkCmd::Create {
            driver,
            subnet,
            gateway,
            ipv6,
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
            // One subnet of each family, as docker's default IPAM takes them; each gateway
            // goes with the subnet of its family.
            let (mut subnet4, mut subnet6) = (None, None);
            for s in &subnet {
                let dup = |fam| fail(format!("--subnet {s}: only one {fam} subnet is supported"));
                if s.split('/').next().is_some_and(|a| a.contains(':')) {
                    let v = s.parse().map_err(|e| fail(format!("--subnet: {e}")))?;
                    if subnet6.replace(v).is_some() {
                        return Err(dup("IPv6"));
                    }
                } else {
                    let v = s.parse().map_err(|e| fail(format!("--subnet: {e}")))?;
                    if subnet4.replace(v).is_some() {
                        return Err(dup("IPv4"));
                    }
                }
            }
            let (mut gateway4, mut gateway6) = (None, None);
            for g in gateway {
                let has_subnet = match g {
                    IpAddr::V4(a) => gateway4.replace(a).is_none() && subnet4.is_some(),
                    IpAddr::V6(a) => gateway6.replace(a).is_none() && subnet6.is_some(),
                };
                if !has_subnet {
                    // docker's words (exit 1).
                    return Err(fail(format!("no matching subnet for gateway {g}")));
                }
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
                subnet: subnet4,
                gateway: gateway4,
                ipv6,
                subnet6,
                gateway6,
                internal,
                options,
                labels: lmap,
            };
            // docker's client exits 1 for what its daemon refuses (overlaps, gateways...).
            let n = eng
                .network_create(&req)
                .map_err(|e| CmdError::from(e).daemon())?;
            println!("{}", n.id);
            Ok(())
        }
        NetworkCmd::Ls { quiet, format } => {
            let rows = eng.network_list()?;
            if quiet {
                for r in rows {
                    println!("{}", r["ID"].as_str().unwrap_or_default());
                }
                return Ok(());
            }
            let out = template::render_rows(
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
                match eng.network_inspect(name)? {
                    Some(n) => found.push(n),
                    None => missing.push(name.as_str()),
                }
            }
            print!("{}", template::inspect_output(format.as_deref(), &found)?);
            if missing.is_empty() {
                Ok(())
            } else {
                Err(fail(format!("no such network: {}", missing.join(", "))))
            }
        }
        NetworkCmd::Rm { force, names } => {
            let mut errs = Vec::new();
            for n in &names {
                match eng.network_remove(n) {
                    Ok(()) => println!("{n}"),
                    Err(hull_engine::Error::NotFound(_)) if force => {}
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
            let gone = eng.network_prune()?;
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
            ip6,
            network: net,
            container: c,
        } => {
            eng.network_connect_ips(&c, &net, ip, ip6)
                .map_err(|e| CmdError::from(e).daemon())?;
            Ok(())
        }
        NetworkCmd::Disconnect {
            force,
            network: net,
            container: c,
        } => match eng.network_disconnect(&c, &net) {
            Err(_) if force => Ok(()),
            r => r.map_err(Into::into),
        },
        NetworkCmd::Reload => {
            eng.network_reload()?;
            Ok(())
        }
        NetworkCmd::DnsServe { name } => {
            network::verbs::dns_serve(eng, &name)?;
            Ok(())
        }
        NetworkCmd::PortRelay { .. } => unreachable!("handled above"),
    }
}

/// The network flags of `create` and `run`, flattened into their flags.
#[derive(clap::Args, Debug, Default)]
pub struct NetFlags {
    /// Connect to a network: bridge (default), NAME, none, host, container:NAME; repeatable.
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// Publish a port: [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], ranges as 8000-8010:80-90.
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish every port the image exposes on a free host port.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// IPv4 address on the first network (checked in `apply`: a bad one is exit 125).
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address on the first network (one with IPv6).
    #[arg(long)]
    pub ip6: Option<String>,
    /// MAC address on the first network.
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// DNS server for /etc/resolv.conf.
    #[arg(long)]
    pub dns: Vec<String>,
    /// DNS search domain.
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// DNS resolver option for /etc/resolv.conf (replaces the host's options).
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a line to /etc/hosts: NAME:IP (IP may be host-gateway).
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Another DNS name of the container on its networks.
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
}

impl NetFlags {
    /// Checks the flags and stores them in the run config: network_mode is the first
    /// network ("" for the default bridge), the whole request goes in `RunConfig::net`.
    pub fn apply(self, c: &mut hull_engine::RunConfig) -> Result<(), CmdError> {
        let mut networks: Vec<String> = self
            .network
            .iter()
            .map(|n| match n.as_str() {
                "" | "default" | "private" | network::DEFAULT | network::OLD_DEFAULT => {
                    network::DEFAULT.to_string()
                }
                n => n.to_string(),
            })
            .collect();
        networks.dedup();
        for p in &self.publish {
            network::verbs::check_publish(p).map_err(|e| fail125(format!("invalid -p: {e}")))?;
        }
        let ip = match &self.ip {
            Some(s) => Some(
                s.parse::<Ipv4Addr>()
                    .map_err(|_| fail125(format!("invalid --ip {s:?}: not an IPv4 address")))?,
            ),
            None => None,
        };
        // docker's words and exit code (125).
        let ip6 = match &self.ip6 {
            Some(s) => Some(
                s.parse::<Ipv6Addr>()
                    .map_err(|_| fail125(format!("invalid IPv6 address: {s}")))?,
            ),
            None => None,
        };
        if let Some(m) = &self.mac_address {
            if !network::verbs::valid_mac(m) {
                return Err(fail125(format!(
                    "invalid --mac-address {m:?}: not a unicast MAC address"
                )));
            }
        }
        for h in &self.add_host {
            let ok = h.split_once(':').is_some_and(|(n, ip)| {
                !n.is_empty()
                    && (ip == endpoint::HOST_GATEWAY || ip.parse::<std::net::IpAddr>().is_ok())
            });
            if !ok {
                return Err(fail125(format!(
                    "invalid --add-host {h:?}: expected NAME:IP"
                )));
            }
        }
        for d in &self.dns {
            if d.parse::<std::net::IpAddr>().is_err() {
                return Err(fail125(format!("invalid --dns {d:?}: not an IP address")));
            }
        }
        let req = endpoint::NetRequest {
            networks: networks.clone(),
            ip,
            ip6,
            mac: self.mac_address,
            publish: self.publish,
            publish_all: self.publish_all,
            exposed: Vec::new(),
            dns: self.dns,
            dns_search: self.dns_search,
            dns_options: self.dns_option,
            add_hosts: self.add_host,
            hostname: String::new(),
            aliases: self.network_alias,
        };
        endpoint::mode(&req).map_err(|e| fail125(e.to_string()))?;
        c.network_mode = match networks.first().map(String::as_str) {
            None | Some(network::DEFAULT) => String::new().into(),
            Some(n) => n.into(),
        };
        if req != endpoint::NetRequest::default() {
            c.net = Some(req);
        }
        Ok(())
    }
}

fn fail125(msg: String) -> CmdError {
    CmdError { msg, code: 125 }
}

/// `hull system check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Remove what is left over and re-apply missing rules.
    #[arg(long)]
    repair: bool,
}

/// Lists leftovers of crashes (crates/engine/src/check.rs: orphaned containers, runtime
/// states, mounts, bundles, cgroups; leases, ports, namespaces, stray veths, a missing nft
/// table); exit status 1 when some were found and not repaired.
pub fn check(paths: &Paths, args: CheckArgs) -> CmdResult {
    let eng = super::engine(paths)?;
    let r = eng.check(args.repair)?;
    for f in &r.found {
        println!("{}{f}", if args.repair { "repaired: " } else { "" });
    }
    if !r.errors.is_empty() {
        return Err(fail(r.errors.join("; ")));
    }
    if r.found.is_empty() {
        println!("no leftovers");
    } else if !args.repair {
        return Err(fail(format!(
            "{} leftovers (hull system check --repair removes them)",
            r.found.len()
        )));
    }
    Ok(())
}
