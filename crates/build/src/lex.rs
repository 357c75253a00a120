//! Variable substitution as docker's shell lexer does it (buildkit frontend/dockerfile/shell):
//! `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?msg}`, `${VAR?msg}`; single quotes literal, double quotes expanding, the escape
//! character taking the next character literally. Quotes are removed.

/// Looks a variable up (the stage's ENV, then its ARGs).
pub trait Vars {
    fn get(&self, name: &str) -> Option<String>;
}

impl Vars for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Vars for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        Vars::get(self.as_slice(), name)
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    vars: &'a dyn Vars,
}

/// `word` expanded to one string.
pub fn expand(word: &str, escape: char, vars: &dyn Vars) -> Result<String, String> {
    Ok(lexer(word, escape, vars).words(false)?.0)
}

/// `word` expanded and split on unquoted whitespace (docker's ProcessWords, for `EXPOSE`).
pub fn expand_words(word: &str, escape: char, vars: &dyn Vars) -> Result<Vec<String>, String> {
    Ok(lexer(word, escape, vars).words(false)?.1)
}

fn lexer<'a>(word: &str, escape: char, vars: &'a dyn Vars) -> Lexer<'a> {
    Lexer {
        chars: word.chars().collect(),
        pos: 0,
        escape,
        vars,
    }
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// Reads until the end (or, inside `${..:-word}`, the closing brace): the whole text
    /// expanded (docker's ProcessWord) and its words split on unquoted whitespace
    /// (ProcessWords).
    fn words(&mut self, in_brace: bool) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Vec::new();
        let mut word = String::new();
        let mut any = false;
        while let Some(c) = self.peek() {
            if in_brace && c == '}' {
                break;
            }
            self.pos += 1;
            if c == self.escape {
                if let Some(n) = self.next() {
                    word.push(n);
                    result.push(n);
                }
                any = true;
            } else if c == '\'' {
                let mut q = String::new();
                loop {
                    match self.next() {
                        None => return Err(
                            "unexpected end of statement while looking for matching single-quote"
                                .into(),
                        ),
                        Some('\'') => break,
                        Some(x) => q.push(x),
                    }
                }
                word.push_str(&q);
                result.push_str(&q);
                any = true;
            } else if c == '"' {
                let q = self.double_quoted()?;
                word.push_str(&q);
                result.push_str(&q);
                any = true;
            } else if c == '$' {
                let v = self.dollar()?;
                result.push_str(&v);
                // An unquoted expansion is split into words (ProcessWords).
                let mut parts = v.split(char::is_whitespace);
                if let Some(first) = parts.next() {
                    word.push_str(first);
                }
                for p in parts {
                    if !word.is_empty() || any {
                        words.push(std::mem::take(&mut word));
                    }
                    any = false;
                    word.push_str(p);
                }
            } else if c.is_whitespace() {
                result.push(c);
                if !word.is_empty() || any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            } else {
                word.push(c);
                result.push(c);
            }
        }
        if !word.is_empty() || any {
            words.push(word);
        }
        Ok((result, words))
    }

    /// After an opening `"`: up to the closing one, `$` expanded, the escape character
    /// taking only `"`, `$` and itself.
    fn double_quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.dollar()?),
                Some(x) if x == self.escape => match self.peek() {
                    None => {}
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    Some(_) => out.push(x),
                },
                Some(x) => out.push(x),
            }
        }
    }

    /// After a `$`: a name, `{...}`, or a lone `$`.
    fn dollar(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.braced()
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name();
                Ok(self.lookup(&name).unwrap_or_default())
            }
            _ => Ok("$".into()),
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.get(name)
    }

    fn braced(&mut self) -> Result<String, String> {
        let name = self.name();
        if name.is_empty() {
            return Err("bad substitution: missing variable name".into());
        }
        let val = self.lookup(&name);
        let colon = self.peek() == Some(':');
        if colon {
            self.pos += 1;
        }
        let op = self.next();
        if op == Some('}') && !colon {
            return Ok(val.unwrap_or_default());
        }
        let set = match &val {
            Some(v) => !colon || !v.is_empty(),
            None => false,
        };
        let op = match op {
            Some(o @ ('-' | '+' | '?')) => o,
            Some(o) => return Err(format!("unsupported modifier ({o}) in substitution")),
            None => return Err("missing '}' in substitution".into()),
        };
        let word = self.words(true)?.0;
        if self.next() != Some('}') {
            return Err("missing '}' in substitution".into());
        }
        Ok(match op {
            '-' if set => val.unwrap_or_default(),
            '-' => word,
            '+' if set => word,
            '+' => String::new(),
            _ if set => val.unwrap_or_default(),
            _ => {
                let msg = if word.is_empty() {
                    "is not allowed to be unset".into()
                } else {
                    word
                };
                return Err(format!("{name}: {msg}"));
            }
        })
    }
}

#[cfg(test)]
mod tests;
