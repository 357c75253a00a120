//! Parsers for the values of docker's flags. Each error names the flag and the value:
//! `invalid --memory "abc": ...`.

use hull_engine::container::config::{
    DeviceSpec, MountKind, MountSpec, NsMode, Propagation, Restart, RestartPolicy, Ulimit,
};

#[derive(Debug, thiserror::Error)]
#[error("invalid {flag} {value:?}: {reason}")]
pub struct FlagError {
    pub flag: String,
    pub value: String,
    pub reason: String,
}

pub type Result<T> = std::result::Result<T, FlagError>;

fn err<T>(flag: &str, value: &str, reason: impl Into<String>) -> Result<T> {
    Err(FlagError {
        flag: flag.into(),
        value: value.into(),
        reason: reason.into(),
    })
}

/// docker's RAMInBytes: "512", "64k", "1.5g", "100MB" (binary units).
pub fn bytes(flag: &str, s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    match num.parse::<f64>() {
        // 2^63 bytes and more do not fit the kernel's (and docker's) signed 64-bit count.
        Ok(n) if n >= 0.0 && n * mult as f64 >= i64::MAX as f64 => {
            err(flag, s, "too large: at most 8191p")
        }
        Ok(n) if n >= 0.0 && n.is_finite() => Ok((n * mult as f64) as i64),
        _ => err(flag, s, "expected a size such as 512m, 1g or 1048576"),
    }
}

/// `--memory-swap`: a size, or -1 for unlimited.
pub fn swap(s: &str) -> Result<i64> {
    if s.trim() == "-1" {
        return Ok(-1);
    }
    bytes("--memory-swap", s)
}

/// `--cpus 1.5` -> nano cpus.
pub fn nano_cpus(s: &str) -> Result<i64> {
    match s.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 4096.0 => Ok((n * 1e9).round() as i64),
        Ok(_) => err("--cpus", s, "must be a positive number of CPUs"),
        Err(_) => err("--cpus", s, "expected a number such as 0.5 or 2"),
    }
}

/// `--cpuset-cpus 0-1,3`.
pub fn cpuset(s: &str) -> Result<String> {
    let ok = !s.is_empty()
        && s.split(',').all(|part| {
            let mut it = part.splitn(2, '-');
            let a = it.next().map(|x| x.parse::<u32>().is_ok()).unwrap_or(false);
            let b = it.next().map(|x| x.parse::<u32>().is_ok()).unwrap_or(true);
            a && b
        });
    if ok {
        Ok(s.into())
    } else {
        err("--cpuset-cpus", s, "expected a list such as 0-2,4")
    }
}

/// `--restart no|always|unless-stopped|on-failure[:N]`.
pub fn restart(s: &str) -> Result<RestartPolicy> {
    let (name, max) = match s.split_once(':') {
        Some((n, m)) => (n, Some(m)),
        None => (s, None),
    };
    let max_retries = match (name, max) {
        ("on-failure", Some(m)) => match m.parse::<u32>() {
            Ok(n) => n,
            Err(_) => return err("--restart", s, "the retry count must be a number"),
        },
        (_, Some(_)) => return err("--restart", s, "only on-failure takes a retry count"),
        _ => 0,
    };
    match Restart::parse(name) {
        Some(name) => Ok(RestartPolicy { name, max_retries }),
        None => err(
            "--restart",
            s,
            "expected no, always, unless-stopped or on-failure[:N]",
        ),
    }
}

/// `--ulimit nofile=1024[:2048]`.
pub fn ulimit(s: &str) -> Result<Ulimit> {
    let Some((name, vals)) = s.split_once('=') else {
        return err("--ulimit", s, "expected NAME=SOFT[:HARD]");
    };
    if !hull_engine::container::config::ULIMIT_NAMES.contains(&name) {
        return err("--ulimit", s, format!("unknown limit {name:?}"));
    }
    let num = |v: &str| -> Option<u64> {
        if v == "-1" || v == "unlimited" {
            Some(u64::MAX)
        } else {
            v.parse().ok()
        }
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a), num(b)),
        None => (num(vals), num(vals)),
    };
    match (soft, hard) {
        (Some(soft), Some(hard)) if soft <= hard => Ok(Ulimit {
            name: name.into(),
            soft,
            hard,
        }),
        (Some(_), Some(_)) => err("--ulimit", s, "the soft limit is above the hard limit"),
        _ => err("--ulimit", s, "limits must be numbers"),
    }
}

