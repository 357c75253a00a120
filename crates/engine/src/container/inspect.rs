//! `hull inspect`'s document for a container, in docker's JSON shape, and the row `ps`
//! prints (also the data its --format templates see).

use hull_net::firewall::PortMapping;
use serde_json::{json, Value};

use crate::container::config::{MountKind, NetworkMode, NsMode};
use crate::container::{Container, Status};
use crate::engine::Engine;

/// docker's COMMAND (daemon/list.go): the program, then its arguments joined by spaces, each
/// one holding a space in single quotes.
pub fn command_line(c: &Container) -> String {
    let args = c.config.args();
    let mut parts = args.iter().take(1).cloned().collect::<Vec<_>>();
    for a in args.iter().skip(1) {
        parts.push(if a.contains(' ') {
            format!("'{a}'")
        } else {
            a.clone()
        });
    }
    parts.join(" ")
}

fn cmd_string(c: &Container) -> String {
    let s = command_line(c);
    format!(
        "\"{}\"",
        if s.len() > 20 {
            format!(
                "{}…",
                &s[..s.char_indices().nth(19).map(|(i, _)| i).unwrap_or(s.len())]
            )
        } else {
            s
        }
    )
}

/// docker's State (with `Health` when the container has a healthcheck).
fn state(c: &Container) -> Value {
    let mut v = json!({
        "Status": c.status.as_str(),
        "Running": matches!(c.status, Status::Running | Status::Paused | Status::Restarting),
        "Paused": c.status == Status::Paused,
        "Restarting": c.status == Status::Restarting,
        "OOMKilled": c.oom_killed,
        "Dead": c.status == Status::Dead,
        "Pid": c.pid,
        "ExitCode": c.exit_code,
        "Error": "",
        "StartedAt": c.started_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "FinishedAt": c.finished_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
    });
    if let Some(h) = &c.health {
        v["Health"] = json!(h);
    }
    v
}

fn mounts(eng: &Engine, c: &Container) -> Value {
    c.config
        .mounts
        .iter()
        .map(|m| {
            let source = match m.kind {
                MountKind::Volume => eng
                    .paths
                    .volume_dir(&m.source)
                    .join("_data")
                    .display()
                    .to_string(),
                MountKind::Tmpfs => String::new(),
                MountKind::Bind => m.source.clone(),
            };
            let mut v = json!({
                "Type": m.kind,
                "Source": source,
                "Destination": m.target,
                "Mode": if m.read_only { "ro" } else { "" },
                "RW": !m.read_only,
                "Propagation": m.propagation.map(|p| p.as_str()).unwrap_or_default(),
            });
            if m.kind == MountKind::Volume {
                v["Name"] = json!(m.source);
                v["Driver"] = json!("local");
            }
            v
        })
        .collect()
}

