//! What the metadata instructions do to the image config (docker's dispatchers.go): `ENV`,
//! `LABEL`, `USER`, `WORKDIR`, `CMD`, `ENTRYPOINT`, `SHELL`, `EXPOSE`, `VOLUME`,
//! `STOPSIGNAL`, `HEALTHCHECK`, `ONBUILD`, `MAINTAINER`. Values are expanded first with the
//! stage's variables.

use serde_json::{json, Map, Value};

use crate::lex::{expand, expand_words, Vars};
use crate::parse::{Command, Health, Instr};

/// The variables an instruction sees: the image's `Env`, then the declared build args
/// (`ENV` wins over `ARG`).
pub struct StageVars<'a> {
    pub env: Vec<(String, String)>,
    pub args: &'a [(String, String)],
}

impl Vars for StageVars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        Vars::get(self.env.as_slice(), name).or_else(|| Vars::get(self.args, name))
    }
}

/// The image's `config.Env` as pairs.
pub fn env_pairs(cfg: &Value) -> Vec<(String, String)> {
    cfg["config"]["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|s| match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (s.to_string(), String::new()),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn obj<'a>(cfg: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let c = &mut cfg["config"];
    if !c[key].is_object() {
        c[key] = json!({});
    }
    c[key].as_object_mut().expect("object")
}

/// Go's `time.ParseDuration` for HEALTHCHECK's options, in nanoseconds.
pub fn duration_ns(s: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut rest = s;
    if rest == "0" {
        return Some(0);
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(total as i64)
}

fn health(h: &Health) -> Result<Value, String> {
    let mut m = Map::new();
    m.insert("Test".into(), json!(h.test));
    for (key, flag, v) in [
        ("Interval", "interval", &h.interval),
        ("Timeout", "timeout", &h.timeout),
        ("StartPeriod", "start-period", &h.start_period),
        ("StartInterval", "start-interval", &h.start_interval),
    ] {
        if let Some(v) = v {
            let ns = duration_ns(v).ok_or_else(|| format!("--{flag}: invalid duration {v:?}"))?;
            if ns != 0 {
                m.insert(key.into(), json!(ns));
            }
        }
    }
    if let Some(r) = &h.retries {
        let n: i64 = r
            .parse()
            .map_err(|_| format!("--retries: invalid number {r:?}"))?;
        if n != 0 {
            m.insert("Retries".into(), json!(n));
        }
    }
    Ok(Value::Object(m))
}

/// The process a `CMD`/`ENTRYPOINT`/`RUN` names: the exec form as is, the shell form behind
/// the stage's shell.
pub fn argv(c: &Command, shell: &[String]) -> Vec<String> {
    c.argv(shell)
}

/// WORKDIR's path: relative ones joined to the current working dir, then cleaned.
pub fn workdir(cur: &str, p: &str) -> String {
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{cur}/{p}")
    };
    match crate::ignore::clean(&joined).as_str() {
        "." => "/".into(),
        c => format!("/{c}"),
    }
}

/// Applies a metadata instruction; `cmd_set` tracks whether this stage set `CMD` (an
/// `ENTRYPOINT` then keeps it; otherwise it clears the base image's).
pub fn apply(
    cfg: &mut Value,
    ins: &Instr,
    vars: &StageVars<'_>,
    escape: char,
    shell: &mut Vec<String>,
    cmd_set: &mut bool,
) -> Result<(), String> {
    let x = |w: &str| expand(w, escape, vars);
    match ins {
        Instr::Env(pairs) => {
            let mut env = env_pairs(cfg);
            for (k, v) in pairs {
                let (k, v) = (x(k)?, x(v)?);
                match env.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(e) => e.1 = v,
                    None => env.push((k, v)),
                }
            }
            cfg["config"]["Env"] = json!(env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>());
        }
        Instr::Label(pairs) => {
            for (k, v) in pairs {
                let (k, v) = (x(k)?, x(v)?);
                obj(cfg, "Labels").insert(k, json!(v));
            }
        }
        Instr::User(u) => cfg["config"]["User"] = json!(x(u)?),
        Instr::Workdir(w) => {
            let cur = cfg["config"]["WorkingDir"]
                .as_str()
                .unwrap_or("")
                .to_string();
            cfg["config"]["WorkingDir"] = json!(workdir(&cur, &x(w)?));
        }
        Instr::Cmd(c) => {
            cfg["config"]["Cmd"] = json!(argv(c, shell));
            *cmd_set = true;
        }
        Instr::Entrypoint(c) => {
            cfg["config"]["Entrypoint"] = match c {
                Command::Shell(s) if s.trim().is_empty() => Value::Null,
                c => json!(argv(c, shell)),
            };
            if !*cmd_set {
                cfg["config"]["Cmd"] = Value::Null;
            }
        }
        Instr::Shell(s) => {
            *shell = s.clone();
            cfg["config"]["Shell"] = json!(s);
        }
        Instr::Expose(ports) => {
            for w in ports {
                for p in expand_words(w, escape, vars)? {
                    let (port, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                    if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit() || c == '-') {
                        return Err(format!("invalid containerPort: {port}"));
                    }
                    obj(cfg, "ExposedPorts")
                        .insert(format!("{port}/{}", proto.to_ascii_lowercase()), json!({}));
                }
            }
        }
        Instr::Volume(vols) => {
            for v in vols {
                let v = x(v)?;
                if v.trim().is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                obj(cfg, "Volumes").insert(v, json!({}));
            }
        }
        Instr::StopSignal(s) => cfg["config"]["StopSignal"] = json!(x(s)?),
        Instr::Healthcheck(h) => cfg["config"]["Healthcheck"] = health(h)?,
        Instr::Onbuild(t) => {
            let (k, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
            let trigger = format!("{} {}", k.to_ascii_uppercase(), rest.trim_start());
            let c = &mut cfg["config"];
            if !c["OnBuild"].is_array() {
                c["OnBuild"] = json!([]);
            }
            c["OnBuild"]
                .as_array_mut()
                .expect("array")
                .push(json!(trigger));
        }
        Instr::Maintainer(m) => cfg["author"] = json!(x(m)?),
        _ => return Err("not a metadata instruction".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Dockerfile;

    fn run(src: &str) -> Value {
        let df = Dockerfile::parse("Dockerfile", src).unwrap();
        let mut cfg = json!({"config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]}});
        let args = vec![("V".to_string(), "9".to_string())];
        let mut shell = vec!["/bin/sh".to_string(), "-c".to_string()];
        let mut cmd_set = false;
        for (_, i) in &df.instrs[1..] {
            let vars = StageVars {
                env: env_pairs(&cfg),
                args: &args,
            };
            apply(&mut cfg, i, &vars, df.escape, &mut shell, &mut cmd_set).unwrap();
        }
        cfg
    }

    #[test]
    fn env_sees_values_before_the_instruction() {
        let c = run("FROM x\nENV A=1\nENV A=2 B=$A C=${V}\nENV PATH=/usr/bin:$PATH\n");
        assert_eq!(
            c["config"]["Env"],
            json!(["PATH=/usr/bin:/bin", "A=2", "B=1", "C=9"])
        );
    }

    #[test]
    fn entrypoint_clears_inherited_cmd_only() {
        let c = run("FROM x\nENTRYPOINT [\"a\"]\n");
        assert_eq!(c["config"]["Cmd"], Value::Null);
        let c = run("FROM x\nCMD b\nENTRYPOINT a\n");
        assert_eq!(c["config"]["Cmd"], json!(["/bin/sh", "-c", "b"]));
        assert_eq!(c["config"]["Entrypoint"], json!(["/bin/sh", "-c", "a"]));
        let c = run("FROM x\nSHELL [\"/bin/ash\", \"-eo\"]\nCMD b\n");
        assert_eq!(c["config"]["Cmd"], json!(["/bin/ash", "-eo", "b"]));
    }

    #[test]
    fn workdir_ports_volumes_health() {
        let c = run("FROM x\nWORKDIR /a\nWORKDIR b/../c\nEXPOSE 80 53/UDP\nVOLUME /v $V\nHEALTHCHECK --interval=1m30s --retries=2 CMD true\nSTOPSIGNAL SIG$V\nLABEL \"a b\"=\"c d\"\nONBUILD run x\n");
        assert_eq!(c["config"]["WorkingDir"], json!("/a/c"));
        assert_eq!(
            c["config"]["ExposedPorts"],
            json!({"80/tcp": {}, "53/udp": {}})
        );
        assert_eq!(c["config"]["Volumes"], json!({"/v": {}, "9": {}}));
        assert_eq!(
            c["config"]["Healthcheck"],
            json!({"Test": ["CMD-SHELL", "true"], "Interval": 90_000_000_000i64, "Retries": 2})
        );
        assert_eq!(c["config"]["StopSignal"], json!("SIG9"));
        assert_eq!(c["config"]["Labels"], json!({"a b": "c d"}));
        assert_eq!(c["config"]["OnBuild"], json!(["RUN x"]));
        assert_eq!(workdir("", "rel"), "/rel");
        assert_eq!(workdir("/", "/"), "/");
    }
}
