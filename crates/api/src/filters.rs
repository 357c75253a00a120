//! docker's `filters` query parameter: a JSON map of name to values (a list, or a map of
//! value to true), checked against the names an endpoint knows.

use serde_json::Value;

use crate::{ApiError, ApiResult};

/// The filters of `q` by name, each name one of `known` (else docker's 400).
pub fn parse(q: Option<&str>, known: &[&str]) -> ApiResult<Vec<(String, Vec<String>)>> {
    let Some(q) = q.filter(|q| !q.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: Value =
        serde_json::from_str(q).map_err(|e| ApiError::bad(format!("invalid filter: {e}")))?;
    let mut out = Vec::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let vals: Vec<String> = match vals {
            Value::Array(a) => a
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect(),
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        if !known.contains(&k.as_str()) {
            return Err(ApiError::bad(format!("invalid filter '{k}'")));
        }
        out.push((k.clone(), vals));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_of_dockers_forms_and_unknown_names() {
        let f = parse(
            Some(r#"{"label":{"a=b":true},"until":["10m"]}"#),
            &["label", "until"],
        )
        .unwrap();
        assert_eq!(
            f,
            [
                ("label".to_string(), vec!["a=b".to_string()]),
                ("until".to_string(), vec!["10m".to_string()])
            ]
        );
        let e = parse(Some(r#"{"colour":["red"]}"#), &["label"]).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (400, "invalid filter 'colour'")
        );
    }
}