/// `KEY=VALUE` (sysctl, label, log-opt).
pub fn key_value(flag: &str, s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.into(), v.into())),
        _ => err(flag, s, "expected KEY=VALUE"),
    }
}

/// `--label k=v` (a bare key is an empty value, as docker's).
pub fn label(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.into(), v.into())),
        None if !s.is_empty() => Ok((s.into(), String::new())),
        _ => err("--label", s, "expected KEY=VALUE"),
    }
}

/// `--device /dev/x[:/dev/y][:rwm]`.
pub fn device(s: &str) -> Result<DeviceSpec> {
    let parts: Vec<&str> = s.split(':').collect();
    let is_perm = |p: &str| !p.is_empty() && p.chars().all(|c| "rwm".contains(c));
    let (host, container, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if is_perm(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] if is_perm(p) => (*h, *c, *p),
        _ => return err("--device", s, "expected HOST[:CONTAINER][:PERMISSIONS]"),
    };
    if !host.starts_with('/') || !container.starts_with('/') {
        return err("--device", s, "device paths must be absolute");
    }
    Ok(DeviceSpec {
        host: host.into(),
        container: container.into(),
        permissions: perms.into(),
    })
}

/// `-v SRC:DST[:OPTS]` or `-v DST` (an anonymous volume).
pub fn volume(s: &str) -> Result<MountSpec> {
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return err("--volume", s, "expected [SOURCE:]TARGET[:OPTIONS]"),
    };
    if !dst.starts_with('/') {
        return err("--volume", s, "the target must be an absolute path");
    }
    if parts.len() > 1 && src.is_empty() {
        return err("--volume", s, "the source is empty");
    }
    let mut m = MountSpec {
        kind: if src.starts_with('/') {
            MountKind::Bind
        } else {
            MountKind::Volume
        },
        source: src.into(),
        target: dst.into(),
        ..Default::default()
    };
    if !src.is_empty() && !src.starts_with('/') && !hull_engine::container::names::valid_name(src) {
        let why = format!(
            "a volume name must match {}+",
            hull_engine::container::names::NAME_CHARS
        );
        return err("--volume", s, &why);
    }
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "z" | "Z" | "nocopy" | "copy" => {}
            _ => match Propagation::parse(o) {
                Some(p) => m.propagation = Some(p),
                None => return err("--volume", s, format!("unknown option {o:?}")),
            },
        }
    }
    destination("--volume", s, &m)?;
    Ok(m)
}

/// `--mount type=bind|volume|tmpfs,source=..,target=..,readonly,bind-propagation=..,
/// tmpfs-size=..,tmpfs-mode=..`.
pub fn mount(s: &str) -> Result<MountSpec> {
    let mut m = MountSpec {
        kind: MountKind::Volume,
        ..Default::default()
    };
    let mut kind = None;
    for field in s.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k {
            "type" => kind = Some(v),
            "source" | "src" => m.source = v.into(),
            "target" | "destination" | "dst" => m.target = v.into(),
            "readonly" | "ro" => m.read_only = v.is_empty() || v == "true" || v == "1",
            "bind-propagation" if Propagation::parse(v).is_some() => {
                m.propagation = Propagation::parse(v)
            }
            "tmpfs-size" => {
                let n = bytes("--mount", v)?;
                m.options.push(format!("size={n}"));
            }
            "tmpfs-mode" => match u32::from_str_radix(v, 8) {
                Ok(_) => m.options.push(format!("mode={v}")),
                Err(_) => return err("--mount", s, "tmpfs-mode must be octal"),
            },
            "volume-nocopy" | "consistency" | "bind-nonrecursive" => {}
            _ => return err("--mount", s, format!("unknown field {k:?}")),
        }
    }
    if let Some(k) = kind {
        m.kind = match MountKind::parse(k) {
            Some(k) => k,
            None => return err("--mount", s, "type must be bind, volume or tmpfs"),
        };
    }
    if !m.target.starts_with('/') {
        return err("--mount", s, "target must be an absolute path");
    }
    if m.kind == MountKind::Bind && !m.source.starts_with('/') {
        return err("--mount", s, "a bind mount needs an absolute source");
    }
    destination("--mount", s, &m)?;
    Ok(m)
}

