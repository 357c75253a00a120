//! `hull pod create|ps|inspect|start|stop|restart|kill|pause|unpause|rm|top|logs`, and the
//! `--pod` of run/create.

use hull_engine::container::logs;
use hull_engine::pod::{Pod, PodPlan, PortPlan, ShareSet};
use hull_engine::{Engine, Paths};
use hull_format::parse;

use super::{CmdError, CmdResult};

/// Manage pods: groups of containers sharing namespaces.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Create a pod (and start its infra).
    Create(Box<CreateArgs>),
    /// List pods.
    #[command(alias = "ls", alias = "list")]
    Ps(PsArgs),
    /// Show a pod's details as JSON.
    Inspect { pods: Vec<String> },
    /// Start pods (infra, then containers).
    Start { pods: Vec<String> },
    /// Stop pods (containers, then infra).
    Stop {
        #[arg(short = 't', long = "time")]
        time: Option<u32>,
        pods: Vec<String>,
    },
    /// Stop and start pods.
    Restart { pods: Vec<String> },
    /// Send a signal to every container of pods.
    Kill {
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        pods: Vec<String>,
    },
    /// Pause every container of pods.
    Pause { pods: Vec<String> },
    /// Unpause every container of pods.
    Unpause { pods: Vec<String> },
    /// Remove pods and their containers.
    Rm {
        #[arg(short, long)]
        force: bool,
        pods: Vec<String>,
    },
    /// The processes of a pod's containers.
    Top { pod: String },
    /// The logs of a pod's containers.
    Logs { pod: String },
    /// One reading of the resource use of a pod's containers.
    Stats {
        /// "json" for JSON.
        #[arg(long)]
        format: Option<String>,
        pod: String,
    },
}

#[derive(clap::Args)]
struct CreateArgs {
    #[arg(long)]
    name: Option<String>,
    /// The shared uts namespace's hostname (default: the pod's name).
    #[arg(long)]
    hostname: Option<String>,
    /// Namespaces to share: a list (uts,ipc,net,pid), or changes (+pid, -ipc); default
    /// uts,ipc,net.
    #[arg(long)]
    share: Option<String>,
    /// Publish a port of the pod: [IP:]HOST:CONTAINER[/PROTO].
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// A network name, none, or host.
    #[arg(long)]
    network: Option<String>,
    /// Memory limit of the whole pod (cgroup parent).
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// CPU limit of the whole pod.
    #[arg(long)]
    cpus: Option<String>,
    #[arg(short, long = "label")]
    label: Vec<String>,
    /// A user namespace of the pod's, joined by every container: CONTAINER:HOST:SIZE.
    #[arg(long)]
    uidmap: Vec<String>,
    #[arg(long)]
    gidmap: Vec<String>,
    /// host or private (with --uidmap/--gidmap).
    #[arg(long)]
    userns: Option<String>,
}

#[derive(clap::Args)]
struct PsArgs {
    /// Only ids.
    #[arg(short, long)]
    quiet: bool,
    /// "json" for JSON.
    #[arg(long)]
    format: Option<String>,
}

fn err(e: impl std::fmt::Display) -> CmdError {
    CmdError::new(e.to_string())
}

fn create(eng: &mut Engine, a: CreateArgs) -> CmdResult {
    let mut plan = PodPlan {
        name: a.name.unwrap_or_default(),
        hostname: a.hostname.unwrap_or_default(),
        restart_policy: String::new(),
        ..PodPlan::default()
    };
    if let Some(s) = &a.share {
        plan.share = ShareSet::parse(s).map_err(err)?;
    }
    match a.network.as_deref() {
        Some("host") => {
            plan.host_network = true;
            plan.share.net = false;
        }
        Some(n) => plan.network = n.into(),
        None => {}
    }
    for p in &a.publish {
        plan.ports.push(PortPlan::parse(p).map_err(CmdError::new)?);
    }
    if !plan.ports.is_empty() && (!plan.share.net || plan.network == "none") {
        return Err(CmdError::new(
            "-p: ports are published through the pod's shared network namespace".into(),
        ));
    }
    if let Some(m) = &a.memory {
        plan.memory = parse::bytes("--memory", m).map_err(err)?;
    }
    if let Some(c) = &a.cpus {
        plan.nano_cpus = parse::nano_cpus(c).map_err(err)?;
    }
    for l in &a.label {
        let (k, v) = parse::label(l).map_err(err)?;
        plan.labels.insert(k, v);
    }
    match a.userns.as_deref() {
        None | Some("private") => {}
        Some("host") if a.uidmap.is_empty() && a.gidmap.is_empty() => {}
        Some(u) => {
            return Err(CmdError::new(format!(
                "invalid --userns {u:?}: a pod takes host, or private with --uidmap/--gidmap"
            )))
        }
    }
    plan.uidmap = a.uidmap;
    plan.gidmap = a.gidmap;
    let p = eng.pod_create(plan).map_err(err)?;
    println!("{}", p.id);
    Ok(())
}

