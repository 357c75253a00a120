//! The events verb: reads the event log (crate::events, which the verbs append to) from a
//! time on, filtered as docker filters, and follows it until a time or until the caller
//! stops. `hull events` and the API's `GET /events` both call [`Engine::events`].

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::{events, time::since};

/// The filter keys hull matches (docker's others are ignored, as docker 20.10's client does).
pub const FILTER_KEYS: [&str; 5] = ["type", "event", "container", "image", "label"];

/// Which events: docker's `since`, `until` (nanoseconds since the epoch) and filters.
#[derive(Debug, Default, Clone)]
pub struct EventQuery {
    /// From this time (None with `until` None too: only new events, as docker).
    pub since: Option<i128>,
    /// Up to this time, then the verb returns (None: follow until the caller stops).
    pub until: Option<i128>,
    /// By key: values of one key are alternatives, keys must all match.
    pub filters: BTreeMap<String, Vec<String>>,
}

impl EventQuery {
    /// Adds `key=value` filters; keys hull does not match are left out.
    pub fn filter(&mut self, key: &str, value: &str) {
        if FILTER_KEYS.contains(&key) {
            self.filters
                .entry(key.into())
                .or_default()
                .push(value.into());
        }
    }

    /// Whether `ev` passes the filters.
    pub fn matches(&self, ev: &Value) -> bool {
        let attr = |k: &str| {
            ev["Actor"]["Attributes"][k]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        let id = ev["Actor"]["ID"].as_str().unwrap_or("");
        let typ = ev["Type"].as_str().unwrap_or("");
        self.filters.iter().all(|(k, vals)| {
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
}

/// What the caller is given: an event, or a second with none (to check its client is there).
pub enum Seen<'a> {
    Event(&'a Value),
    Idle,
}

/// The caller's answer: go on or stop.
pub type Each<'a> = dyn FnMut(Seen) -> bool + 'a;

/// Passes `text`'s events in the window to `each`; false once one is past `until` or the
/// caller stopped.
fn feed(q: &EventQuery, text: &str, each: &mut Each) -> bool {
    for l in text.lines() {
        let Ok(ev) = serde_json::from_str::<Value>(l) else {
            continue;
        };
        let t = i128::from(ev["timeNano"].as_i64().unwrap_or(0));
        if q.until.is_some_and(|u| t > u) {
            return false;
        }
        if q.since.is_some_and(|s| t < s) || !q.matches(&ev) {
            continue;
        }
        if !each(Seen::Event(&ev)) {
            return false;
        }
    }
    true
}

impl Engine {
    /// `events`: the logged events `q` selects, in order, to `each`; then, unless `until`
    /// has passed, new ones as they are written, until `until` or until `each` says stop.
    pub fn events(&self, q: &EventQuery, each: &mut Each) -> Result<()> {
        let io = |what: &str, e: std::io::Error| Error::Internal(format!("events: {what}: {e}"));
        let root = &self.paths.root;
        let [old, cur] = events::log_files(&self.paths);
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| io("inotify", e.into()))?;
        std::fs::create_dir_all(root).map_err(|e| io(&root.display().to_string(), e))?;
        inotify
            .add_watch(
                root,
                AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO,
            )
            .map_err(|e| io("inotify", e.into()))?;
        let cur_name = cur.display().to_string();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&cur)
            .map_err(|e| io(&cur_name, e))?;
        if q.since.is_some() || q.until.is_some() {
            let mut text = std::fs::read_to_string(&old).unwrap_or_default();
            read_lines(&mut file, &mut text).map_err(|e| io(&cur_name, e))?;
            if !feed(q, &text, each) {
                return Ok(());
            }
        } else {
            file.seek(SeekFrom::End(0)).map_err(|e| io(&cur_name, e))?;
        }
        loop {
            if q.until.is_some_and(|u| since::now() >= u) {
                return Ok(());
            }
            // At most a second: the caller is asked whether to go on.
            let ms = q.until.map_or(1000, |u| {
                ((u - since::now()) / 1_000_000).clamp(1, 1000) as i32
            });
            let wait = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, wait) {
                Ok(0) => {
                    if !each(Seen::Idle) {
                        return Ok(());
                    }
                    continue;
                }
                Err(_) => continue,
                Ok(_) => {}
            }
            let _ = inotify.read_events();
            let mut text = String::new();
            read_lines(&mut file, &mut text).map_err(|e| io(&cur_name, e))?;
            // Rotated: the rest of the old file was read above; go on with the new one.
            let rotated = std::fs::metadata(&cur)
                .is_ok_and(|m| m.ino() != file.metadata().map(|f| f.ino()).unwrap_or(0));
            if rotated {
                file = std::fs::File::open(&cur).map_err(|e| io(&cur_name, e))?;
                read_lines(&mut file, &mut text).map_err(|e| io(&cur_name, e))?;
            }
            if !feed(q, &text, each) {
                return Ok(());
            }
        }
    }
}

/// Reads complete lines from the file's position on (a partial last line is left for later).
fn read_lines(f: &mut std::fs::File, out: &mut String) -> std::io::Result<()> {
    let start = f.stream_position()?;
    let mut r = BufReader::new(&mut *f);
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
    f.seek(SeekFrom::Start(start + read))?;
    Ok(())
}
