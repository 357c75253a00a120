//! `POST /containers/create`: docker's Config, HostConfig and NetworkingConfig mapped to the
//! engine's create request. A field hull does not carry out is refused (400, naming it)
//! unless it holds its zero value, which is what the client sends for every flag not given.

use std::collections::BTreeMap;

use hull_engine::container::config::{
    MountKind, MountSpec, NsMode, Propagation, Restart, RestartPolicy, Ulimit,
};
use hull_engine::container::create::Request;
use hull_engine::container::health::HealthConfig;
use hull_engine::network::{self, endpoint::NetRequest};
use hull_engine::RunConfig;
use hull_format::parse;
use serde_json::{Map, Value};

use crate::ApiError;

/// Config fields used, or informational (Attach*, StdinOnce: the attach request says it).
const CONFIG_FIELDS: &[&str] = &[
    "Hostname",
    "Domainname",
    "User",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Cmd",
    "Image",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "Labels",
    "StopSignal",
    "StopTimeout",
    "ExposedPorts",
    "ArgsEscaped",
    "Healthcheck",
    "HostConfig",
    "NetworkingConfig",
];

const HOST_FIELDS: &[&str] = &[
    "Binds",
    "Mounts",
    "Tmpfs",
    "NetworkMode",
    "PortBindings",
    "PublishAllPorts",
    "RestartPolicy",
    "AutoRemove",
    "Privileged",
    "ReadonlyRootfs",
    "CapAdd",
    "CapDrop",
    "Memory",
    "MemorySwap",
    "NanoCpus",
    "CpuShares",
    "CpusetCpus",
    "PidsLimit",
    "Init",
    "Dns",
    "DnsSearch",
    "DnsOptions",
    "ExtraHosts",
    "PidMode",
    "IpcMode",
    "UTSMode",
    "SecurityOpt",
    "Sysctls",
    "Ulimits",
    "LogConfig",
    "ConsoleSize",
    "VolumesFrom",
    "Links",
    "CgroupnsMode",
    // Defaults the client always sends: the host's own choice is what hull does.
    "Isolation",
    "MemorySwappiness",
];

/// A value that asks for nothing: null, 0, false, "", and arrays/objects of those.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_zero),
        Value::Object(o) => o.values().all(is_zero),
    }
}

/// Refuses a field outside `known` that asks for something.
pub(crate) fn refuse_unknown(
    obj: &Map<String, Value>,
    prefix: &str,
    known: &[&str],
) -> Result<(), ApiError> {
    for (k, v) in obj {
        if !known.contains(&k.as_str()) && !is_zero(v) {
            return Err(ApiError::bad(format!("{prefix}{k}: not supported by hull")));
        }
    }
    Ok(())
}

fn strings(v: Option<&Value>, field: &str) -> Result<Vec<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(String::from)
                    .ok_or_else(|| ApiError::bad(format!("{field}: expected strings")))
            })
            .collect(),
        // docker accepts a single string for Cmd and Entrypoint.
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(_) => Err(ApiError::bad(format!("{field}: expected an array"))),
    }
}