fn ps(eng: &Engine, a: PsArgs) -> CmdResult {
    let (pods, rows): (Vec<_>, Vec<_>) = eng.pod_list().map_err(err)?.into_iter().unzip();
    if a.quiet {
        for p in &pods {
            println!("{}", p.short_id());
        }
    } else if a.format.as_deref() == Some("json") {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
    } else {
        println!(
            "{:<14}{:<24}{:<11}{:<14}{:<30}# OF CONTAINERS",
            "POD ID", "NAME", "STATUS", "INFRA PID", "SHARED"
        );
        for r in rows {
            println!(
                "{:<14}{:<24}{:<11}{:<14}{:<30}{}",
                &r["Id"].as_str().unwrap_or("")[..12],
                r["Name"].as_str().unwrap_or(""),
                r["State"].as_str().unwrap_or(""),
                r["InfraPid"].to_string(),
                r["SharedNamespaces"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default(),
                r["NumContainers"]
            );
        }
    }
    Ok(())
}

/// Runs the verb `f` on every pod named; every failure is printed, the last one returned.
fn each(
    eng: &mut Engine,
    pods: &[String],
    mut f: impl FnMut(&mut Engine, &str) -> hull_engine::Result<Pod>,
) -> CmdResult {
    if pods.is_empty() {
        return Err(CmdError::new("requires at least one pod".into()));
    }
    let mut last = Ok(());
    for key in pods {
        let res = f(eng, key);
        match res {
            Ok(p) => println!("{}", p.id),
            Err(e) => {
                eprintln!("hull: {e}");
                last = Err(CmdError {
                    msg: String::new(),
                    code: 125,
                });
            }
        }
    }
    last
}

/// Two readings half a second apart (for CPU %) of every running container of the pod.
fn stats(eng: &Engine, key: &str, format: Option<&str>) -> CmdResult {
    let first: std::collections::BTreeMap<String, _> = eng
        .pod_stats(key)
        .map_err(err)?
        .into_iter()
        .map(|(c, s)| (c.id, s))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let rows: Vec<_> = eng
        .pod_stats(key)
        .map_err(err)?
        .iter()
        .map(|(c, cur)| super::stats::row(&c.id, &c.name, first.get(&c.id), cur))
        .collect();
    if format == Some("json") {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
        return Ok(());
    }
    println!(
        "{:<14}{:<24}{:<9}{:<24}{:<9}PIDS",
        "CONTAINER", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %"
    );
    for r in rows {
        let f = |k: &str| r[k].as_str().unwrap_or("").to_string();
        println!(
            "{:<14}{:<24}{:<9}{:<24}{:<9}{}",
            f("Container"),
            f("Name"),
            f("CPUPerc"),
            f("MemUsage"),
            f("MemPerc"),
            f("PIDs")
        );
    }
    Ok(())
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let mut eng = super::engine(paths)?;
    match a.cmd {
        Sub::Create(c) => create(&mut eng, *c),
        Sub::Ps(p) => ps(&eng, p),
        Sub::Inspect { pods } => {
            let mut out = Vec::new();
            for key in &pods {
                out.push(eng.pod_inspect(key).map_err(err)?);
            }
            let v = if out.len() == 1 {
                out.remove(0)
            } else {
                serde_json::Value::Array(out)
            };
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            Ok(())
        }
        Sub::Start { pods } => each(&mut eng, &pods, |e, p| e.pod_start(p)),
        Sub::Stop { time, pods } => each(&mut eng, &pods, |e, p| e.pod_stop(p, time)),
        Sub::Restart { pods } => each(&mut eng, &pods, |e, p| e.pod_restart(p)),
        Sub::Kill { signal, pods } => {
            let sig = parse::signal("--signal", &signal).map_err(err)?;
            each(&mut eng, &pods, |e, p| e.pod_kill(p, sig))
        }
        Sub::Pause { pods } => each(&mut eng, &pods, |e, p| e.pod_pause(p, true)),
        Sub::Unpause { pods } => each(&mut eng, &pods, |e, p| e.pod_pause(p, false)),
        Sub::Rm { force, pods } => each(&mut eng, &pods, |e, p| e.pod_remove(p, force)),
        Sub::Top { pod } => {
            let rows = eng.pod_top(&pod).map_err(err)?;
            println!("{:<24}{:<10}COMMAND", "CONTAINER", "PID");
            for (name, pid, cmd) in rows {
                println!("{name:<24}{pid:<10}{cmd}");
            }
            Ok(())
        }
        Sub::Stats { format, pod } => stats(&eng, &pod, format.as_deref()),
        Sub::Logs { pod } => {
            for c in eng.pod_members(&pod).map_err(err)? {
                eng.logs(&c.id, logs::Opts::default()).map_err(err)?;
            }
            Ok(())
        }
    }
}
