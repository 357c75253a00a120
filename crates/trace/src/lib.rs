//! Tracing for hull's process chain: `hull` -> `hull-monitor` -> the OCI runtime (`hullrt`)
//! -> `hull internal-hook`. Every process writes the same line, runc's (logrus's) format, so
//! one request can be followed across them by its container id:
//!
//! ```text
//! time="2026-12-02T05:30:00.123456Z" level=debug msg="spawn the monitor" proc=hull span=run:start id=4f1c...
//! {"level":"error","msg":"config.json: process.args: must not be empty","time":"2026-12-02T05:30:00.123456Z"}
//! ```
//!
//! The first is the text format (`--log-format text`, and what `hull --log-level` writes on
//! stderr); the second the JSON format, one object per line with runc's keys `level`, `msg`
//! and `time` (plus the fields of the spans it is in): containerd's shim and podman read the
//! runtime's `--log` file this way and report the last `error` line's `msg` when a create
//! fails. hull-monitor has no std and writes the text line itself (crates/monitor-bin).
//!
//! Nothing is built unless a process is asked to trace ([`init`]): the `tracing` macros then
//! cost one relaxed load each.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

pub use tracing::level_filters::LevelFilter;

/// runc's two `--log-format`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// `text` or `json`, as runc's flag takes them.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// A level as docker's and podman's `--log-level` name it (`debug|info|warn|error`; podman's
/// `trace` and `fatal`/`panic` too, the last two as `error`).
pub fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" | "panic" => LevelFilter::ERROR,
        _ => return None,
    })
}

/// The name of a level as the lines and `--log-level` spell it.
pub fn level_name(level: LevelFilter) -> &'static str {
    match level.into_level() {
        Some(Level::TRACE) => "trace",
        Some(Level::DEBUG) => "debug",
        Some(Level::INFO) => "info",
        Some(Level::WARN) => "warning",
        Some(Level::ERROR) => "error",
        None => "off",
    }
}

/// The level this process traces at (`debug`, `info`, `warning`, ...; None when it does
/// not), to pass on to the processes it starts.
pub fn current_level() -> Option<&'static str> {
    let level = LevelFilter::current();
    (level != LevelFilter::OFF).then(|| level_name(level))
}

/// The file this process traces to, when [`init`] was given one.
static LOG_FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The global flags that make a child `hull` trace at this process's level to where this
/// process writes (`--log-level LEVEL --log FILE`): its log file, else its stderr by path
/// (`/proc/PID/fd/2`, opened by the child while this process waits for it). Empty when
/// this process does not trace. For the children whose own stderr is not ours to write on:
/// the createRuntime hooks (the runtime gives them the container's stderr) and the network's
/// DNS responder (which outlives us).
pub fn child_args() -> Vec<String> {
    let Some(level) = current_level() else {
        return Vec::new();
    };
    let log = match LOG_FILE.get() {
        Some(p) => p.display().to_string(),
        None => format!("/proc/{}/fd/2", std::process::id()),
    };
    vec!["--log-level".into(), level.into(), "--log".into(), log]
}

/// Installs the process's subscriber: events at `level` and above, as `format` lines, to
/// `file` (appended, created if missing) or stderr. `proc` names this process in text lines.
/// A file that cannot be opened is an error naming it.
pub fn init(
    proc: &'static str,
    level: LevelFilter,
    format: Format,
    file: Option<&Path>,
) -> std::io::Result<()> {
    let out: Box<dyn Write + Send> = match file {
        Some(p) => Box::new(open_log(p).map_err(|e| {
            std::io::Error::new(e.kind(), format!("log file {}: {e}", p.display()))
        })?),
        None => Box::new(std::io::stderr()),
    };
    let layer = Lines {
        proc,
        format,
        out: Mutex::new(out),
    };
    if let Some(p) = file {
        let _ = LOG_FILE.set(p.to_path_buf());
    }
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(level));
    // Only the first call in a process installs anything.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

/// Appends one line at `level` to `file` without a subscriber: how a runtime that was not
/// asked to trace still leaves its error where its caller reads it (runc's `--log`). Like
/// runc's, the JSON line has only `level`, `msg` and `time`.
pub fn append(
    file: &Path,
    proc: &str,
    format: Format,
    level: Level,
    msg: &str,
) -> std::io::Result<()> {
    let mut f = open_log(file)?;
    let proc = (format == Format::Text).then_some(proc);
    f.write_all(line(format, proc, level, msg, &[]).as_bytes())
}

