//! Splitting an instruction's arguments as docker's parser does (line_parsers.go): leading
//! `--flags`, quote-aware words for `ENV`/`LABEL`/`ARG`, JSON arrays for the exec form, and
//! heredoc markers.

/// The leading `--name[=value]` words and the rest of the line.
pub fn flags(rest: &str, _escape: char) -> (Vec<(String, Option<String>)>, String) {
    let mut out = Vec::new();
    let mut s = rest.trim_start();
    while let Some(after) = s.strip_prefix("--") {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let word = &after[..end];
        s = after[end..].trim_start();
        if word.is_empty() {
            break; // `--` alone ends the flags
        }
        match word.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), Some(v.to_string()))),
            None => out.push((word.to_string(), None)),
        }
    }
    (out, s.to_string())
}

/// Heredoc markers in a `RUN`/`COPY`/`ADD` line: (name, strip leading tabs, expand).
pub fn heredoc_names(rest: &str) -> Vec<(String, bool, bool)> {
    let re = regex::Regex::new(r#"^\d*<<(-?)(?:'([^'<\s]+)'|"([^"<\s]+)"|([^'"<\s]+))$"#)
        .expect("regex");
    let mut out = Vec::new();
    for w in rest.split_whitespace() {
        if let Some(c) = re.captures(w) {
            let strip = !c[1].is_empty();
            match (c.get(2).or(c.get(3)), c.get(4)) {
                (Some(q), _) => out.push((q.as_str().to_string(), strip, false)),
                (None, Some(n)) => out.push((n.as_str().to_string(), strip, true)),
                _ => {}
            }
        }
    }
    out
}

/// The exec form: `rest` as a JSON array of strings, if it is one.
pub fn json_array(rest: &str) -> Option<Vec<String>> {
    let t = rest.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// docker's `parseWords`: whitespace-separated words, quotes and escapes kept in the word
/// (expansion removes them later), a quoted empty string kept as a word.
pub fn quoted_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        match quote {
            None if ch.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                word.push(ch);
                if ch == escape {
                    match chars.next() {
                        Some(n) => word.push(n),
                        None => {
                            word.pop();
                        }
                    }
                }
            }
            Some(q) => {
                word.push(ch);
                if ch == q {
                    quote = None;
                } else if ch == escape && q != '\'' {
                    match chars.next() {
                        Some(n) => word.push(n),
                        None => {
                            word.pop();
                        }
                    }
                }
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

/// docker's `parseNameVal` for `ENV`/`LABEL`: `k=v k2="v 2"` pairs, or the old `ENV k v w`
/// form (the rest of the line is the value). Values keep their quotes for expansion.
pub fn name_values(rest: &str, escape: char, kw: &str) -> Result<Vec<(String, String)>, String> {
    let words = quoted_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(format!("{kw} requires at least one argument"));
    };
    if !first.contains('=') {
        let t = rest.trim_start();
        let (k, v) = t
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{kw} must have two arguments"))?;
        return Ok(vec![(k.to_string(), v.trim_start().to_string())]);
    }
    let mut out = Vec::new();
    for w in &words {
        let (k, v) = w.split_once('=').ok_or_else(|| {
            format!("syntax error - can't find = in {w:?}. Must be of the form: name=value")
        })?;
        if k.is_empty() {
            return Err(format!("{kw} names can not be blank"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}
