//! Executing a parsed template over a JSON value, with Go's rules for truth, printing and
//! field lookup.

use serde_json::Value;

use super::funcs;
use super::parse::{Arg, Node, Pipe};
use super::FormatError;

/// Header mode (a `table` format's first line): every field evaluates to its column title.
pub type Header<'a> = &'a dyn Fn(&[String]) -> String;

pub struct Exec<'a> {
    root: &'a Value,
    vars: Vec<(String, Value)>,
    header: Option<Header<'a>>,
    out: String,
}

impl<'a> Exec<'a> {
    pub fn new(root: &'a Value, header: Option<Header<'a>>) -> Self {
        Exec {
            root,
            vars: Vec::new(),
            header,
            out: String::new(),
        }
    }

    pub fn run(mut self, nodes: &[Node]) -> Result<String, FormatError> {
        let root = self.root.clone();
        self.nodes(nodes, &root)?;
        Ok(self.out)
    }

    fn nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<(), FormatError> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, dot: &Value) -> Result<(), FormatError> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipe(p, dot)?;
                if p.decl.is_empty() {
                    self.out.push_str(&print(&v));
                }
            }
            Node::If(branches, else_) => {
                let mark = self.vars.len();
                for (cond, body) in branches {
                    if truth(&self.pipe(cond, dot)?) {
                        self.nodes(body, dot)?;
                        self.vars.truncate(mark);
                        return Ok(());
                    }
                }
                self.nodes(else_, dot)?;
                self.vars.truncate(mark);
            }
            Node::With { pipe, body, else_ } => {
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot)?;
                if truth(&v) {
                    self.nodes(body, &v)?;
                } else {
                    self.nodes(else_, dot)?;
                }
                self.vars.truncate(mark);
            }
            Node::Range { pipe, body, else_ } => self.range(pipe, body, else_, dot)?,
        }
        Ok(())
    }

    fn range(
        &mut self,
        pipe: &Pipe,
        body: &[Node],
        else_: &[Node],
        dot: &Value,
    ) -> Result<(), FormatError> {
        let mark = self.vars.len();
        // The declared names bind per element, not to the whole value.
        let plain = Pipe {
            decl: Vec::new(),
            cmds: pipe.cmds.clone(),
        };
        let v = self.pipe(&plain, dot)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, e)| (Value::from(i), e.clone()))
                .collect(),
            Value::Object(m) => m
                .iter()
                .map(|(k, e)| (Value::String(k.clone()), e.clone()))
                .collect(),
            Value::Null => Vec::new(),
            // In a table's header line a field is its title: render the body once.
            Value::String(_) if self.header.is_some() => vec![(Value::Null, v.clone())],
            Value::Number(n) if n.as_u64().is_some() => (0..n.as_u64().unwrap_or(0))
                .map(|i| (Value::from(i), Value::from(i)))
                .collect(),
            other => {
                return Err(FormatError::Exec(format!(
                    "range can't iterate over {}",
                    type_name(other)
                )))
            }
        };
        if items.is_empty() {
            self.nodes(else_, dot)?;
        }
        for (k, e) in items {
            match pipe.decl.as_slice() {
                [] => {}
                [v] => self.vars.push((v.clone(), e.clone())),
                [kn, vn, ..] => {
                    self.vars.push((kn.clone(), k));
                    self.vars.push((vn.clone(), e.clone()));
                }
            }
            self.nodes(body, &e)?;
            self.vars.truncate(mark);
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &Value) -> Result<Value, FormatError> {
        let mut prev: Option<Value> = None;
        for cmd in &p.cmds {
            prev = Some(self.cmd(cmd, dot, prev)?);
        }
        let v = prev.unwrap_or(Value::Null);
        for name in &p.decl {
            self.vars.push((name.clone(), v.clone()));
        }
        Ok(v)
    }

    fn cmd(
        &mut self,
        args: &[Arg],
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, FormatError> {
        if let Some(Arg::Func(name)) = args.first() {
            let mut vals = Vec::with_capacity(args.len());
            for a in &args[1..] {
                vals.push(self.arg(a, dot)?);
            }
            if let Some(p) = piped {
                vals.push(p);
            }
            return funcs::call(name, &vals, self.header.is_some());
        }
        if args.len() > 1 || piped.is_some() {
            return Err(FormatError::Exec(format!(
                "{} is not a function: it takes no arguments",
                describe(&args[0])
            )));
        }
        self.arg(&args[0], dot)
    }

    fn arg(&mut self, a: &Arg, dot: &Value) -> Result<Value, FormatError> {
        match a {
            Arg::Field(path) => {
                if let Some(h) = self.header {
                    return Ok(Value::String(h(path)));
                }
                field(dot, path, "")
            }
            Arg::Var(name, path) => {
                if let Some(h) = self.header {
                    if !path.is_empty() {
                        return Ok(Value::String(h(path)));
                    }
                }
                let base = if name.is_empty() {
                    self.root.clone()
                } else {
                    self.vars
                        .iter()
                        .rev()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| FormatError::Exec(format!("undefined variable ${name}")))?
                };
                field(&base, path, &format!("${name}"))
            }
            Arg::Str(s) => Ok(Value::String(s.clone())),
            Arg::Num(n) => Ok(Value::Number(n.clone())),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Nil => Ok(Value::Null),
            Arg::Func(name) => funcs::call(name, &[], self.header.is_some()),
            Arg::Sub(p) => self.pipe(p, dot),
        }
    }
}

