//! docker's `--format`: a subset of Go's text/template over JSON values (`{{.State.Pid}}`,
//! `{{json .Config}}`, `{{range .Mounts}}..{{end}}`, `{{if}}`, `{{index .Labels "k"}}`,
//! printf, join, lower/upper...), and `table TEMPLATE` with a header line and columns aligned as
//! docker's tabwriter aligns them.
//!
//! The data are the JSON documents the verbs print (inspect's shape, ps/images rows), so a
//! field name is a JSON key; a key that is not there is an error naming the field and the keys
//! that are.

mod exec;
mod funcs;
mod parse;

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FormatError {
    #[error("template: parse error at offset {pos}: {msg}")]
    Parse { pos: usize, msg: String },
    #[error("template: no field {field} (this object has: {known})")]
    NoField { field: String, known: String },
    #[error("template: {0}")]
    Exec(String),
}

/// A parsed `--format` value.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
    table: bool,
}

/// docker's own replacements before parsing: a literal `\t` or `\n` typed in a shell's double
/// quotes means a tab or a newline.
fn unescape(src: &str) -> String {
    src.replace("\\t", "\t").replace("\\n", "\n")
}

impl Template {
    /// Parses `src`. `table ...` marks a table (header line, aligned columns); `json` alone is
    /// `{{json .}}`.
    pub fn parse(src: &str) -> Result<Template, FormatError> {
        let trimmed = src.trim_start();
        let (table, body) = match trimmed.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (true, rest.trim())
            }
            _ => (false, src),
        };
        let body = if body.trim() == "json" {
            "{{json .}}".to_string()
        } else {
            unescape(body)
        };
        Ok(Template {
            nodes: parse::parse(&body)?,
            table,
        })
    }

    pub fn is_table(&self) -> bool {
        self.table
    }

    /// The template's text for `data`.
    pub fn execute(&self, data: &Value) -> Result<String, FormatError> {
        exec::Exec::new(data, None).run(&self.nodes)
    }

    /// The header line of a table: every field evaluates to its title.
    pub fn header(&self, title: &dyn Fn(&[String]) -> String) -> Result<String, FormatError> {
        exec::Exec::new(&Value::Null, Some(title)).run(&self.nodes)
    }
}

/// Renders `template` over `data`.
pub fn render(template: &str, data: &Value) -> Result<String, FormatError> {
    Template::parse(template)?.execute(data)
}

/// JSON indented by four spaces, as `docker inspect` prints it.
pub fn pretty_json(v: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("a JSON value serializes");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// What `inspect` prints for `items`: the JSON array, or with `--format` the template's text
/// for each item on a line of its own.
pub fn inspect_output(template: Option<&str>, items: &[Value]) -> Result<String, FormatError> {
    match template {
        None => Ok(format!("{}\n", pretty_json(&Value::Array(items.to_vec())))),
        Some(t) => {
            let t = Template::parse(t)?;
            let mut out = String::new();
            for i in items {
                out.push_str(&t.execute(i)?);
                out.push('\n');
            }
            Ok(out)
        }
    }
}

/// A column title from a field path, as docker names them: `titles` first (`ID` ->
/// `CONTAINER ID`), else the last name's words in capitals (`CreatedAt` -> `CREATED AT`).
pub fn title_for(path: &[String], titles: &[(&str, &str)]) -> String {
    let full = path.join(".");
    if let Some((_, t)) = titles.iter().find(|(k, _)| *k == full) {
        return (*t).to_string();
    }
    let last = path.last().map(String::as_str).unwrap_or("");
    let mut out = String::new();
    let chars: Vec<char> = last.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// One line per row (`template`'s text for each); for `table ...` a header line first and the
/// tab-separated cells aligned. `default_table` is the verb's table, used for `--format table`
/// alone and when there is no `--format`.
pub fn render_rows(
    template: Option<&str>,
    default_table: &str,
    rows: &[Value],
    titles: &[(&str, &str)],
) -> Result<String, FormatError> {
    let src = match template {
        None => default_table,
        Some(t) if t.trim() == "table" => default_table,
        Some(t) => t,
    };
    let t = Template::parse(src)?;
    let mut lines = Vec::with_capacity(rows.len() + 1);
    if t.is_table() {
        lines.push(t.header(&|p: &[String]| title_for(p, titles))?);
    }
    for r in rows {
        lines.push(t.execute(r)?);
    }
    if t.is_table() {
        Ok(tabwrite(&lines))
    } else {
        let mut out = String::new();
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        Ok(out)
    }
}

/// Aligns tab-separated cells as docker's `tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)`: every
/// cell followed by a tab is padded to its column's width (the widest such cell plus 3, at
/// least 10); the text after a line's last tab is left as it is.
pub fn tabwrite(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .flat_map(|l| l.split('\n'))
        .map(|l| l.split('\t').collect())
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for r in &rows {
        for (i, cell) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            let w = cell.chars().count() + 3;
            if widths.len() <= i {
                widths.push(10);
            }
            widths[i] = widths[i].max(w);
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < r.len() {
                let pad = widths[i] - cell.chars().count();
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