fn string(o: &Map<String, Value>, k: &str) -> String {
    o.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn int(o: &Map<String, Value>, k: &str) -> i64 {
    o.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn boolean(o: &Map<String, Value>, k: &str) -> bool {
    o.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn string_map(o: &Map<String, Value>, k: &str) -> BTreeMap<String, String> {
    o.get(k)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn bad(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("{field}: {e}"))
}

/// The engine's create request from docker's body and the `name` query parameter.
pub fn request(body: &[u8], name: Option<&str>) -> Result<Request, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad("request body", e))?;
    let Some(cfg) = v.as_object() else {
        return Err(ApiError::bad("request body: expected an object"));
    };
    refuse_unknown(cfg, "", CONFIG_FIELDS)?;
    let image = string(cfg, "Image");
    if image.is_empty() {
        return Err(ApiError::bad("Image: required"));
    }
    let empty = Map::new();
    let host = cfg
        .get("HostConfig")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    refuse_unknown(host, "HostConfig.", HOST_FIELDS)?;
    let mut c = RunConfig {
        cmd: strings(cfg.get("Cmd"), "Cmd")?,
        env: strings(cfg.get("Env"), "Env")?,
        working_dir: string(cfg, "WorkingDir"),
        user: string(cfg, "User"),
        hostname: string(cfg, "Hostname"),
        domainname: string(cfg, "Domainname"),
        tty: boolean(cfg, "Tty"),
        open_stdin: boolean(cfg, "OpenStdin"),
        stop_signal: string(cfg, "StopSignal"),
        stop_timeout: cfg
            .get("StopTimeout")
            .and_then(Value::as_u64)
            .map(|t| t as u32),
        exposed_ports: cfg
            .get("ExposedPorts")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        ..Default::default()
    };
    if !c.working_dir.is_empty() && !c.working_dir.starts_with('/') {
        return Err(bad("WorkingDir", "must be an absolute path"));
    }
    if !c.stop_signal.is_empty() {
        parse::signal("StopSignal", &c.stop_signal).map_err(|e| bad("StopSignal", e))?;
    }
    host_config(host, &mut c)?;
    // Config.Healthcheck is docker's HealthConfig, which the engine's type reads as it is.
    // Clients send null for what they leave unset (compose: "Timeout": null).
    if let Some(h) = cfg.get("Healthcheck").and_then(Value::as_object) {
        let set: Map<String, Value> = h
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let h: HealthConfig =
            serde_json::from_value(Value::Object(set)).map_err(|e| bad("Healthcheck", e))?;
        h.validate().map_err(|e| bad("Healthcheck", e))?;
        c.healthcheck = Some(h);
    }
    c.volumes_from = strings(host.get("VolumesFrom"), "HostConfig.VolumesFrom")?;
    c.links = strings(host.get("Links"), "HostConfig.Links")?;
    // Config.Volumes: anonymous volumes (`-v /data`), except where a bind or mount of
    // HostConfig is (the Python SDK lists a bind's target in both, as docker 1.x wanted).
    if let Some(vols) = cfg.get("Volumes").and_then(Value::as_object) {
        let trim = |t: &str| t.trim_end_matches('/').to_string();
        for target in vols.keys() {
            if c.mounts.iter().any(|m| trim(&m.target) == trim(target)) {
                continue;
            }
            c.mounts.push(MountSpec {
                kind: MountKind::Volume,
                target: target.clone(),
                ..Default::default()
            });
        }
    }
    network_config(cfg, host, &mut c)?;
    let entrypoint = match cfg.get("Entrypoint") {
        None | Some(Value::Null) => None,
        v => {
            let ep = strings(v, "Entrypoint")?;
            Some(if ep == [""] { Vec::new() } else { ep })
        }
    };
    let labels = string_map(cfg, "Labels");
    Ok(Request {
        image,
        name: name.filter(|n| !n.is_empty()).map(String::from),
        entrypoint,
        config: c,
        labels,
    })
}

/// HostConfig.ConsoleSize `[rows, cols]`: the terminal's size at the start (the client's
/// resize comes only after it).
pub fn console_size(body: &[u8]) -> Option<(u16, u16)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let s = v.get("HostConfig")?.get("ConsoleSize")?.as_array()?;
    let n = |i: usize| {
        s.get(i)
            .and_then(Value::as_u64)
            .and_then(|x| u16::try_from(x).ok())
    };
    let (rows, cols) = (n(0)?, n(1)?);
    (rows > 0 && cols > 0).then_some((rows, cols))
}

