//! Lexer and parser for the Go text/template subset docker's `--format` uses.

use super::FormatError;

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Action(Pipe),
    /// `if` / `else if` branches in order, then the `else` body.
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Range {
        pipe: Pipe,
        body: Vec<Node>,
        else_: Vec<Node>,
    },
    With {
        pipe: Pipe,
        body: Vec<Node>,
        else_: Vec<Node>,
    },
}

/// `$a, $b := cmd | cmd arg`.
#[derive(Debug, Clone)]
pub struct Pipe {
    pub decl: Vec<String>,
    pub cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `.A.B` relative to dot; empty for `.` itself.
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root data).
    Var(String, Vec<String>),
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Nil,
    Func(String),
    Sub(Box<Pipe>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Num(serde_json::Number),
    Pipe,
    Open,
    Close,
    Declare,
    Comma,
}

pub const FUNCS: &[&str] = &[
    "json", "lower", "upper", "title", "join", "split", "printf", "print", "println", "index",
    "len", "pad", "truncate", "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "slice",
];

/// The pieces of a template: text, and each action's inner source with its byte offset.
enum Piece<'a> {
    Text(String),
    Action(&'a str, usize),
}

fn split(src: &str) -> Result<Vec<Piece<'_>>, FormatError> {
    let mut out = Vec::new();
    let mut rest = 0;
    let mut trim_next = false;
    while let Some(open) = src[rest..].find("{{") {
        let open = rest + open;
        let mut text = &src[rest..open];
        if trim_next {
            text = text.trim_start();
        }
        let mut inner_start = open + 2;
        if src[inner_start..].starts_with("- ") || src[inner_start..].starts_with("-\t") {
            text = text.trim_end();
            inner_start += 1;
        }
        let close = src[inner_start..]
            .find("}}")
            .map(|c| inner_start + c)
            .ok_or_else(|| FormatError::Parse {
                pos: open,
                msg: "unclosed action: no }} after {{".into(),
            })?;
        let mut inner_end = close;
        trim_next = false;
        if src[..close].ends_with(" -") || src[..close].ends_with("\t-") {
            inner_end -= 1;
            trim_next = true;
        }
        if !text.is_empty() {
            out.push(Piece::Text(text.to_string()));
        }
        out.push(Piece::Action(&src[inner_start..inner_end], inner_start));
        rest = close + 2;
    }
    let mut text = &src[rest..];
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        out.push(Piece::Text(text.to_string()));
    }
    Ok(out)
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn lex(src: &str, base: usize) -> Result<Vec<Tok>, FormatError> {
    let err = |i: usize, msg: String| FormatError::Parse { pos: base + i, msg };
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    // A field chain: `.A.B`, or `.` alone.
    let chain = |i: &mut usize| -> Vec<String> {
        let mut parts = Vec::new();
        while *i < chars.len() && chars[*i].1 == '.' {
            let start = *i + 1;
            let mut j = start;
            while j < chars.len() && ident_char(chars[j].1) {
                j += 1;
            }
            if j == start {
                // A bare `.`: dot itself (only valid as the whole chain).
                *i = j;
                break;
            }
            parts.push(chars[start..j].iter().map(|c| c.1).collect());
            *i = j;
        }
        parts
    };
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            ')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1).map(|c| c.1) == Some('=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Declare);
                i += 1;
            }
            '.' => toks.push(Tok::Field(chain(&mut i))),
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && ident_char(chars[j].1) {
                    j += 1;
                }
                let name: String = chars[start..j].iter().map(|c| c.1).collect();
                i = j;
                let fields = chain(&mut i);
                toks.push(Tok::Var(name, fields));
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&(_, c)) = chars.get(i) else {
                        return Err(err(pos, "unterminated string".into()));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let Some(&(_, e)) = chars.get(i) else {
                                return Err(err(pos, "unterminated string".into()));
                            };
                            i += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '0' => '\0',
                                '\\' | '"' | '\'' => e,
                                _ => {
                                    return Err(err(pos, format!("unknown escape \\{e} in string")))
                                }
                            });
                        }
                        _ => s.push(c),
                    }
                }
                toks.push(Tok::Str(s));
            }
            '`' => {
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|c| c.1 == '`')
                    .ok_or_else(|| err(pos, "unterminated raw string".into()))?;
                toks.push(Tok::Str(
                    chars[start..start + end].iter().map(|c| c.1).collect(),
                ));
                i = start + end + 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.1.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().map(|c| c.1).collect();
                let n = if s.contains('.') {
                    s.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
                } else {
                    s.parse::<i64>().ok().map(serde_json::Number::from)
                };
                toks.push(Tok::Num(
                    n.ok_or_else(|| err(pos, format!("bad number {s}")))?,
                ));
            }
            c if ident_char(c) => {
                let start = i;
                while i < chars.len() && ident_char(chars[i].1) {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().map(|c| c.1).collect()));
            }
            _ => return Err(err(pos, format!("unexpected {c:?} in action"))),
        }
    }
    Ok(toks)
}

