//! `hull events [--since T] [--until T] [-f K=V]... [--format T]`: the event log the verbs
//! write (crates/engine/src/events.rs), in docker's line format; without `--until` it
//! follows the log until interrupted. As docker: with neither `--since` nor `--until` only
//! new events are shown.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use hull_engine::{events, time::nanotime, time::since, Paths};
use hull_format::template;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use serde_json::{json, Value};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Show events created since this time (RFC 3339, a Unix time, or 10m before now).
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this time.
    #[arg(long)]
    until: Option<String>,
    /// Filter: type, event, container, image, label (KEY or KEY=VALUE); other keys are
    /// ignored, as docker 20.10 does.
    #[arg(short, long)]
    filter: Vec<String>,
    /// Go template applied to each event (fields Type, Action, Actor.ID,
    /// Actor.Attributes, Time, TimeNano...), or json.
    #[arg(long)]
    format: Option<String>,
}

/// `--filter`s by key: values of one key are alternatives, keys must all match.
fn parse_filters(list: &[String]) -> Result<BTreeMap<String, Vec<String>>, CmdError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in list {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CmdError::new(format!("bad format of filter (expected name=value): {f}"))
        })?;
        // docker 20.10 ignores the keys it does not know (and those hull does not have).
        if ["type", "event", "container", "image", "label"].contains(&k) {
            out.entry(k.into()).or_default().push(v.into());
        }
    }
    Ok(out)
}

fn matches(ev: &Value, filters: &BTreeMap<String, Vec<String>>) -> bool {
    let attr = |k: &str| {
        ev["Actor"]["Attributes"][k]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let id = ev["Actor"]["ID"].as_str().unwrap_or("");
    let typ = ev["Type"].as_str().unwrap_or("");
    filters.iter().all(|(k, vals)| {
        vals.iter().any(|v| match k.as_str() {
            "type" => typ == v,
            "event" => ev["Action"]
                .as_str()
                .is_some_and(|a| a == v || a.starts_with(&format!("{v}: "))),
            // docker's fuzzy match: the id or the name starts with the value.
            "container" => {
                typ == "container"
                    && (id.starts_with(v.as_str()) || attr("name").starts_with(v.as_str()))
            }
            "image" => {
                let name = attr(if typ == "image" { "name" } else { "image" });
                let bare = |s: &str| s.strip_suffix(":latest").unwrap_or(s).to_string();
                id == v || name == *v || bare(&name) == bare(v)
            }
            "label" => match v.split_once('=') {
                Some((lk, lv)) => attr(lk) == lv,
                None => ev["Actor"]["Attributes"].get(v.as_str()).is_some(),
            },
            _ => false,
        })
    })
}

/// docker's line: `TIME TYPE ACTION ID (k=v, ...)`, attributes sorted by key.
fn line(ev: &Value) -> String {
    let nanos = ev["timeNano"].as_i64().unwrap_or(0);
    let time = nanotime::format_unix(
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000) as u32,
    );
    let mut out = format!(
        "{time} {} {} {}",
        ev["Type"].as_str().unwrap_or(""),
        ev["Action"].as_str().unwrap_or(""),
        ev["Actor"]["ID"].as_str().unwrap_or("")
    );
    if let Some(a) = ev["Actor"]["Attributes"]
        .as_object()
        .filter(|a| !a.is_empty())
    {
        let attrs: Vec<String> = a
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        out.push_str(&format!(" ({})", attrs.join(", ")));
    }
    out
}

/// The event as templates see docker's Go struct (`.Status`, `.ID`, `.Time`...).
fn template_data(ev: &Value) -> Value {
    json!({
        "Status": ev["status"], "ID": ev["id"], "From": ev["from"], "Type": ev["Type"],
        "Action": ev["Action"], "Actor": ev["Actor"], "Scope": ev["scope"],
        "Time": ev["time"], "TimeNano": ev["timeNano"],
    })
}

struct Printer {
    since: Option<i128>,
    until: Option<i128>,
    filters: BTreeMap<String, Vec<String>>,
    template: Option<template::Template>,
}

impl Printer {
    /// Prints `text`'s events in the window; false once one is past `--until`.
    fn feed(&self, text: &str) -> Result<bool, CmdError> {
        let mut out = std::io::stdout().lock();
        for l in text.lines() {
            let Ok(ev) = serde_json::from_str::<Value>(l) else {
                continue;
            };
            let t = i128::from(ev["timeNano"].as_i64().unwrap_or(0));
            if self.until.is_some_and(|u| t > u) {
                return Ok(false);
            }
            if self.since.is_some_and(|s| t < s) || !matches(&ev, &self.filters) {
                continue;
            }
            let s = match &self.template {
                Some(tpl) => tpl.execute(&template_data(&ev))?,
                None => line(&ev),
            };
            writeln!(out, "{s}")?;
        }
        out.flush()?;
        Ok(true)
    }
}

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let now = since::now();
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| since::parse(s, now))
            .transpose()
            .map_err(|e| CmdError::new(format!("{flag}: {e}")).daemon())
    };
    let (since_t, until) = (time("--since", &a.since)?, time("--until", &a.until)?);
    let template = match a.format.as_deref() {
        None => None,
        Some("json") => Some(template::Template::parse("{{json .}}")?),
        Some(t) => Some(template::Template::parse(t)?),
    };
    let p = Printer {
        since: since_t,
        until,
        filters: parse_filters(&a.filter)?,
        template,
    };
    let [old, cur] = events::log_files(paths);
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
    std::fs::create_dir_all(&paths.root)?;
    inotify.add_watch(
        &paths.root,
        AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO,
    )?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&cur)?;
    if since_t.is_some() || until.is_some() {
        let mut text = std::fs::read_to_string(&old).unwrap_or_default();
        file.read_to_string_at_end(&mut text)?;
        if !p.feed(&text)? {
            return Ok(());
        }
    } else {
        file.seek(SeekFrom::End(0))?;
    }
    loop {
        if until.is_some_and(|u| since::now() >= u) {
            return Ok(());
        }
        let wait = match until {
            Some(u) => {
                PollTimeout::try_from(((u - since::now()) / 1_000_000).clamp(1, 60_000) as i32)
                    .unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, wait).is_err() {
            continue;
        }
        let _ = inotify.read_events();
        let mut text = String::new();
        file.read_to_string_at_end(&mut text)?;
        // Rotated: the rest of the old file was read above; go on with the new one.
        let rotated = std::fs::metadata(&cur)
            .is_ok_and(|m| m.ino() != file.metadata().map(|f| f.ino()).unwrap_or(0));
        if rotated {
            file = std::fs::File::open(&cur)?;
            file.read_to_string_at_end(&mut text)?;
        }
        if !p.feed(&text)? {
            return Ok(());
        }
    }
}

/// Reads complete lines from the file's position on (a partial last line is left for later).
trait ReadLines {
    fn read_to_string_at_end(&mut self, out: &mut String) -> std::io::Result<()>;
}

impl ReadLines for std::fs::File {
    fn read_to_string_at_end(&mut self, out: &mut String) -> std::io::Result<()> {
        let start = self.stream_position()?;
        let mut r = BufReader::new(&mut *self);
        let mut read = 0u64;
        loop {
            let mut l = String::new();
            let n = r.read_line(&mut l)?;
            if n == 0 || !l.ends_with('\n') {
                break;
            }
            read += n as u64;
            out.push_str(&l);
        }
        drop(r);
        self.seek(SeekFrom::Start(start + read))?;
        Ok(())
    }
}
