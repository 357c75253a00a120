//! Typed instructions. Arguments stay unexpanded here: variables are substituted when the
//! stage runs, with the environment and build args of that point (see [`crate::lex`]).

use super::words::{json_array, name_values, quoted_words};
use super::{Heredoc, RawInstr};

/// `RUN`/`CMD`/`ENTRYPOINT`: the exec form (a JSON array) or the shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

impl Command {
    fn parse(rest: &str) -> Command {
        match json_array(rest) {
            Some(v) => Command::Exec(v),
            None => Command::Shell(rest.to_string()),
        }
    }

    /// The argv: the exec form as is, the shell form behind `shell` (`/bin/sh -c`).
    pub fn argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect(),
        }
    }
}

/// A `COPY`/`ADD` source: a path in the context (or the `--from` stage), or a heredoc body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    Path(String),
    Heredoc(Heredoc),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    pub srcs: Vec<CopySource>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    /// `ADD --checksum=sha256:...` of a URL source.
    pub checksum: Option<String>,
}

/// `HEALTHCHECK`: `NONE` or a test with its options (durations as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `["NONE"]`, `["CMD", ...]` or `["CMD-SHELL", "..."]`.
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instr {
    From {
        image: String,
        alias: Option<String>,
        platform: Option<String>,
    },
    Run {
        cmd: Command,
        network: Option<String>,
        /// `--mount=...`, BuildKit's.
        mounts: Vec<crate::mount::RunMount>,
    },
    Copy(CopyArgs),
    Add(CopyArgs),
    Env(Vec<(String, String)>),
    Arg(Vec<(String, Option<String>)>),
    Label(Vec<(String, String)>),
    Workdir(String),
    User(String),
    Cmd(Command),
    Entrypoint(Command),
    Shell(Vec<String>),
    Expose(Vec<String>),
    Volume(Vec<String>),
    StopSignal(String),
    Healthcheck(Health),
    Onbuild(String),
    Maintainer(String),
}

fn flag<'a>(r: &'a RawInstr, name: &str) -> Option<&'a str> {
    r.flags
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
}

fn known_flags(r: &RawInstr, allowed: &[&str]) -> Result<(), String> {
    match r.flags.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(format!("unknown flag: --{k}")),
        None => Ok(()),
    }
}

fn one_arg(r: &RawInstr, kw: &str) -> Result<String, String> {
    let t = r.rest.trim();
    if t.is_empty() {
        return Err(format!("{kw} requires exactly one argument"));
    }
    Ok(t.to_string())
}

/// `COPY`/`ADD`/`VOLUME` arguments: a JSON array or whitespace-separated words.
fn list(rest: &str) -> Vec<String> {
    json_array(rest).unwrap_or_else(|| rest.split_whitespace().map(String::from).collect())
}