/// The whole `docker inspect` object.
pub fn inspect(eng: &Engine, c: &Container) -> Value {
    let cfg = &c.config;
    let hostname = std::fs::read_to_string(eng.paths.container_dir(&c.id).join("hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| c.short_id().to_string());
    let mut labels: serde_json::Map<String, Value> = cfg
        .image_labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    for (k, v) in &c.labels {
        labels.insert(k.clone(), json!(v));
    }
    let exposed: serde_json::Map<String, Value> = cfg
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    // Read once for HostConfig.PortBindings and NetworkSettings.Ports.
    let published = crate::network::endpoint::ports(&eng.paths, &c.id);
    let mut doc = json!({
        "Id": c.id,
        "Created": c.created,
        "Path": cfg.args().first().cloned().unwrap_or_default(),
        "Args": cfg.args().iter().skip(1).cloned().collect::<Vec<_>>(),
        "State": state(c),
        "Image": c.image_id,
        "ResolvConfPath": eng.paths.container_dir(&c.id).join("resolv.conf"),
        "HostnamePath": eng.paths.container_dir(&c.id).join("hostname"),
        "HostsPath": eng.paths.container_dir(&c.id).join("hosts"),
        "LogPath": eng.paths.log_file(&c.id),
        "Name": format!("/{}", c.name),
        "RestartCount": c.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "HostConfig": host_config(eng, c, &published),
        "Mounts": mounts(eng, c),
        "Config": {
            "Hostname": hostname,
            "Domainname": cfg.domainname,
            "User": cfg.user,
            "AttachStdin": cfg.open_stdin,
            "AttachStdout": true,
            "AttachStderr": true,
            "StdinOnce": false,
            "Volumes": Value::Null,
            "OnBuild": Value::Null,
            "Tty": cfg.tty,
            "OpenStdin": cfg.open_stdin,
            "Env": cfg.env,
            "Cmd": cfg.cmd,
            "Entrypoint": if cfg.entrypoint.is_empty() { Value::Null } else { json!(cfg.entrypoint) },
            "Image": c.image,
            "WorkingDir": cfg.working_dir,
            "Labels": labels,
            "StopSignal": cfg.stop_signal(),
            "StopTimeout": cfg.stop_timeout,
            "ExposedPorts": exposed,
        },
        "NetworkSettings": network_settings(eng, c, &exposed, &published),
        "ExecIDs": Value::Null,
        "Extra": extensions(cfg),
    });
    if let Some(h) = &cfg.healthcheck {
        doc["Config"]["Healthcheck"] = json!(h);
    }
    doc
}

/// docker's NetworkSettings: an entry per network the container is on (address, gateway,
/// MAC), the published ports by container port (exposed but unpublished ones as null), and,
/// as docker fills them for its default network, the first network's address at the top.
fn network_settings(
    eng: &Engine,
    c: &Container,
    exposed: &serde_json::Map<String, Value>,
    published: &[PortMapping],
) -> Value {
    let mut networks = serde_json::Map::new();
    let mut first: Option<Value> = None;
    let asked = crate::network::hooks::request(&c.config);
    for (i, l) in crate::network::lease::of_container(&eng.conn, &c.id)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let net = crate::network::get(&eng.conn, &l.network).ok().flatten();
        let mac = l
            .mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        let v6 = net.as_ref().and_then(|n| n.v6());
        // The addresses asked for (`--ip`, `--ip6`: the first network's), as docker keeps
        // them; null when none was.
        let mut ipam = serde_json::Map::new();
        if i == 0 {
            if let Some(ip) = asked.ip {
                ipam.insert("IPv4Address".into(), json!(ip.to_string()));
            }
            if let Some(ip6) = asked.ip6 {
                ipam.insert("IPv6Address".into(), json!(ip6.to_string()));
            }
        }
        let entry = json!({
            "IPAMConfig": if ipam.is_empty() { Value::Null } else { Value::Object(ipam) },
            "NetworkID": net.as_ref().map(|n| n.id.clone()).unwrap_or_default(),
            "IPAddress": l.ip.to_string(),
            "IPPrefixLen": net.as_ref().map(|n| n.subnet.prefix).unwrap_or(0),
            "Gateway": net.as_ref().map(|n| n.gateway.to_string()).unwrap_or_default(),
            "GlobalIPv6Address": l.ip6.filter(|_| v6.is_some()).map(|a| a.to_string()).unwrap_or_default(),
            "GlobalIPv6PrefixLen": v6.filter(|_| l.ip6.is_some()).map_or(0, |(s, _)| s.prefix),
            "IPv6Gateway": v6.filter(|_| l.ip6.is_some()).map(|(_, g)| g.to_string()).unwrap_or_default(),
            "MacAddress": mac,
            "Aliases": l.aliases,
        });
        first.get_or_insert_with(|| entry.clone());
        networks.insert(l.network.clone(), entry);
    }
    let mut ports: serde_json::Map<String, Value> =
        exposed.keys().map(|k| (k.clone(), Value::Null)).collect();
    for p in published {
        let key = format!("{}/{}", p.container_port, p.proto);
        let binding = json!({
            "HostIp": p.host_ip.map(|ip| ip.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
            "HostPort": p.host_port.to_string(),
        });
        match ports.get_mut(&key) {
            Some(Value::Array(v)) => v.push(binding),
            _ => {
                ports.insert(key, json!([binding]));
            }
        }
    }
    let top = |k: &str| first.as_ref().map(|f| f[k].clone()).unwrap_or(json!(""));
    json!({
        "Networks": networks,
        "Ports": ports,
        "SandboxKey": if c.pid > 0 { format!("/proc/{}/ns/net", c.pid) } else { String::new() },
        "IPAddress": top("IPAddress"),
        "IPPrefixLen": first.as_ref().map(|f| f["IPPrefixLen"].clone()).unwrap_or(json!(0)),
        "Gateway": top("Gateway"),
        "GlobalIPv6Address": top("GlobalIPv6Address"),
        "GlobalIPv6PrefixLen": first.as_ref().map(|f| f["GlobalIPv6PrefixLen"].clone()).unwrap_or(json!(0)),
        "IPv6Gateway": top("IPv6Gateway"),
        "MacAddress": top("MacAddress"),
    })
}

/// docker's `ps` PORTS column of `ports` (one container's published ports):
/// "0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp".
pub fn ports_column(ports: &[PortMapping]) -> String {
    ports
        .iter()
        .map(|p| {
            let ip = p
                .host_ip
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "0.0.0.0".into());
            format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.proto)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// docker's HostConfig.
fn host_config(eng: &Engine, c: &Container, published: &[PortMapping]) -> Value {
    let cfg = &c.config;
    let net = crate::network::hooks::request(cfg);
    // docker reports the swap limit the cgroup gets: twice the memory when only --memory
    // is given.
    let memory_swap = match (cfg.memory, cfg.memory_swap) {
        (m, 0) if m > 0 => m.saturating_mul(2),
        (_, s) => s,
    };
    let mut bindings = serde_json::Map::new();
    // As asked: `-p 8080:80` is one binding here, though published on `0.0.0.0` and `::`.
    let companion = |p: &PortMapping| {
        p.host_ip
            .is_some_and(|ip| ip.is_ipv6() && ip.is_unspecified())
            && published
                .iter()
                .any(|q| q.host_ip.is_none() && (q.host_port, q.proto) == (p.host_port, p.proto))
    };
    for p in published.iter().filter(|p| !companion(p)) {
        let binding = json!({
            "HostIp": p.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            "HostPort": p.host_port.to_string(),
        });
        let key = format!("{}/{}", p.container_port, p.proto);
        match bindings.get_mut(&key) {
            Some(Value::Array(v)) => v.push(binding),
            _ => {
                bindings.insert(key, json!([binding]));
            }
        }
    }
    let network_mode = match &cfg.network_mode {
        NetworkMode::Default => "private".to_string(),
        m => m.to_string(),
    };
    let mut hc = json!({
        "Binds": cfg.mounts.iter().filter(|m| m.kind == MountKind::Bind).map(|m| format!("{}:{}{}", m.source, m.target, if m.read_only { ":ro" } else { "" })).collect::<Vec<_>>(),
        "NetworkMode": network_mode,
        "Links": if cfg.links.is_empty() { Value::Null } else { json!(cfg.links.iter().map(|l| { let (n, a) = l.split_once(':').unwrap_or((l, l)); format!("/{n}:/{}/{a}", c.name) }).collect::<Vec<_>>()) },
        "VolumesFrom": if cfg.volumes_from.is_empty() { Value::Null } else { json!(cfg.volumes_from) },
        "RestartPolicy": { "Name": cfg.restart.name.as_str(), "MaximumRetryCount": cfg.restart.max_retries },
        "AutoRemove": cfg.auto_remove,
        "CapAdd": cfg.cap_add,
        "CapDrop": cfg.cap_drop,
        "IpcMode": if cfg.ipc_mode == NsMode::Default { "private".to_string() } else { cfg.ipc_mode.to_string() },
        "PidMode": cfg.pid_mode,
        "UTSMode": cfg.uts_mode,
        "UsernsMode": cfg.userns,
        "Privileged": cfg.privileged,
        "ReadonlyRootfs": cfg.read_only,
        "SecurityOpt": security_opts(c),
        "Tmpfs": cfg.mounts.iter().filter(|m| m.kind == MountKind::Tmpfs).map(|m| (m.target.clone(), json!(m.options.join(",")))).collect::<serde_json::Map<_, _>>(),
        "Memory": cfg.memory,
        "MemorySwap": memory_swap,
        "NanoCpus": cfg.nano_cpus,
        "CpuShares": cfg.cpu_shares,
        "CpusetCpus": cfg.cpuset_cpus,
        "PidsLimit": if cfg.pids_limit == 0 { Value::Null } else { json!(cfg.pids_limit) },
        "Ulimits": cfg.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
        "Sysctls": cfg.sysctls,
        "Devices": cfg.devices.iter().map(|d| json!({"PathOnHost": d.host, "PathInContainer": d.container, "CgroupPermissions": d.permissions})).collect::<Vec<_>>(),
        "CgroupParent": crate::container::cgroup::Settings::of(cfg).map(|s| s.parent).unwrap_or_default(),
        "CgroupnsMode": crate::container::cgroup::Settings::of(cfg).and_then(|s| s.ns).map_or("host", |n| n.as_str()),
        "Init": cfg.init,
        "LogConfig": { "Type": cfg.log_driver(), "Config": cfg.log_opts },
        "PortBindings": bindings,
        "PublishAllPorts": net.publish_all,
        "Dns": net.dns,
        "DnsSearch": net.dns_search,
        "ExtraHosts": if net.add_hosts.is_empty() { Value::Null } else { json!(net.add_hosts) },
    });
    if let (Some(hc), Value::Object(t)) = (
        hc.as_object_mut(),
        crate::container::tuning::host_config(&cfg.tuning),
    ) {
        hc.extend(t);
    }
    if let Some(hc) = hc.as_object_mut() {
        let rt = eng
            .runtime
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        for (k, v) in docker_defaults(cfg.privileged, &rt) {
            hc.entry(k).or_insert(v);
        }
    }
    hc
}

/// HostConfig keys docker always shows, for settings hull does not offer: their values
/// when unset (scripts read the keys).
fn docker_defaults(privileged: bool, runtime: &str) -> serde_json::Map<String, Value> {
    let paths = |p: &[&str]| if privileged { Value::Null } else { json!(p) };
    json!({
        "BlkioWeightDevice": [],
        "ConsoleSize": [0, 0],
        "ContainerIDFile": "",
        "CpuCount": 0,
        "CpuPercent": 0,
        "CpusetMems": "",
        "DeviceCgroupRules": Value::Null,
        "DeviceRequests": Value::Null,
        "IOMaximumBandwidth": 0,
        "IOMaximumIOps": 0,
        "Isolation": "",
        "KernelMemory": 0,
        "KernelMemoryTCP": 0,
        "Links": Value::Null,
        "MaskedPaths": paths(crate::bundle::spec::MASKED),
        "ReadonlyPaths": paths(crate::bundle::spec::READONLY),
        "MemorySwappiness": Value::Null,
        "Runtime": runtime,
        "VolumeDriver": "",
        "VolumesFrom": Value::Null,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn security_opts(c: &Container) -> Vec<String> {
    let mut v = Vec::new();
    match c.config.seccomp.as_deref() {
        Some("unconfined") => v.push("seccomp=unconfined".to_string()),
        Some(_) => v.push("seccomp=<file>".to_string()),
        None => {}
    }
    if c.config.no_new_privileges {
        v.push("no-new-privileges".into());
    }
    v
}

/// docker ps's "Up 3 seconds" / "Exited (0) 2 minutes ago" / "Created".
pub fn status_text(c: &Container) -> String {
    let since = |t: &Option<String>| {
        t.as_deref()
            .and_then(hull_clock::civil::parse_rfc3339)
            .map(|(s, _)| crate::time::human_duration(crate::time::now_secs() - s))
            .unwrap_or_default()
    };
    match c.status {
        Status::Created => "Created".into(),
        Status::Running => format!(
            "Up {}{}",
            since(&c.started_at),
            c.health
                .as_ref()
                .map(crate::container::health::status_suffix)
                .unwrap_or_default()
        ),
        Status::Paused => format!("Up {} (Paused)", since(&c.started_at)),
        Status::Restarting => format!("Restarting ({}) {} ago", c.exit_code, since(&c.finished_at)),
        Status::Exited => format!("Exited ({}) {} ago", c.exit_code, since(&c.finished_at)),
        Status::Dead => "Dead".into(),
    }
}

/// The fields `ps --format` templates see (docker's names).
pub fn ps_row(c: &Container) -> Value {
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": c.short_id(),
        "Image": c.image,
        "Command": cmd_string(c),
        "CreatedAt": c.created,
        "Ports": "",
        "State": c.status.as_str(),
        "Status": status_text(c),
        "Size": "",
        "Names": c.name,
        "Labels": labels.join(","),
        "Mounts": c.config.mounts.iter().map(|m| m.source.clone()).collect::<Vec<_>>().join(","),
        "Networks": match &c.config.network_mode { NetworkMode::Default => crate::network::DEFAULT.to_string(), m => m.to_string() },
    })
}

/// inspect's `Extra`: the settings hull keeps beside docker's, under the keys they had when
/// they were a map in the run config (`Clock`, `cgroup`, `net`, `pod`).
fn extensions(cfg: &crate::RunConfig) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(key.into(), v);
        }
    };
    put(hull_clock::KEY, cfg.clock.as_ref().map(|s| json!(s)));
    put("cgroup", cfg.cgroup.as_ref().map(|s| json!(s)));
    put("net", cfg.net.as_ref().map(|s| json!(s)));
    put("pod", cfg.pod.as_ref().map(|s| json!(s)));
    Value::Object(m)
}

impl Engine {
    /// `inspect`: docker's inspect document of the container `key`.
    pub fn inspect(&self, key: &str) -> crate::Result<Value> {
        let c = self.lookup(key)?;
        Ok(inspect(self, &c))
    }
}