fn open_log(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
}

/// One line, with its newline. `fields` are the spans' fields then the event's.
pub fn line(
    format: Format,
    proc: Option<&str>,
    level: Level,
    msg: &str,
    fields: &[(&str, String)],
) -> String {
    let time = hull_clock::civil::format_system_time(std::time::SystemTime::now());
    let level = level_name(LevelFilter::from_level(level));
    match format {
        Format::Json => {
            let mut m = serde_json::Map::new();
            m.insert("level".into(), level.into());
            m.insert("msg".into(), msg.into());
            m.insert("time".into(), time.into());
            for (k, v) in fields {
                m.insert((*k).to_string(), v.as_str().into());
            }
            let mut s = serde_json::Value::Object(m).to_string();
            s.push('\n');
            s
        }
        Format::Text => {
            let mut s = format!("time=\"{time}\" level={level} msg={}", quote(msg));
            if let Some(p) = proc {
                let _ = write!(s, " proc={}", quote(p));
            }
            for (k, v) in fields {
                let _ = write!(s, " {k}={}", quote(v));
            }
            s.push('\n');
            s
        }
    }
}

/// logrus's rule: a value is quoted when it is empty or holds anything but letters, digits
/// and `-._/@^+:`.
fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+:".contains(c));
    if plain {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// The layer: span fields are kept in the span's extensions; each event becomes one line.
struct Lines {
    proc: &'static str,
    format: Format,
    out: Mutex<Box<dyn Write + Send>>,
}

#[derive(Default, Clone)]
struct Fields {
    msg: String,
    list: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg = value.to_string();
        } else {
            self.list.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.msg = format!("{value:?}");
        } else {
            self.list.push((field.name(), format!("{value:?}")));
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Lines {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(f);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(f) = span.extensions_mut().get_mut::<Fields>() {
                values.record(f);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut ev = Fields::default();
        event.record(&mut ev);
        let mut path = String::new();
        let mut fields: Vec<(&str, String)> = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if !path.is_empty() {
                    path.push(':');
                }
                path.push_str(span.name());
                if let Some(f) = span.extensions().get::<Fields>() {
                    for (k, v) in &f.list {
                        // An inner span's value for a key replaces an outer one's.
                        fields.retain(|(k2, _)| k2 != k);
                        fields.push((k, v.clone()));
                    }
                }
            }
        }
        if !path.is_empty() {
            fields.insert(0, ("span", path));
        }
        fields.extend(ev.list.iter().map(|(k, v)| (*k, v.clone())));
        let proc = (self.format == Format::Text).then_some(self.proc);
        let text = line(
            self.format,
            proc,
            *event.metadata().level(),
            &ev.msg,
            &fields,
        );
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_quote_as_logrus_does() {
        let l = line(
            Format::Text,
            Some("hullrt"),
            Level::DEBUG,
            "create: cgroup joined",
            &[("id", "c1".into()), ("path", "/sys/fs/cgroup/a b".into())],
        );
        assert!(l.starts_with("time=\""), "{l}");
        assert!(
            l.ends_with(
                " level=debug msg=\"create: cgroup joined\" proc=hullrt id=c1 \
                 path=\"/sys/fs/cgroup/a b\"\n"
            ),
            "{l}"
        );
    }

    #[test]
    fn json_lines_have_runcs_keys() {
        let l = line(Format::Json, Some("x"), Level::ERROR, "boom", &[]);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["level", "msg", "time"]);
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "boom");
        // RFC 3339, which Go's time.Time (containerd's reader) requires.
        assert!(hull_clock::civil::parse_rfc3339(v["time"].as_str().unwrap()).is_some());
    }

    #[test]
    fn levels_parse_as_docker_and_podman_name_them() {
        assert_eq!(parse_level("debug"), Some(LevelFilter::DEBUG));
        assert_eq!(parse_level("WARN"), Some(LevelFilter::WARN));
        assert_eq!(parse_level("fatal"), Some(LevelFilter::ERROR));
        assert_eq!(parse_level("loud"), None);
        assert_eq!(level_name(LevelFilter::WARN), "warning");
    }
}
