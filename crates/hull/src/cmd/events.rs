//! `hull events [--since T] [--until T] [-f K=V]... [--format T]`: the event log the verbs
//! write (crates/engine/src/events.rs), read by the engine's events verb, in docker's line
//! format; without `--until` it
//! follows the log until interrupted. As docker: with neither `--since` nor `--until` only
//! new events are shown.

use std::io::Write;

use hull_engine::events_query::{EventQuery, Seen};
use hull_engine::{time::nanotime, time::since, Paths};
use hull_format::template;
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

/// The engine's query from the flags: `--filter`s by key (keys hull does not match are
/// ignored, as docker 20.10 does).
fn query(a: &Args) -> Result<EventQuery, CmdError> {
    let now = since::now();
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| since::parse(s, now))
            .transpose()
            .map_err(|e| CmdError::new(format!("{flag}: {e}")).daemon())
    };
    let mut q = EventQuery {
        since: time("--since", &a.since)?,
        until: time("--until", &a.until)?,
        ..Default::default()
    };
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CmdError::new(format!("bad format of filter (expected name=value): {f}"))
        })?;
        q.filter(k, v);
    }
    Ok(q)
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

pub fn exec(paths: &Paths, a: Args) -> CmdResult {
    let q = query(&a)?;
    let template = match a.format.as_deref() {
        None => None,
        Some("json") => Some(template::Template::parse("{{json .}}")?),
        Some(t) => Some(template::Template::parse(t)?),
    };
    let eng = super::state_engine(paths)?;
    let mut failed = None;
    let mut out = std::io::stdout().lock();
    eng.events(&q, &mut |seen| {
        let Seen::Event(ev) = seen else { return true };
        let s = match &template {
            Some(tpl) => match tpl.execute(&template_data(ev)) {
                Ok(s) => s,
                Err(e) => {
                    failed = Some(CmdError::from(e));
                    return false;
                }
            },
            None => line(ev),
        };
        writeln!(out, "{s}").and_then(|_| out.flush()).is_ok()
    })?;
    failed.map_or(Ok(()), Err)
}