fn describe(a: &Arg) -> String {
    match a {
        Arg::Field(p) => format!(".{}", p.join(".")),
        Arg::Var(n, p) if p.is_empty() => format!("${n}"),
        Arg::Var(n, p) => format!("${n}.{}", p.join(".")),
        Arg::Str(s) => format!("{s:?}"),
        Arg::Num(n) => n.to_string(),
        Arg::Bool(b) => b.to_string(),
        Arg::Nil => "nil".into(),
        Arg::Func(f) => f.clone(),
        Arg::Sub(_) => "(...)".into(),
    }
}

/// What Go prints for a key missing from a map (`{{.Config.Labels.nokey}}`); false in `if`.
/// A struct's missing field is an error instead.
pub const NO_VALUE: &str = "\u{0}<no value>";

/// Whether the object `path[i]` is looked up in is a map (user keys: labels, options) and
/// not a struct: docker's struct fields start with an upper-case letter, and these maps are
/// the ones a script indexes by its own keys.
fn is_map(path: &[String], i: usize) -> bool {
    let parent = if i == 0 { "" } else { path[i - 1].as_str() };
    !path[i].starts_with(|c: char| c.is_ascii_uppercase())
        || matches!(
            parent,
            "Labels"
                | "Options"
                | "DriverOpts"
                | "Sysctls"
                | "Tmpfs"
                | "Networks"
                | "Ports"
                | "PortBindings"
                | "ExposedPorts"
                | "Volumes"
        )
}

/// `.A.B` of `v`; `prefix` names what the chain starts from, for the error.
fn field(v: &Value, path: &[String], prefix: &str) -> Result<Value, FormatError> {
    let mut cur = v;
    for (i, name) in path.iter().enumerate() {
        let so_far = format!("{prefix}.{}", path[..=i].join("."));
        cur = match cur {
            Value::Object(m) if !m.contains_key(name) && is_map(path, i) => {
                return Ok(Value::String(NO_VALUE.into()));
            }
            Value::Object(m) => m.get(name).ok_or_else(|| FormatError::NoField {
                field: so_far.clone(),
                known: m.keys().cloned().collect::<Vec<_>>().join(", "),
            })?,
            Value::Null => {
                return Err(FormatError::Exec(format!(
                    "{so_far}: {prefix}.{} is null",
                    path[..i].join(".")
                )))
            }
            other => {
                return Err(FormatError::Exec(format!(
                    "{so_far}: can't evaluate field {name} in a {}",
                    type_name(other)
                )))
            }
        };
    }
    Ok(cur.clone())
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// Go's truth: false, 0, "", nil and empty lists and maps are false.
pub fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty() && s != NO_VALUE,
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// How Go's `{{.X}}` prints a value: strings bare, lists as `[a b]`, maps as `map[k:v]`.
pub fn print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => print_number(n),
        Value::String(s) => s.strip_prefix('\u{0}').unwrap_or(s).to_string(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(print).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", print(v))).collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

pub fn print_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    // Go's %v of a float64: shortest representation, exponent form for large magnitudes.
    if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-4) {
        format!("{f:e}").replace('e', "e+").replace("e+-", "e-")
    } else {
        format!("{f}")
    }
}
