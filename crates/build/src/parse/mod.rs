//! A Dockerfile read as docker's parser reads it (buildkit's frontend/dockerfile/parser):
//! the leading `# key=value` directives (`syntax`, `escape`), comments, line continuations
//! with the escape character, heredocs after `RUN`/`COPY`/`ADD`, and each instruction's
//! keyword, flags and arguments. [`instr`] turns the arguments into typed instructions.

pub mod instr;
mod words;

pub use instr::{Command, CopyArgs, CopySource, Health, Instr};

/// A parse error: docker's one line naming the file, line and instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {instr}: {msg}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    /// The instruction's keyword as written (or `directive`).
    pub instr: String,
    pub msg: String,
}

/// One heredoc's body: `<<EOF` (expanded) or `<<'EOF'` / `<<"EOF"` (literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// Variables in the body are expanded (an unquoted name).
    pub expand: bool,
}

/// One instruction before its arguments are typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawInstr {
    /// 1-based line of the keyword.
    pub line: usize,
    /// The keyword, lower case.
    pub keyword: String,
    /// `--name=value` flags before the arguments (`--link` alone has no value).
    pub flags: Vec<(String, Option<String>)>,
    /// The arguments after the flags, continuations joined.
    pub rest: String,
    pub heredocs: Vec<Heredoc>,
    /// The instruction as docker prints it in `Step n/m : ...` (keyword upper case).
    pub text: String,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub file: String,
    pub escape: char,
    /// The `# syntax=` directive, if any (recorded, not acted on: hull has one frontend).
    pub syntax: Option<String>,
    pub instrs: Vec<(RawInstr, Instr)>,
}

impl Dockerfile {
    /// Parses `src`; `file` names it in errors.
    pub fn parse(file: &str, src: &str) -> Result<Dockerfile, ParseError> {
        let err = |line: usize, instr: &str, msg: String| ParseError {
            file: file.to_string(),
            line,
            instr: instr.to_string(),
            msg,
        };
        let lines: Vec<&str> = src.lines().collect();
        let (escape, syntax, mut i) =
            directives(&lines).map_err(|(l, m)| err(l, "directive", m))?;
        let mut instrs = Vec::new();
        while i < lines.len() {
            let trimmed = lines[i].trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                i += 1;
                continue;
            }
            let start = i;
            // Join continuations: a line ending with the escape character goes on; comment
            // and blank lines inside an instruction are dropped, as docker drops them.
            let mut logical = String::new();
            loop {
                let l = lines[i].trim_end();
                i += 1;
                match l.strip_suffix(escape) {
                    Some(head) => {
                        logical.push_str(head);
                        while i < lines.len() {
                            let t = lines[i].trim_start();
                            if t.is_empty() || t.starts_with('#') {
                                i += 1;
                            } else {
                                break;
                            }
                        }
                        if i >= lines.len() {
                            break;
                        }
                    }
                    None => {
                        logical.push_str(l);
                        break;
                    }
                }
            }
            let logical = logical.trim().to_string();
            let (kw, rest) = match logical.split_once(char::is_whitespace) {
                Some((k, r)) => (k.to_string(), r.trim_start().to_string()),
                None => (logical.clone(), String::new()),
            };
            let keyword = kw.to_ascii_lowercase();
            let (flags, rest) = words::flags(&rest, escape);
            let mut heredocs = Vec::new();
            if matches!(keyword.as_str(), "run" | "copy" | "add") {
                for (name, strip, expand) in words::heredoc_names(&rest) {
                    let mut content = String::new();
                    loop {
                        let Some(l) = lines.get(i) else {
                            return Err(err(
                                start + 1,
                                &kw,
                                format!("heredoc <<{name} is not terminated"),
                            ));
                        };
                        i += 1;
                        let l = if strip { l.trim_start_matches('\t') } else { l };
                        if l == name {
                            break;
                        }
                        content.push_str(l);
                        content.push('\n');
                    }
                    heredocs.push(Heredoc {
                        name,
                        content,
                        expand,
                    });
                }
            }
            let raw = RawInstr {
                line: start + 1,
                text: format!("{} {}", kw.to_ascii_uppercase(), logical[kw.len()..].trim()),
                keyword,
                flags,
                rest,
                heredocs,
            };
            let typed = Instr::from_raw(&raw, escape).map_err(|m| err(raw.line, &kw, m))?;
            instrs.push((raw, typed));
        }
        if !instrs.iter().any(|(_, t)| matches!(t, Instr::From { .. })) {
            return Err(err(1, "FROM", "file with no instructions".into()));
        }
        if let Some((r, _)) = instrs
            .iter()
            .take_while(|(_, t)| !matches!(t, Instr::From { .. }))
            .find(|(_, t)| !matches!(t, Instr::Arg(_)))
        {
            return Err(err(
                r.line,
                &r.keyword.to_ascii_uppercase(),
                "no build stage in current context (only ARG may come before the first FROM)"
                    .into(),
            ));
        }
        Ok(Dockerfile {
            file: file.to_string(),
            escape,
            syntax,
            instrs,
        })
    }
}

type Directives = (char, Option<String>, usize);

/// The leading `# key=value` lines: docker reads them only before any other line (a blank
/// line or an ordinary comment ends them), each key once. Returns the escape character, the
/// syntax and the index of the first line after them.
fn directives(lines: &[&str]) -> Result<Directives, (usize, String)> {
    let re = regex::Regex::new(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$").expect("regex");
    let mut escape = '\\';
    let mut syntax = None;
    let mut seen: Vec<String> = Vec::new();
    for (n, l) in lines.iter().enumerate() {
        let Some(c) = re.captures(l) else {
            return Ok((escape, syntax, n));
        };
        let key = c[1].to_ascii_lowercase();
        let val = c[2].to_string();
        if seen.contains(&key) {
            return Err((
                n + 1,
                format!("only one {key} parser directive can be used"),
            ));
        }
        match key.as_str() {
            "escape" => {
                escape = match val.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err((
                            n + 1,
                            format!("invalid escape token '{val}' does not match ` or \\"),
                        ))
                    }
                }
            }
            "syntax" => syntax = Some(val),
            // Other keys (`check`...) are directives docker knows; unknown ones end the
            // directives and are an ordinary comment.
            "check" => {}
            _ => return Ok((escape, syntax, n)),
        }
        seen.push(key);
    }
    Ok((escape, syntax, lines.len()))
}

#[cfg(test)]
mod tests;