struct Toks {
    toks: Vec<Tok>,
    at: usize,
    pos: usize,
}

impl Toks {
    fn err(&self, msg: impl Into<String>) -> FormatError {
        FormatError::Parse {
            pos: self.pos,
            msg: msg.into(),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    /// A pipeline up to the end of the action or a closing parenthesis.
    fn pipe(&mut self, allow_decl: bool) -> Result<Pipe, FormatError> {
        let mut decl = Vec::new();
        if allow_decl {
            // `$x :=` or `$k, $v :=`: look ahead for the declare token.
            let save = self.at;
            let mut names = Vec::new();
            while let Some(Tok::Var(n, f)) = self.peek().cloned() {
                if !f.is_empty() {
                    break;
                }
                self.at += 1;
                names.push(n);
                if self.peek() == Some(&Tok::Comma) {
                    self.at += 1;
                    continue;
                }
                break;
            }
            if !names.is_empty() && self.peek() == Some(&Tok::Declare) {
                self.at += 1;
                decl = names;
            } else {
                self.at = save;
            }
        }
        let mut cmds = Vec::new();
        let mut cmd = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Close) => break,
                Some(Tok::Pipe) => {
                    self.at += 1;
                    if cmd.is_empty() {
                        return Err(self.err("missing command before |"));
                    }
                    cmds.push(std::mem::take(&mut cmd));
                }
                _ => cmd.push(self.arg()?),
            }
        }
        if cmd.is_empty() {
            return Err(self.err("missing value in action"));
        }
        cmds.push(cmd);
        Ok(Pipe { decl, cmds })
    }

    fn arg(&mut self) -> Result<Arg, FormatError> {
        Ok(match self.next() {
            Some(Tok::Field(f)) => Arg::Field(f),
            Some(Tok::Var(n, f)) => Arg::Var(n, f),
            Some(Tok::Str(s)) => Arg::Str(s),
            Some(Tok::Num(n)) => Arg::Num(n),
            Some(Tok::Open) => {
                let p = self.pipe(false)?;
                if self.next() != Some(Tok::Close) {
                    return Err(self.err("unclosed parenthesis"));
                }
                Arg::Sub(Box::new(p))
            }
            Some(Tok::Ident(id)) => match id.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                f if FUNCS.contains(&f) => Arg::Func(id),
                _ => return Err(self.err(format!("function {id:?} not defined"))),
            },
            Some(t) => return Err(self.err(format!("unexpected {t:?} in action"))),
            None => return Err(self.err("unexpected end of action")),
        })
    }
}

/// How a block ended.
enum End {
    Eof,
    Closed,
    Else(Option<Pipe>),
}

