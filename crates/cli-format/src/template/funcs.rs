//! The template functions: Go's builtins (index, len, printf, eq, and, ...) and docker's
//! additions (json, join, split, lower, upper, title, pad, truncate).

use serde_json::Value;

use super::exec::{print, print_number, truth, type_name};
use super::FormatError;

fn bad(name: &str, msg: impl std::fmt::Display) -> FormatError {
    FormatError::Exec(format!("{name}: {msg}"))
}

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), FormatError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(bad(
            name,
            format!("wants {n} argument(s), got {}", args.len()),
        ))
    }
}

fn as_str<'v>(name: &str, v: &'v Value) -> Result<&'v str, FormatError> {
    v.as_str()
        .ok_or_else(|| bad(name, format!("wants a string, got a {}", type_name(v))))
}

fn as_int(name: &str, v: &Value) -> Result<i64, FormatError> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| bad(name, format!("wants an integer, got {}", print(v))))
}

/// Calls function `name`. In a table's header line fields are their titles (strings), so the
/// functions that pick from or reshape a value hand the title through unchanged.
pub fn call(name: &str, args: &[Value], header: bool) -> Result<Value, FormatError> {
    if header
        && matches!(name, "json" | "index" | "join" | "split" | "slice" | "len")
        && args.first().is_some_and(Value::is_string)
    {
        return Ok(args[0].clone());
    }
    match name {
        "json" => {
            want_args(name, args, 1)?;
            serde_json::to_string(&args[0])
                .map(Value::String)
                .map_err(|e| bad(name, e))
        }
        "lower" | "upper" | "title" => {
            want_args(name, args, 1)?;
            let s = print(&args[0]);
            Ok(Value::String(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => title(&s),
            }))
        }
        "join" => {
            want_args(name, args, 2)?;
            let sep = as_str(name, &args[1])?;
            match &args[0] {
                Value::Array(a) => Ok(Value::String(
                    a.iter().map(print).collect::<Vec<_>>().join(sep),
                )),
                Value::Null => Ok(Value::String(String::new())),
                Value::String(s) => Ok(Value::String(s.clone())),
                other => Err(bad(
                    name,
                    format!("wants a list, got a {}", type_name(other)),
                )),
            }
        }
        "split" => {
            want_args(name, args, 2)?;
            let s = as_str(name, &args[0])?;
            let sep = as_str(name, &args[1])?;
            Ok(Value::Array(
                s.split(sep).map(|p| Value::String(p.into())).collect(),
            ))
        }
        "pad" => {
            want_args(name, args, 3)?;
            let s = print(&args[0]);
            let (pre, post) = (as_int(name, &args[1])?, as_int(name, &args[2])?);
            Ok(Value::String(format!(
                "{}{s}{}",
                " ".repeat(pre.max(0) as usize),
                " ".repeat(post.max(0) as usize)
            )))
        }
        "truncate" => {
            want_args(name, args, 2)?;
            let s = print(&args[0]);
            let n = as_int(name, &args[1])?.max(0) as usize;
            Ok(Value::String(s.chars().take(n).collect()))
        }
        "printf" => {
            let (fmt, rest) = args
                .split_first()
                .ok_or_else(|| bad(name, "wants a format string"))?;
            Ok(Value::String(sprintf(as_str(name, fmt)?, rest)))
        }
        "print" => Ok(Value::String(go_print(args))),
        "println" => {
            let items: Vec<String> = args.iter().map(print).collect();
            Ok(Value::String(format!("{}\n", items.join(" "))))
        }
        "index" => index(args),
        "slice" => slice(args),
        "len" => {
            want_args(name, args, 1)?;
            match &args[0] {
                Value::String(s) => Ok(Value::from(s.len())),
                Value::Array(a) => Ok(Value::from(a.len())),
                Value::Object(m) => Ok(Value::from(m.len())),
                Value::Null => Ok(Value::from(0)),
                other => Err(bad(
                    name,
                    format!("len of a {} is undefined", type_name(other)),
                )),
            }
        }
        "not" => {
            want_args(name, args, 1)?;
            Ok(Value::Bool(!truth(&args[0])))
        }
        "and" | "or" => {
            if args.is_empty() {
                return Err(bad(name, "wants at least 1 argument"));
            }
            let want = name == "or";
            Ok(args
                .iter()
                .find(|a| truth(a) == want)
                .unwrap_or(&args[args.len() - 1])
                .clone())
        }
        "eq" => {
            if args.len() < 2 {
                return Err(bad(name, "wants at least 2 arguments"));
            }
            Ok(Value::Bool(args[1..].iter().any(|b| equal(&args[0], b))))
        }
        "ne" => {
            want_args(name, args, 2)?;
            Ok(Value::Bool(!equal(&args[0], &args[1])))
        }
        "lt" | "le" | "gt" | "ge" => {
            want_args(name, args, 2)?;
            let ord = compare(&args[0], &args[1]).ok_or_else(|| {
                bad(
                    name,
                    format!(
                        "cannot compare a {} with a {}",
                        type_name(&args[0]),
                        type_name(&args[1])
                    ),
                )
            })?;
            use std::cmp::Ordering::*;
            Ok(Value::Bool(match name {
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            }))
        }
        _ => Err(FormatError::Exec(format!("function {name:?} not defined"))),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `index X K1 K2...`: a map's key (missing keys give ""), a list's position.
fn index(args: &[Value]) -> Result<Value, FormatError> {
    let (first, keys) = args
        .split_first()
        .ok_or_else(|| bad("index", "wants a value to index"))?;
    let mut cur = first.clone();
    for k in keys {
        cur = match (&cur, k) {
            (Value::Object(m), Value::String(s)) => {
                m.get(s).cloned().unwrap_or(Value::String(String::new()))
            }
            (Value::Null, _) => Value::String(String::new()),
            (Value::Array(a), _) => {
                let i = as_int("index", k)?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        bad(
                            "index",
                            format!("index {i} out of range (length {})", a.len()),
                        )
                    })?
            }
            (c, k) => {
                return Err(bad(
                    "index",
                    format!("cannot index a {} with {}", type_name(c), print(k)),
                ))
            }
        };
    }
    Ok(cur)
}

