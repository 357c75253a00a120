//! Errors go to stderr and, with --log, to a file in runc's format (text, or one JSON object
//! per line with level, msg and time), which is where containerd and podman look for them.

use std::io::Write;
use std::path::PathBuf;

pub struct Logger {
    file: Option<PathBuf>,
    json: bool,
}

impl Logger {
    pub fn new(file: Option<PathBuf>, format: &str) -> Self {
        Logger {
            file,
            json: format == "json",
        }
    }

    pub fn error(&self, msg: &str) {
        eprintln!("hullrt: {msg}");
        let Some(path) = &self.file else { return };
        let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        else {
            return;
        };
        let time = hull_runtime::state::now_rfc3339();
        let line = if self.json {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level=error msg={msg:?}")
        };
        let _ = writeln!(f, "{line}");
    }
}