impl Instr {
    pub fn from_raw(r: &RawInstr, escape: char) -> Result<Instr, String> {
        let kw = r.keyword.to_ascii_uppercase();
        let kw = kw.as_str();
        let no_flags = |r: &RawInstr| known_flags(r, &[]);
        Ok(match r.keyword.as_str() {
            "from" => {
                known_flags(r, &["platform"])?;
                let w: Vec<&str> = r.rest.split_whitespace().collect();
                let alias = match w.as_slice() {
                    [_] => None,
                    [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                    _ => return Err("FROM requires either one or three arguments".into()),
                };
                Instr::From {
                    image: w[0].to_string(),
                    alias: alias.map(|a| a.to_ascii_lowercase()),
                    platform: flag(r, "platform").map(String::from),
                }
            }
            "run" => {
                known_flags(r, &["network", "mount", "security"])?;
                if flag(r, "security").is_some() {
                    return Err("RUN --security is not supported".into());
                }
                let mounts = r
                    .flags
                    .iter()
                    .filter(|(k, _)| k == "mount")
                    .map(|(_, v)| crate::mount::parse(v.as_deref().unwrap_or("")))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("--mount: {e}"))?;
                if r.rest.trim().is_empty() {
                    return Err("RUN requires at least one argument".into());
                }
                Instr::Run {
                    cmd: run_command(r),
                    network: flag(r, "network").map(String::from),
                    mounts,
                }
            }
            "copy" | "add" => {
                let allowed: &[&str] = if kw == "COPY" {
                    &["from", "chown", "chmod", "link"]
                } else {
                    &["chown", "chmod", "link", "checksum"]
                };
                known_flags(r, allowed)?;
                let mut words = list(&r.rest);
                if words.len() < 2 {
                    return Err(format!("{kw} requires at least two arguments"));
                }
                let dest = words.pop().expect("two words");
                let srcs = words
                    .into_iter()
                    .map(|w| {
                        let name = w.trim_start_matches(|c: char| c.is_ascii_digit());
                        match name.strip_prefix("<<") {
                            Some(n) => r
                                .heredocs
                                .iter()
                                .find(|h| {
                                    n.trim_start_matches('-').trim_matches(['"', '\'']) == h.name
                                })
                                .map(|h| CopySource::Heredoc(h.clone()))
                                .unwrap_or(CopySource::Path(w)),
                            None => CopySource::Path(w),
                        }
                    })
                    .collect();
                let a = CopyArgs {
                    srcs,
                    dest,
                    from: flag(r, "from").map(String::from),
                    chown: flag(r, "chown").map(String::from),
                    chmod: flag(r, "chmod").map(String::from),
                    checksum: flag(r, "checksum").map(String::from),
                };
                if kw == "COPY" {
                    Instr::Copy(a)
                } else {
                    Instr::Add(a)
                }
            }
            "env" => {
                no_flags(r)?;
                Instr::Env(name_values(&r.rest, escape, kw)?)
            }
            "label" => {
                no_flags(r)?;
                Instr::Label(name_values(&r.rest, escape, kw)?)
            }
            "arg" => {
                no_flags(r)?;
                let words = quoted_words(&r.rest, escape);
                if words.is_empty() {
                    return Err("ARG requires at least one argument".into());
                }
                Instr::Arg(
                    words
                        .into_iter()
                        .map(|w| match w.split_once('=') {
                            Some((k, v)) => (k.to_string(), Some(v.to_string())),
                            None => (w, None),
                        })
                        .collect(),
                )
            }
            "workdir" => {
                no_flags(r)?;
                Instr::Workdir(one_arg(r, kw)?)
            }
            "user" => {
                no_flags(r)?;
                Instr::User(one_arg(r, kw)?)
            }
            "cmd" => {
                no_flags(r)?;
                Instr::Cmd(Command::parse(&r.rest))
            }
            "entrypoint" => {
                no_flags(r)?;
                Instr::Entrypoint(Command::parse(&r.rest))
            }
            "shell" => {
                no_flags(r)?;
                Instr::Shell(
                    json_array(&r.rest)
                        .filter(|v| !v.is_empty())
                        .ok_or("SHELL requires the arguments to be in JSON form")?,
                )
            }
            "expose" => {
                no_flags(r)?;
                let w: Vec<String> = r.rest.split_whitespace().map(String::from).collect();
                if w.is_empty() {
                    return Err("EXPOSE requires at least one argument".into());
                }
                Instr::Expose(w)
            }
            "volume" => {
                no_flags(r)?;
                let v = list(&r.rest);
                if v.is_empty() || v.iter().any(|s| s.trim().is_empty()) {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                Instr::Volume(v)
            }
            "stopsignal" => {
                no_flags(r)?;
                Instr::StopSignal(one_arg(r, kw)?)
            }
            "healthcheck" => {
                known_flags(
                    r,
                    &[
                        "interval",
                        "timeout",
                        "start-period",
                        "start-interval",
                        "retries",
                    ],
                )?;
                Instr::Healthcheck(health(r)?)
            }
            "onbuild" => {
                let inner = r.rest.trim();
                let k = inner
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                match k.as_str() {
                    "" => return Err("ONBUILD requires at least one argument".into()),
                    "ONBUILD" => {
                        return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into())
                    }
                    "FROM" | "MAINTAINER" => {
                        return Err(format!("{k} isn't allowed as an ONBUILD trigger"))
                    }
                    _ => {}
                }
                Instr::Onbuild(inner.to_string())
            }
            "maintainer" => {
                no_flags(r)?;
                Instr::Maintainer(one_arg(r, kw)?)
            }
            _ => return Err(format!("unknown instruction: {kw}")),
        })
    }
}

/// `RUN`'s command; a heredoc that is the whole command becomes the shell's script, as
/// BuildKit runs it; a heredoc fed to a command goes to the shell with its body.
fn run_command(r: &RawInstr) -> Command {
    let rest = r.rest.trim();
    match r.heredocs.as_slice() {
        [] => Command::parse(rest),
        [h] if rest
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with("<<")
            && !rest.contains(char::is_whitespace) =>
        {
            Command::Shell(h.content.clone())
        }
        hs => {
            let mut s = rest.to_string();
            s.push('\n');
            for h in hs {
                s.push_str(&h.content);
                s.push_str(&h.name);
                s.push('\n');
            }
            Command::Shell(s)
        }
    }
}

fn health(r: &RawInstr) -> Result<Health, String> {
    let rest = r.rest.trim();
    let (kind, args) = rest
        .split_once(char::is_whitespace)
        .map(|(k, a)| (k, a.trim()))
        .unwrap_or((rest, ""));
    let test = match kind.to_ascii_uppercase().as_str() {
        "NONE" if args.is_empty() && r.flags.is_empty() => vec!["NONE".to_string()],
        "NONE" => return Err("HEALTHCHECK NONE takes no arguments".into()),
        "CMD" => match Command::parse(args) {
            Command::Exec(v) if !v.is_empty() => {
                std::iter::once("CMD".to_string()).chain(v).collect()
            }
            Command::Shell(s) if !s.is_empty() => vec!["CMD-SHELL".to_string(), s],
            _ => return Err("HEALTHCHECK CMD requires a command".into()),
        },
        _ => return Err(format!("unknown type {kind:?} in HEALTHCHECK (try CMD)")),
    };
    let f = |n: &str| flag(r, n).map(String::from);
    Ok(Health {
        test,
        interval: f("interval"),
        timeout: f("timeout"),
        start_period: f("start-period"),
        start_interval: f("start-interval"),
        retries: f("retries"),
    })
}
