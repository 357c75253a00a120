//! The flags `create` and `run` share (docker's), turned into an engine create request; and
//! `--detach-keys`, which `run`, `start`, `attach` and `exec` share.

use std::collections::BTreeMap;

use hull_engine::container::create::Request;
use hull_engine::RunConfig;
use hull_format::parse;

use super::CmdError;

/// docker's `--detach-keys`.
#[derive(clap::Args)]
pub struct DetachKeys {
    /// Override the key sequence for detaching a container (docker's form: "ctrl-p,ctrl-q").
    #[arg(long = "detach-keys", default_value = hull_term::attach::DEFAULT_DETACH_KEYS)]
    detach_keys: String,
}

impl DetachKeys {
    /// The key codes (none: detaching is off), or the value's one-line error.
    pub fn parse(&self) -> Result<Vec<u8>, CmdError> {
        hull_term::attach::parse_detach_keys(&self.detach_keys).map_err(CmdError::new)
    }
}

#[derive(clap::Args, Default)]
pub struct CreateFlags {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Run the container in this pod (sharing its namespaces; see `hull pod`).
    #[arg(long)]
    pub pod: Option<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables.
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Bind mount a volume.
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container.
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Mount a tmpfs directory.
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Memory limit.
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Add Linux capabilities.
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    pub privileged: bool,
    /// Security options (seccomp=FILE|unconfined, no-new-privileges).
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Ulimit options.
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Sysctl options.
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Add a host device to the container.
    #[arg(long)]
    pub device: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    pub init: bool,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// User namespace to use (host, or private with --uidmap/--gidmap).
    #[arg(long)]
    pub userns: Option<String>,
    /// UID map for the user namespace (CONTAINER:HOST:SIZE).
    #[arg(long)]
    pub uidmap: Vec<String>,
    /// GID map for the user namespace.
    #[arg(long)]
    pub gidmap: Vec<String>,
    /// PID namespace to use.
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC mode to use.
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use.
    #[arg(long)]
    pub uts: Option<String>,
    /// Cgroup namespace: private (the default on cgroup v2) or host (the default on v1).
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// The container's parent cgroup: a slice ("name.slice") with the systemd cgroup
    /// manager, a path with cgroupfs.
    #[arg(long = "cgroup-parent")]
    pub cgroup_parent: Option<String>,
    /// Networking (--network, -p, -P, --ip, --dns...): cmd/network.rs.
    #[command(flatten)]
    pub net: super::network::NetFlags,
    /// Set meta data on a container.
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<String>,
    /// Logging driver for the container (json-file, k8s-file, none).
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options.
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    #[command(flatten)]
    pub clock: super::clock::ClockFlags,
    /// --oom-score-adj, --group-add, --shm-size, the finer cgroup limits: cmd/limits.rs.
    #[command(flatten)]
    pub limits: super::limits::LimitFlags,
    /// Container NIS domain name.
    #[arg(long)]
    pub domainname: Option<String>,
    /// Read in a line delimited file of labels.
    #[arg(long = "label-file")]
    pub label_file: Vec<String>,
    /// Expose a port or a range of ports.
    #[arg(long)]
    pub expose: Vec<String>,
    /// Set platform if server is multi-platform capable (only this machine's).
    #[arg(long)]
    pub platform: Option<String>,
    /// GPU devices to add to the container (not supported).
    #[arg(long)]
    pub gpus: Option<String>,
}

fn bad(flag: &str, v: &str, why: &str) -> CmdError {
    CmdError::new(format!("invalid {flag} {v:?}: {why}"))
}

