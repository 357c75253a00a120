//! The monitor's own trace lines, with `--log-level debug`: the same logrus text line as every
//! process of the chain writes (crates/trace, where the format is explained), built here by
//! hand because the monitor has no std; and the flags that pass the level on to the runtime.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Whether `--log-level LEVEL` asks for the monitor's debug lines.
pub fn debug(level: &str) -> bool {
    matches!(level, "debug" | "trace")
}

/// One text line, with its newline: `time="T" level=debug msg="M" proc=hull-monitor id=ID`.
pub fn line(time: &str, msg: &str, id: &str) -> String {
    format!(
        "time=\"{time}\" level=debug msg={} proc=hull-monitor id={}\n",
        quote(msg),
        quote(id)
    )
}

/// logrus's rule (and hull-trace's): quoted unless it is only letters, digits and `-._/@^+:`.
fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+:".contains(c));
    if plain {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The runtime's global flags for `level`, as podman has conmon pass them on: with debug,
/// runc's `--debug` and a `--log` that is the monitor's own stderr (the runtime's stderr is the
/// container's, which the monitor logs), opened by path through /proc. Nothing otherwise.
pub fn runtime_args(level: &str, monitor_pid: i32) -> Vec<String> {
    if !debug(level) {
        return Vec::new();
    }
    [
        "--debug".to_string(),
        "--log".to_string(),
        format!("/proc/{monitor_pid}/fd/2"),
        "--log-format".to_string(),
        "text".to_string(),
    ]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_quote_as_logrus_does() {
        assert_eq!(
            line("T", "runtime run: exit 0", "c1"),
            "time=\"T\" level=debug msg=\"runtime run: exit 0\" proc=hull-monitor id=c1\n"
        );
        assert!(line("T", "say \"hi\"", "c").contains(r#"msg="say \"hi\"""#));
    }

    #[test]
    fn the_runtime_traces_to_the_monitors_stderr_only_at_debug() {
        assert_eq!(
            runtime_args("debug", 42),
            ["--debug", "--log", "/proc/42/fd/2", "--log-format", "text"]
        );
        assert!(runtime_args("info", 42).is_empty());
        assert!(runtime_args("", 42).is_empty());
    }
}