/// `--tmpfs /dst[:opts]`.
pub fn tmpfs(s: &str) -> Result<MountSpec> {
    let (dst, opts) = s.split_once(':').unwrap_or((s, ""));
    if !dst.starts_with('/') {
        return err("--tmpfs", s, "the target must be an absolute path");
    }
    let m = MountSpec {
        kind: MountKind::Tmpfs,
        target: dst.into(),
        options: opts
            .split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect(),
        ..Default::default()
    };
    destination("--tmpfs", s, &m)?;
    Ok(m)
}

/// A mount over /proc or under it only where runc allows one (`MountSpec::check_destination`).
fn destination(flag: &str, s: &str, m: &MountSpec) -> Result<()> {
    m.check_destination().or_else(|why| err(flag, s, why))
}

/// `--pid/--ipc/--uts host|container:NAME|private`, and `shareable` for `--ipc` (also
/// `HostConfig.IpcMode`) alone, as docker.
pub fn ns_mode(flag: &str, s: &str) -> Result<NsMode> {
    let ipc = flag == "--ipc" || flag.ends_with("IpcMode");
    let expected = if ipc {
        "expected host, private, shareable or container:NAME"
    } else {
        "expected host, private or container:NAME"
    };
    match NsMode::try_from(s.to_string()) {
        Ok(NsMode::Shareable) if !ipc => err(flag, s, expected),
        Ok(NsMode::Pod(_)) | Err(_) => err(flag, s, expected),
        Ok(m) => Ok(m),
    }
}

/// A signal name or number (`TERM`, `SIGTERM`, `15`).
pub fn signal(flag: &str, s: &str) -> Result<i32> {
    hull_engine::signal::number(s).or_else(|why| err(flag, s, why))
}

/// Lines of an `--env-file`: KEY=VALUE, bare KEY taken from hull's own environment, `#`
/// comments and blank lines skipped.
pub fn env_file(path: &str) -> Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return err("--env-file", path, e.to_string()),
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.extend(env_entry(line));
    }
    Ok(out)
}

/// `-e KEY=VALUE`, or `-e KEY` for hull's own value (dropped when unset, as docker's).
pub fn env_entry(s: &str) -> Option<String> {
    if s.contains('=') {
        return Some(s.into());
    }
    std::env::var(s).ok().map(|v| format!("{s}={v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shareable_is_an_ipc_mode_only() {
        assert_eq!(ns_mode("--ipc", "shareable").unwrap(), NsMode::Shareable);
        assert_eq!(
            ns_mode("HostConfig.IpcMode", "shareable").unwrap(),
            NsMode::Shareable
        );
        let e = ns_mode("--pid", "shareable").unwrap_err().to_string();
        assert!(
            e.contains("--pid") && e.contains("expected host, private or"),
            "{e}"
        );
        assert!(ns_mode("--ipc", "pod:x").is_err());
        assert!(ns_mode("--ipc", "bogus")
            .unwrap_err()
            .to_string()
            .contains("shareable"));
    }

    #[test]
    fn sizes_and_values() {
        assert_eq!(bytes("--memory", "64m").unwrap(), 64 << 20);
        assert_eq!(bytes("--memory", "1g").unwrap(), 1 << 30);
        assert_eq!(bytes("--memory", "100MB").unwrap(), 100 << 20);
        assert_eq!(bytes("--memory", "4096").unwrap(), 4096);
        let e = bytes("--memory", "abc").unwrap_err().to_string();
        assert!(e.starts_with("invalid --memory \"abc\": "), "{e}");
        assert_eq!(nano_cpus("1.5").unwrap(), 1_500_000_000);
        assert!(nano_cpus("-1").is_err());
        assert_eq!(restart("on-failure:2").unwrap().max_retries, 2);
        assert!(restart("sometimes").is_err());
        assert_eq!(ulimit("nofile=1024:2048").unwrap().hard, 2048);
        assert!(ulimit("nofile=9:1").is_err());
        assert_eq!(signal("-s", "SIGKILL").unwrap(), 9);
        assert_eq!(signal("-s", "hup").unwrap(), 1);
        assert!(signal("-s", "FOO").is_err());
        assert_eq!(volume("/a:/b:ro").unwrap().kind, MountKind::Bind);
        assert!(volume("/a:/b:ro").unwrap().read_only);
        assert_eq!(volume("data:/b").unwrap().kind, MountKind::Volume);
        assert!(volume("a:b").is_err());
        let m = mount("type=tmpfs,target=/t,tmpfs-size=1m").unwrap();
        assert_eq!(m.options, vec!["size=1048576"]);
        assert_eq!(device("/dev/null:/dev/n:r").unwrap().permissions, "r");
    }
}