fn host_config(h: &Map<String, Value>, c: &mut RunConfig) -> Result<(), ApiError> {
    c.auto_remove = boolean(h, "AutoRemove");
    c.privileged = boolean(h, "Privileged");
    c.read_only = boolean(h, "ReadonlyRootfs");
    c.cap_add = strings(h.get("CapAdd"), "HostConfig.CapAdd")?;
    c.cap_drop = strings(h.get("CapDrop"), "HostConfig.CapDrop")?;
    c.memory = int(h, "Memory");
    if c.memory > 0 && c.memory < 6 << 20 {
        return Err(bad(
            "HostConfig.Memory",
            "the minimum allowed memory limit is 6MB",
        ));
    }
    c.memory_swap = int(h, "MemorySwap");
    c.nano_cpus = int(h, "NanoCpus");
    c.cpu_shares = int(h, "CpuShares").max(0) as u64;
    let cpuset = string(h, "CpusetCpus");
    if !cpuset.is_empty() {
        c.cpuset_cpus = parse::cpuset(&cpuset).map_err(|e| bad("HostConfig.CpusetCpus", e))?;
    }
    c.pids_limit = int(h, "PidsLimit");
    // CgroupnsMode: "" leaves docker's default (private on cgroup v2, host on v1).
    let cgroupns = string(h, "CgroupnsMode");
    if !cgroupns.is_empty() {
        use hull_engine::container::cgroup::{parse_ns, Settings};
        Settings {
            ns: Some(parse_ns(&cgroupns).map_err(|e| bad("HostConfig.CgroupnsMode", e))?),
            ..Default::default()
        }
        .store(c);
    }
    c.init = boolean(h, "Init");
    for b in strings(h.get("Binds"), "HostConfig.Binds")? {
        c.mounts
            .push(parse::volume(&b).map_err(|e| bad("HostConfig.Binds", e))?);
    }
    if let Some(ms) = h.get("Mounts").and_then(Value::as_array) {
        for m in ms {
            c.mounts.push(mount(m)?);
        }
    }
    for (target, opts) in string_map(h, "Tmpfs") {
        let spec = match opts.is_empty() {
            true => target,
            false => format!("{target}:{opts}"),
        };
        c.mounts
            .push(parse::tmpfs(&spec).map_err(|e| bad("HostConfig.Tmpfs", e))?);
    }
    if let Some(r) = h.get("RestartPolicy").and_then(Value::as_object) {
        let name = string(r, "Name");
        let name = match name.as_str() {
            "" => Restart::No,
            _ => Restart::parse(&name)
                .ok_or_else(|| bad("HostConfig.RestartPolicy.Name", format!("{name:?}")))?,
        };
        c.restart = RestartPolicy {
            name,
            max_retries: int(r, "MaximumRetryCount").max(0) as u32,
        };
        if c.auto_remove && !c.restart.is_none() {
            return Err(ApiError::bad(
                "conflicting options: RestartPolicy and AutoRemove",
            ));
        }
    }
    c.pid_mode = ns(h, "PidMode")?;
    c.ipc_mode = ns(h, "IpcMode")?;
    c.uts_mode = ns(h, "UTSMode")?;
    for s in strings(h.get("SecurityOpt"), "HostConfig.SecurityOpt")? {
        match s.as_str() {
            "seccomp=unconfined" | "seccomp:unconfined" => c.seccomp = Some("unconfined".into()),
            "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true" => {
                c.no_new_privileges = true
            }
            _ => {
                return Err(bad(
                    "HostConfig.SecurityOpt",
                    format!("{s:?}: not supported by hull"),
                ))
            }
        }
    }
    c.sysctls = string_map(h, "Sysctls");
    if let Some(us) = h.get("Ulimits").and_then(Value::as_array) {
        for u in us {
            let u = u.as_object().unwrap_or(&Map::new()).clone();
            c.ulimits.push(Ulimit {
                name: string(&u, "Name"),
                soft: int(&u, "Soft").max(0) as u64,
                hard: int(&u, "Hard").max(0) as u64,
            });
        }
    }
    if let Some(l) = h.get("LogConfig").and_then(Value::as_object) {
        c.log_driver = string(l, "Type");
        c.log_opts = string_map(l, "Config");
        if !matches!(
            c.log_driver.as_str(),
            "" | "json-file" | "k8s-file" | "none"
        ) {
            return Err(bad(
                "HostConfig.LogConfig.Type",
                format!("{:?}: not supported by hull", c.log_driver),
            ));
        }
    }
    Ok(())
}

