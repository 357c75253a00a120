//! `.dockerignore` as docker reads and matches it (moby/patternmatcher): one pattern a line,
//! `#` comments, surrounding spaces trimmed, paths cleaned and made relative, `!` to
//! re-include; Go `filepath.Match` syntax plus `**` for any number of directories; a
//! pattern also matches everything below a directory it matches; the last match wins.

use regex::Regex;

#[derive(Debug, Clone)]
struct Pattern {
    re: Regex,
    exclusion: bool,
}

/// The compiled patterns of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    pats: Vec<Pattern>,
}

/// Go's `filepath.Clean` for slash paths, made relative (docker drops a leading `/`).
pub fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let abs = p.starts_with('/');
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !abs {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

/// docker's pattern-to-regexp translation.
fn compile(pat: &str) -> Result<Regex, String> {
    let mut re = String::from("^");
    let mut it = pat.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '*' if it.peek() == Some(&'*') => {
                it.next();
                if it.peek() == Some(&'/') {
                    it.next();
                }
                if it.peek().is_none() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => match it.next() {
                Some(n) => re.push_str(&regex::escape(&n.to_string())),
                None => re.push_str(r"\\"),
            },
            '[' => {
                // A Go character class: `[!...]`/`[^...]` negated, ranges kept.
                re.push('[');
                if matches!(it.peek(), Some('!') | Some('^')) {
                    it.next();
                    re.push('^');
                }
                loop {
                    match it.next() {
                        None => return Err(format!("syntax error in pattern {pat:?}")),
                        Some(']') => break,
                        Some('\\') => match it.next() {
                            Some(n) => re.push_str(&regex::escape(&n.to_string())),
                            None => return Err(format!("syntax error in pattern {pat:?}")),
                        },
                        Some(x @ ('[' | '&' | '~' | '^')) => {
                            re.push('\\');
                            re.push(x);
                        }
                        Some(x) => re.push(x),
                    }
                }
                re.push(']');
            }
            x => re.push_str(&regex::escape(&x.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| format!("pattern {pat:?}: {e}"))
}

impl Ignore {
    /// Reads an ignore file's text.
    pub fn parse(text: &str) -> Result<Ignore, String> {
        let mut pats = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
                if p.is_empty() {
                    return Err("illegal exclusion pattern: \"!\"".into());
                }
            }
            let cleaned = clean(p);
            pats.push(Pattern {
                re: compile(&cleaned)?,
                exclusion,
            });
        }
        Ok(Ignore { pats })
    }

    /// Whether any `!` pattern exists (then an ignored directory must still be walked).
    pub fn has_exclusions(&self) -> bool {
        self.pats.iter().any(|p| p.exclusion)
    }

    /// Whether `path` (relative to the context, slash-separated) is ignored: the last
    /// pattern matching it or one of its parent directories decides.
    pub fn ignored(&self, path: &str) -> bool {
        let path = clean(path);
        let parts: Vec<&str> = path.split('/').collect();
        let mut matched = false;
        for p in &self.pats {
            if p.exclusion != matched {
                continue; // cannot change the answer
            }
            let hit = p.re.is_match(&path)
                || (1..parts.len()).any(|n| p.re.is_match(&parts[..n].join("/")));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests;
