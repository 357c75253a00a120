//! Reading the trace lines `hull --log-level` writes (logrus's text format, see
//! docs/tracing.md).

/// A logrus text line's `key=value` (value unquoted), or None.
pub fn field(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[at..];
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                '"' => return Some(out),
                c => out.push(c),
            }
        }
        None
    } else {
        Some(rest.split(' ').next().unwrap_or("").to_string())
    }
}

/// Whether a line of `text` comes from process `proc`, inside a span named `span` (one
/// element of its `a:b` path), names container `id` and says `msg`.
pub fn has_line(text: &str, proc: &str, span: &str, id: &str, msg: &str) -> bool {
    text.lines().any(|l| {
        field(l, "proc").as_deref() == Some(proc)
            && field(l, "id").as_deref() == Some(id)
            && field(l, "msg").as_deref() == Some(msg)
            && field(l, "span")
                .unwrap_or_default()
                .split(':')
                .any(|s| s == span)
    })
}