impl CreateFlags {
    /// The engine request for IMAGE [COMMAND...].
    pub fn request(self, image: String, cmd: Vec<String>) -> Result<Request, CmdError> {
        let mut c = RunConfig {
            cmd,
            tty: self.tty,
            open_stdin: self.interactive,
            auto_remove: self.rm,
            read_only: self.read_only,
            privileged: self.privileged,
            init: self.init,
            cap_add: self.cap_add,
            cap_drop: self.cap_drop,
            uidmap: self.uidmap,
            gidmap: self.gidmap,
            ..Default::default()
        };
        for f in &self.env_file {
            c.env.extend(parse::env_file(f)?);
        }
        c.env
            .extend(self.env.iter().filter_map(|e| parse::env_entry(e)));
        c.working_dir = self.workdir.unwrap_or_default();
        if !c.working_dir.is_empty() && !c.working_dir.starts_with('/') {
            return Err(bad("--workdir", &c.working_dir, "must be an absolute path"));
        }
        c.user = self.user.unwrap_or_default();
        c.hostname = self.hostname.unwrap_or_default();
        for v in &self.volume {
            c.mounts.push(parse::volume(v)?);
        }
        for m in &self.mount {
            c.mounts.push(parse::mount(m)?);
        }
        for t in &self.tmpfs {
            c.mounts.push(parse::tmpfs(t)?);
        }
        if let Some(m) = &self.memory {
            c.memory = parse::bytes("--memory", m)?;
            if c.memory > 0 && c.memory < 6 << 20 {
                return Err(bad(
                    "--memory",
                    m,
                    "the minimum allowed memory limit is 6MB",
                ));
            }
        }
        if let Some(s) = &self.memory_swap {
            c.memory_swap = parse::swap(s)?;
        }
        if let Some(s) = &self.cpus {
            c.nano_cpus = parse::nano_cpus(s)?;
        }
        if let Some(s) = &self.cpu_shares {
            c.cpu_shares = s
                .parse()
                .map_err(|_| bad("--cpu-shares", s, "expected a number"))?;
        }
        if let Some(s) = &self.cpuset_cpus {
            c.cpuset_cpus = parse::cpuset(s)?;
        }
        if let Some(s) = &self.pids_limit {
            c.pids_limit = s
                .parse()
                .map_err(|_| bad("--pids-limit", s, "expected a number"))?;
        }
        for o in &self.security_opt {
            let (k, v) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
            match (k, v) {
                ("seccomp", "unconfined") => c.seccomp = Some("unconfined".into()),
                ("seccomp", file) if !file.is_empty() => {
                    let text = std::fs::read_to_string(file).map_err(|e| {
                        bad("--security-opt", o, &format!("seccomp profile {file}: {e}"))
                    })?;
                    c.seccomp = Some(text);
                }
                ("no-new-privileges", "" | "true") => c.no_new_privileges = true,
                ("no-new-privileges", "false") => c.no_new_privileges = false,
                ("label", _) | ("apparmor", "unconfined") => {}
                _ => {
                    return Err(bad(
                        "--security-opt",
                        o,
                        "expected seccomp=FILE|unconfined or no-new-privileges",
                    ))
                }
            }
        }
        for u in &self.ulimit {
            c.ulimits.push(parse::ulimit(u)?);
        }
        for s in &self.sysctl {
            let (k, v) = parse::key_value("--sysctl", s)?;
            c.sysctls.insert(k, v);
        }
        for d in &self.device {
            c.devices.push(parse::device(d)?);
        }
        if let Some(r) = &self.restart {
            c.restart = parse::restart(r)?;
            if c.auto_remove && !c.restart.is_none() {
                return Err(CmdError::new(
                    "conflicting options: --restart and --rm".into(),
                ));
            }
        }
        if let Some(u) = &self.userns {
            match u.as_str() {
                "" | "host" | "private" => c.userns = u.clone(),
                _ => {
                    return Err(bad(
                        "--userns",
                        u,
                        "expected host or private (with --uidmap/--gidmap)",
                    ))
                }
            }
        }
        c.pid_mode = parse::ns_mode("--pid", self.pid.as_deref().unwrap_or(""))?;
        c.ipc_mode = parse::ns_mode("--ipc", self.ipc.as_deref().unwrap_or(""))?;
        c.uts_mode = parse::ns_mode("--uts", self.uts.as_deref().unwrap_or(""))?;
        if c.uts_mode.is_host() && !c.hostname.is_empty() {
            return Err(CmdError::new(
                "conflicting options: --hostname and --uts=host".into(),
            ));
        }
        self.net.apply(&mut c)?;
        let mut labels = BTreeMap::new();
        for f in &self.label_file {
            for l in parse::env_file(f)? {
                let (k, v) = parse::label(&l)?;
                labels.insert(k, v);
            }
        }
        for l in &self.label {
            let (k, v) = parse::label(l)?;
            labels.insert(k, v);
        }
        if let Some(s) = &self.stop_signal {
            parse::signal("--stop-signal", s)?;
            c.stop_signal = s.clone();
        }
        if let Some(s) = &self.stop_timeout {
            c.stop_timeout = Some(
                s.parse()
                    .map_err(|_| bad("--stop-timeout", s, "expected seconds"))?,
            );
        }
        if let Some(d) = &self.log_driver {
            match d.as_str() {
                "json-file" | "k8s-file" | "none" => c.log_driver = d.clone(),
                _ => {
                    return Err(bad(
                        "--log-driver",
                        d,
                        "expected json-file, k8s-file or none",
                    ))
                }
            }
        }
        for o in &self.log_opt {
            let (k, v) = parse::key_value("--log-opt", o)?;
            c.log_opts.insert(k, v);
        }
        let entrypoint = self
            .entrypoint
            .map(|e| if e.is_empty() { Vec::new() } else { vec![e] });
        self.clock.store(&mut c)?;
        c.tuning = self.limits.tuning()?;
        c.domainname = self.domainname.unwrap_or_default();
        for e in &self.expose {
            c.exposed_ports.extend(expose(e)?);
        }
        if self.gpus.is_some() {
            return Err(CmdError::new(
                "--gpus is not supported: hull has no GPU device support".into(),
            ));
        }
        if let Some(p) = &self.platform {
            let want = format!("linux/{}", super::image::go_arch());
            if p != &want && p != "linux" {
                return Err(bad("--platform", p, &format!("only {want} is supported")));
            }
        }
        hull_engine::container::cgroup::Settings {
            manager: None,
            parent: self.cgroup_parent.unwrap_or_default(),
            ns: match &self.cgroupns {
                Some(n) => hull_engine::container::cgroup::parse_ns(n).map_err(CmdError::new)?,
                None => String::new(),
            },
        }
        .store(&mut c);
        Ok(Request {
            image,
            name: self.name,
            entrypoint,
            config: c,
            labels,
        })
    }
}

/// `--expose PORT[/PROTO]` or a range `FROM-TO[/PROTO]`: ExposedPorts keys ("80/tcp").
fn expose(s: &str) -> Result<Vec<String>, CmdError> {
    let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    if !matches!(proto, "tcp" | "udp" | "sctp") {
        return Err(bad("--expose", s, "the protocol must be tcp, udp or sctp"));
    }
    let (from, to) = ports.split_once('-').unwrap_or((ports, ports));
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("--expose", s, "expected a port (1-65535) or a range"))
    };
    let (from, to) = (port(from)?, port(to)?);
    if from > to {
        return Err(bad("--expose", s, "the range's end is before its start"));
    }
    Ok((from..=to).map(|p| format!("{p}/{proto}")).collect())
}