fn slice(args: &[Value]) -> Result<Value, FormatError> {
    let (first, bounds) = args
        .split_first()
        .ok_or_else(|| bad("slice", "wants a value to slice"))?;
    let len = match first {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        other => return Err(bad("slice", format!("cannot slice a {}", type_name(other)))),
    };
    let lo = bounds
        .first()
        .map(|b| as_int("slice", b))
        .transpose()?
        .unwrap_or(0);
    let hi = bounds
        .get(1)
        .map(|b| as_int("slice", b))
        .transpose()?
        .unwrap_or(len as i64);
    if lo < 0 || hi < lo || hi as usize > len {
        return Err(bad(
            "slice",
            format!("bounds [{lo}:{hi}] out of range (length {len})"),
        ));
    }
    let (lo, hi) = (lo as usize, hi as usize);
    Ok(match first {
        Value::String(s) => Value::String(
            s.get(lo..hi)
                .ok_or_else(|| bad("slice", "bounds split a character"))?
                .to_string(),
        ),
        Value::Array(a) => Value::Array(a[lo..hi].to_vec()),
        _ => unreachable!("checked above"),
    })
}

/// Go's fmt.Sprint: spaces only between operands when neither is a string.
fn go_print(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&print(a));
    }
    out
}

/// Go's fmt.Sprintf for the verbs templates use: %v %s %d %q %f %g %e %x %X %t %c %%, with
/// flags `-+ 0#`, width and precision.
pub fn sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        let mut plus = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        let body = format_one(verb, arg, prec, plus);
        let width: usize = width.parse().unwrap_or(0);
        let n = body.chars().count();
        if n >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(width - n));
        } else if zero && arg.is_number() {
            let (sign, digits) = match body.strip_prefix(['-', '+']) {
                Some(d) => (&body[..1], d),
                None => ("", body.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(width - n));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(width - n));
            out.push_str(&body);
        }
    }
    for extra in args.iter().skip(next_arg) {
        out.push_str(&format!("%!(EXTRA {})", print(extra)));
    }
    out
}

fn format_one(verb: char, arg: &Value, prec: Option<usize>, plus: bool) -> String {
    let sign = |s: String, positive: bool| {
        if plus && positive {
            format!("+{s}")
        } else {
            s
        }
    };
    match (verb, arg) {
        ('d', Value::Number(n)) => match n.as_i64() {
            Some(i) => sign(i.to_string(), i >= 0),
            None => print_number(n),
        },
        ('f' | 'F', Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(0.0);
            sign(format!("{f:.*}", prec.unwrap_or(6)), f >= 0.0)
        }
        ('e', Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(0.0);
            let s = format!("{f:.*e}", prec.unwrap_or(6));
            // Go writes the exponent with a sign and two digits: 1.5e+03.
            let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
            let (es, ed) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            sign(format!("{m}e{es}{ed:0>2}"), f >= 0.0)
        }
        ('g' | 'v', Value::Number(n)) => sign(print_number(n), n.as_f64().unwrap_or(0.0) >= 0.0),
        ('x' | 'X', Value::Number(n)) if n.as_i64().is_some() => {
            let i = n.as_i64().unwrap_or(0);
            let s = if i < 0 {
                format!("-{:x}", i.unsigned_abs())
            } else {
                format!("{i:x}")
            };
            if verb == 'X' {
                s.to_uppercase()
            } else {
                s
            }
        }
        ('x' | 'X', Value::String(s)) => {
            let h: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' {
                h.to_uppercase()
            } else {
                h
            }
        }
        ('c', Value::Number(n)) => n
            .as_u64()
            .and_then(|u| u32::try_from(u).ok())
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_else(|| "\u{fffd}".into()),
        ('q', Value::String(s)) => serde_json::to_string(s).unwrap_or_default(),
        ('t', Value::Bool(b)) => b.to_string(),
        ('s' | 'v', _) => {
            let s = print(arg);
            match prec {
                Some(p) if verb == 's' => s.chars().take(p).collect(),
                _ => s,
            }
        }
        (v, a) => format!("%!{v}({}={})", type_name(a), print(a)),
    }
}
