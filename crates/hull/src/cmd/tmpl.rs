//! --format for ps and inspect: docker's Go templates through the engine's renderer when it
//! is there; until then the common subset: `{{.Path.To.Field}}` and `{{json .X}}`.

use serde_json::Value;

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .try_fold(v, |v, k| v.get(k))
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<no value>".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => format!(
            "map[{}]",
            o.iter()
                .map(|(k, v)| format!("{k}:{}", show(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

pub fn render(t: &str, v: &Value) -> String {
    let t = t.replace("\\n", "\n").replace("\\t", "\t");
    let mut out = String::new();
    let mut rest = t.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let expr = rest[start + 2..start + end].trim();
        let (json, path) = match expr.strip_prefix("json ") {
            Some(p) => (true, p.trim()),
            None => (false, expr),
        };
        let val = if path == "." {
            Some(v)
        } else {
            lookup(v, path)
        };
        match val {
            Some(x) if json => out.push_str(&x.to_string()),
            Some(x) => out.push_str(&show(x)),
            None => out.push_str("<no value>"),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}
