//! What several endpoint groups share: docker's `filters` query parameter, and docker's JSON
//! message stream (pull, push, load, build): one JSON object per message in a chunked
//! answer, a failure after the first message as `{"errorDetail": ..., "error": ...}`.

use std::io::Write;

use serde_json::{json, Value};

use crate::http::{Chunked, Conn, Outcome, Request};
use crate::ApiResult;

/// docker's `filters` (filters.rs) as (name, value) pairs, each name one of `known`.
pub fn filters(req: &Request, known: &[&str]) -> ApiResult<Vec<(String, String)>> {
    let parsed = crate::filters::parse(req.param("filters"), known)?;
    Ok(parsed
        .into_iter()
        .flat_map(|(k, vals)| vals.into_iter().map(move |v| (k.clone(), v)))
        .collect())
}

/// The API version's minor number the request's path names (`/v1.41/...`: 41); the newest
/// served without a prefix.
pub fn api_minor(req: &Request) -> u32 {
    req.path
        .strip_prefix("/v1.")
        .and_then(|r| r.split('/').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(crate::system::MAX_MINOR)
}

/// A JSON message stream whose head goes out with its first message, so a verb that fails
/// before saying anything is still answered with docker's status code and `{"message"}`.
pub struct JsonStream<'a> {
    conn: &'a mut Conn,
    body: Option<Chunked>,
    /// The client went away: later messages are dropped (the verb runs to its end).
    gone: bool,
}

impl JsonStream<'_> {
    /// Sends the head (once).
    fn open(&mut self) {
        if self.body.is_some() || self.gone {
            return;
        }
        match self
            .conn
            .chunked(200, "application/json", &crate::system::headers())
        {
            Ok(b) => self.body = Some(b),
            Err(_) => self.gone = true,
        }
    }

    pub fn send(&mut self, msg: &Value) {
        self.open();
        let mut line = msg.to_string().into_bytes();
        line.push(b'\n');
        if let Some(b) = self.body.as_mut().filter(|_| !self.gone) {
            self.gone = b.write_all(&line).is_err();
        }
    }

    /// Whether the head went out.
    pub fn started(&self) -> bool {
        self.body.is_some() || self.gone
    }
}

impl<'a> JsonStream<'a> {
    pub fn new(conn: &'a mut Conn) -> JsonStream<'a> {
        JsonStream {
            conn,
            body: None,
            gone: false,
        }
    }

    /// docker's error message in the stream (`code`: the exit code docker's client takes).
    pub fn fail(&mut self, message: &str, code: Option<i32>) {
        let mut detail = json!({ "message": message });
        if let Some(c) = code {
            detail["code"] = json!(c);
        }
        self.send(&json!({"errorDetail": detail, "error": message}));
    }

    /// Ends the stream (an empty one when nothing was said).
    pub fn finish(mut self) -> Outcome {
        self.open();
        match self.body {
            Some(b) if !self.gone => match b.finish() {
                Ok(()) => Outcome::Done,
                Err(_) => Outcome::Close,
            },
            _ => Outcome::Close,
        }
    }
}

/// Answers with the messages `f` sends; its error is docker's error message in the stream
/// once the stream started, else the endpoint's error answer.
pub fn json_answer(
    conn: &mut Conn,
    f: impl FnOnce(&mut JsonStream) -> Result<(), hull_engine::Error>,
) -> ApiResult<Outcome> {
    let mut s = JsonStream::new(conn);
    if let Err(e) = f(&mut s) {
        if !s.started() {
            return Err(e.into());
        }
        s.fail(&e.to_string(), None);
    }
    Ok(s.finish())
}