fn ns(h: &Map<String, Value>, k: &str) -> Result<NsMode, ApiError> {
    let field = format!("HostConfig.{k}");
    parse::ns_mode(&field, &string(h, k)).map_err(|e| bad(&field, e))
}

/// One HostConfig.Mounts entry (`--mount`).
fn mount(m: &Value) -> Result<MountSpec, ApiError> {
    let empty = Map::new();
    let o = m.as_object().unwrap_or(&empty);
    let kind = string(o, "Type");
    let Some(kind) = MountKind::parse(&kind) else {
        return Err(bad(
            "HostConfig.Mounts.Type",
            format!("{kind:?}: expected bind, volume or tmpfs"),
        ));
    };
    let target = string(o, "Target");
    if !target.starts_with('/') {
        return Err(bad("HostConfig.Mounts.Target", "must be an absolute path"));
    }
    let mut spec = MountSpec {
        kind,
        source: string(o, "Source"),
        target,
        read_only: boolean(o, "ReadOnly"),
        ..Default::default()
    };
    if let Some(p) = o
        .get("BindOptions")
        .and_then(|b| b.get("Propagation"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        spec.propagation = Some(Propagation::parse(p).ok_or_else(|| {
            bad(
                "HostConfig.Mounts.BindOptions.Propagation",
                format!("{p:?}: expected private, rprivate, shared, rshared, slave or rslave"),
            )
        })?);
    }
    if let Some(t) = o.get("TmpfsOptions").and_then(Value::as_object) {
        if let Some(size) = t.get("SizeBytes").and_then(Value::as_i64) {
            spec.options.push(format!("size={size}"));
        }
        if let Some(mode) = t.get("Mode").and_then(Value::as_u64) {
            spec.options.push(format!("mode={mode:o}"));
        }
    }
    Ok(spec)
}

/// NetworkMode, NetworkingConfig's endpoints, published ports and DNS, as the engine's
/// network request (what `hull run --network/-p/--dns` store).
fn network_config(
    cfg: &Map<String, Value>,
    h: &Map<String, Value>,
    c: &mut RunConfig,
) -> Result<(), ApiError> {
    let default_name = |n: &str| match n {
        "" | "default" | network::DEFAULT | network::OLD_DEFAULT => network::DEFAULT.to_string(),
        n => n.to_string(),
    };
    let mut networks = vec![default_name(&string(h, "NetworkMode"))];
    let mut aliases = Vec::new();
    let mut ip = None;
    let mut ip6 = None;
    let mut mac = None;
    if let Some(eps) = cfg
        .get("NetworkingConfig")
        .and_then(|n| n.get("EndpointsConfig"))
        .and_then(Value::as_object)
    {
        for (name, ep) in eps {
            let name = default_name(name);
            if !networks.contains(&name) {
                networks.push(name);
            }
            aliases.extend(strings(ep.get("Aliases"), "EndpointsConfig.Aliases")?);
            let (v4, v6) = crate::networks::endpoint_addresses(ep, "EndpointsConfig")?;
            ip = v4.or(ip);
            ip6 = v6.or(ip6);
            if let Some(m) = ep
                .get("MacAddress")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
            {
                mac = Some(m.to_string());
            }
        }
    }
    let mut publish = Vec::new();
    if let Some(pb) = h.get("PortBindings").and_then(Value::as_object) {
        for (port, binds) in pb {
            for b in binds.as_array().into_iter().flatten() {
                let host_ip = b.get("HostIp").and_then(Value::as_str).unwrap_or("");
                let host_port = b.get("HostPort").and_then(Value::as_str).unwrap_or("");
                let spec = match (host_ip, host_port) {
                    ("", "") => port.clone(),
                    ("", p) => format!("{p}:{port}"),
                    (i, p) => format!("{i}:{p}:{port}"),
                };
                publish.push(spec);
            }
        }
    }
    let req = NetRequest {
        networks: networks.clone(),
        ip,
        ip6,
        mac,
        publish,
        publish_all: boolean(h, "PublishAllPorts"),
        exposed: Vec::new(),
        dns: strings(h.get("Dns"), "HostConfig.Dns")?,
        dns_search: strings(h.get("DnsSearch"), "HostConfig.DnsSearch")?,
        dns_options: strings(h.get("DnsOptions"), "HostConfig.DnsOptions")?,
        add_hosts: strings(h.get("ExtraHosts"), "HostConfig.ExtraHosts")?,
        hostname: String::new(),
        aliases,
    };
    network::endpoint::mode(&req).map_err(|e| bad("HostConfig.NetworkMode", e))?;
    c.network_mode = match networks.first().map(String::as_str) {
        None | Some(network::DEFAULT) => String::new().into(),
        Some(n) => n.into(),
    };
    if req != NetRequest::default() {
        c.net = Some(req);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_docker_run_sends_maps_to_the_request() {
        let body = br#"{"Image":"busybox","Cmd":["sh","-c","exit 3"],"Tty":false,
            "Entrypoint":null,"Labels":{"a":"b"},"Volumes":{"/data":{}},
            "HostConfig":{"AutoRemove":true,"Binds":["vol1:/v:ro"],"NetworkMode":"default",
              "RestartPolicy":{"Name":"no","MaximumRetryCount":0},"LogConfig":{"Type":"","Config":{}},
              "PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"ConsoleSize":[0,0],
              "BlkioWeight":0,"OomKillDisable":false},
            "NetworkingConfig":{"EndpointsConfig":{}}}"#;
        let r = request(body, Some("x")).unwrap();
        assert_eq!(r.image, "busybox");
        assert_eq!(r.name.as_deref(), Some("x"));
        assert_eq!(r.config.cmd, ["sh", "-c", "exit 3"]);
        assert!(r.config.auto_remove);
        assert_eq!(r.config.mounts.len(), 2);
        assert!(r.config.mounts[0].read_only);
        assert_eq!(r.config.network_mode.to_string(), "");
        let net = serde_json::to_value(r.config.net.as_ref().unwrap()).unwrap();
        assert_eq!(net["publish"][0], "8080:80/tcp");
        assert_eq!(r.labels["a"], "b");
    }

    #[test]
    fn a_field_hull_does_not_do_is_refused_by_name() {
        let Err(e) = request(
            br#"{"Image":"busybox","HostConfig":{"BlkioWeight":300}}"#,
            None,
        ) else {
            panic!("BlkioWeight accepted");
        };
        assert_eq!(
            (e.status, e.message.as_str()),
            (400, "HostConfig.BlkioWeight: not supported by hull")
        );
        let Err(e) = request(br#"{"Image":"busybox","OnBuild":["RUN true"]}"#, None) else {
            panic!("OnBuild accepted");
        };
        assert_eq!(e.message, "OnBuild: not supported by hull");
        // What compose sends for a service's healthcheck, and the links and volumes_from.
        let r = request(
            br#"{"Image":"busybox","Healthcheck":{"Test":["CMD-SHELL","true"],
                "Interval":1000000000,"Retries":2,"Timeout":null},
                "HostConfig":{"VolumesFrom":["data:ro"],"Links":["db:database"]}}"#,
            None,
        )
        .unwrap();
        let h = r.config.healthcheck.unwrap();
        assert_eq!((h.test.len(), h.interval, h.retries), (2, 1_000_000_000, 2));
        assert_eq!(r.config.volumes_from, ["data:ro"]);
        assert_eq!(r.config.links, ["db:database"]);
        let Err(e) = request(
            br#"{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":-1}}"#,
            None,
        ) else {
            panic!("a negative interval accepted");
        };
        assert!(e.message.starts_with("Healthcheck: "), "{}", e.message);
    }
}
