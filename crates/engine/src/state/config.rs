//! The stored run config's upgrade (migration 2): the JSON hull wrote before the run config
//! was typed, rewritten into today's shape in place, once, so `RunConfig` reads one shape only.
//!
//! What changed:
//! - `extra` (a map of engine extensions) became named fields: `extra.pod` -> `pod`,
//!   `extra.net` -> `net`, `extra.Clock` -> `clock`, `extra.cgroup` -> `cgroup`;
//! - a volume mount whose source is 64 hex digits (the name hull gives an anonymous volume)
//!   is marked `anonymous: true`.
//!
//! The pod's id is also the `containers.pod_id` column in version 1; migration 2 keeps it in
//! the config only (`pod.id`), filling the config from the column where only that had it.

use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

/// `extra` keys and the fields they became.
const NAMED: [(&str, &str); 4] = [
    ("pod", "pod"),
    ("net", "net"),
    ("Clock", "clock"),
    ("cgroup", "cgroup"),
];

/// Rewrites one stored run config into today's shape. A config already in it is returned
/// unchanged, so running it twice is harmless.
pub fn upgrade(mut cfg: Value) -> Value {
    let Some(obj) = cfg.as_object_mut() else {
        return cfg;
    };
    if let Some(Value::Object(mut extra)) = obj.remove("extra") {
        for (key, field) in NAMED {
            if let Some(v) = extra.remove(key) {
                obj.insert(field.into(), v);
            }
        }
        // Nothing else was ever stored there; kept rather than dropped if something was.
        if !extra.is_empty() {
            obj.insert("extra".into(), Value::Object(extra));
        }
    }
    if let Some(Value::Array(mounts)) = obj.get_mut("mounts") {
        for m in mounts.iter_mut().filter_map(Value::as_object_mut) {
            let anonymous = m.get("kind").and_then(Value::as_str) == Some("volume")
                && m.get("source")
                    .and_then(Value::as_str)
                    .is_some_and(is_random_name);
            if anonymous && !m.contains_key("anonymous") {
                m.insert("anonymous".into(), json!(true));
            }
        }
    }
    cfg
}

/// The name hull gives a volume created without one: 64 hex digits.
fn is_random_name(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Migration 2's data step: every container's config upgraded, the pod id from the column
/// folded into it where the config lacked it.
pub fn upgrade_rows(conn: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare("SELECT id, config, pod_id FROM containers")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, text, pod_id) in rows {
        let stored: Value = serde_json::from_str(&text).map_err(|e| bad_json(&id, e))?;
        let mut cfg = upgrade(stored);
        if !pod_id.is_empty() {
            if let Some(obj) = cfg.as_object_mut() {
                let pod = obj
                    .entry("pod")
                    .or_insert_with(|| Value::Object(Map::new()));
                if pod.get("id").is_none() {
                    pod["id"] = json!(pod_id);
                }
            }
        }
        conn.execute(
            "UPDATE containers SET config = ?2 WHERE id = ?1",
            params![id, cfg.to_string()],
        )?;
    }
    Ok(())
}

fn bad_json(id: &str, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        5,
        rusqlite::types::Type::Text,
        format!("container {id}: stored config: {e}").into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANON: &str = "d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b";

    #[test]
    fn extra_becomes_named_fields() {
        let old = json!({"cmd": ["date"], "extra": {
            "Clock": {"Faketime": "@2020-12-24 20:30:00"},
            "cgroup": {"manager": "cgroupfs", "ns": "host"},
            "pod": {"id": "p1", "name": "shop"},
            "net": {"networks": ["appnet"], "aliases": ["web"]}
        }});
        let new = upgrade(old);
        assert_eq!(new["clock"], json!({"Faketime": "@2020-12-24 20:30:00"}));
        assert_eq!(new["cgroup"]["manager"], "cgroupfs");
        assert_eq!(new["pod"], json!({"id": "p1", "name": "shop"}));
        assert_eq!(new["net"]["aliases"], json!(["web"]));
        assert!(new.get("extra").is_none(), "{new}");
        assert_eq!(new["cmd"], json!(["date"]));
    }

    #[test]
    fn a_random_volume_name_marks_an_anonymous_volume_and_nothing_else_does() {
        let old = json!({"mounts": [
            {"kind": "volume", "source": ANON, "target": "/anon"},
            {"kind": "volume", "source": "data", "target": "/data"},
            {"kind": "bind", "source": format!("/{}", &ANON[1..]), "target": "/b"},
            {"kind": "volume", "source": "x".repeat(64), "target": "/x"}
        ]});
        let m = upgrade(old)["mounts"].clone();
        let flags: Vec<bool> = m
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["anonymous"] == json!(true))
            .collect();
        assert_eq!(flags, [true, false, false, false]);
    }

    #[test]
    fn upgrading_twice_changes_nothing_more() {
        let old = json!({"extra": {"pod": {"id": "p", "name": "n"}}, "uidmap": ["0:1:2"],
                         "mounts": [{"kind": "volume", "source": ANON, "target": "/a"}]});
        let once = upgrade(old);
        assert_eq!(upgrade(once.clone()), once);
    }
}