/// Parses a whole template.
pub fn parse(src: &str) -> Result<Vec<Node>, FormatError> {
    let pieces = split(src)?;
    let mut it = pieces.into_iter().peekable();
    let (nodes, end) = block(&mut it)?;
    match end {
        End::Eof => Ok(nodes),
        End::Closed => Err(FormatError::Parse {
            pos: 0,
            msg: "unexpected {{end}}".into(),
        }),
        End::Else(_) => Err(FormatError::Parse {
            pos: 0,
            msg: "unexpected {{else}}".into(),
        }),
    }
}

type Pieces<'a> = std::iter::Peekable<std::vec::IntoIter<Piece<'a>>>;

fn block(it: &mut Pieces<'_>) -> Result<(Vec<Node>, End), FormatError> {
    let mut nodes = Vec::new();
    while let Some(p) = it.next() {
        let (src, pos) = match p {
            Piece::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Piece::Action(src, pos) => (src, pos),
        };
        let trimmed = src.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(FormatError::Parse {
                    pos,
                    msg: "unclosed comment".into(),
                });
            }
            continue;
        }
        let mut t = Toks {
            toks: lex(src, pos)?,
            at: 0,
            pos,
        };
        let keyword = match t.peek() {
            Some(Tok::Ident(k))
                if matches!(k.as_str(), "if" | "range" | "with" | "else" | "end") =>
            {
                Some(k.clone())
            }
            _ => None,
        };
        match keyword.as_deref() {
            None => {
                let p = t.pipe(true)?;
                if t.peek().is_some() {
                    return Err(t.err("unexpected ) in action"));
                }
                nodes.push(Node::Action(p));
            }
            Some("end") => {
                t.at += 1;
                if t.peek().is_some() {
                    return Err(t.err("unexpected words after end"));
                }
                return Ok((nodes, End::Closed));
            }
            Some("else") => {
                t.at += 1;
                let cond = match t.peek() {
                    None => None,
                    Some(Tok::Ident(k)) if k == "if" => {
                        t.at += 1;
                        Some(t.pipe(false)?)
                    }
                    _ => return Err(t.err("else takes only `if COND`")),
                };
                return Ok((nodes, End::Else(cond)));
            }
            Some(kw) => {
                t.at += 1;
                let pipe = t.pipe(kw != "if")?;
                if t.peek().is_some() {
                    return Err(t.err("unexpected ) in action"));
                }
                nodes.push(control(kw, pipe, it, pos)?);
            }
        }
    }
    Ok((nodes, End::Eof))
}

fn control(kw: &str, pipe: Pipe, it: &mut Pieces<'_>, pos: usize) -> Result<Node, FormatError> {
    let unclosed = || FormatError::Parse {
        pos,
        msg: format!("{{{{{kw}}}}} has no {{{{end}}}}"),
    };
    let (body, mut end) = block(it)?;
    if kw == "if" {
        let mut branches = vec![(pipe, body)];
        loop {
            match end {
                End::Eof => return Err(unclosed()),
                End::Closed => return Ok(Node::If(branches, Vec::new())),
                End::Else(Some(cond)) => {
                    let (b, e) = block(it)?;
                    branches.push((cond, b));
                    end = e;
                }
                End::Else(None) => {
                    let (else_, e) = block(it)?;
                    return match e {
                        End::Closed => Ok(Node::If(branches, else_)),
                        _ => Err(unclosed()),
                    };
                }
            }
        }
    }
    let else_ = match end {
        End::Eof => return Err(unclosed()),
        End::Closed => Vec::new(),
        End::Else(Some(_)) => {
            return Err(FormatError::Parse {
                pos,
                msg: format!("else if inside {{{{{kw}}}}}"),
            })
        }
        End::Else(None) => match block(it)? {
            (e, End::Closed) => e,
            _ => return Err(unclosed()),
        },
    };
    Ok(if kw == "range" {
        Node::Range { pipe, body, else_ }
    } else {
        Node::With { pipe, body, else_ }
    })
}
