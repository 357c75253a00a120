//! The `pods` table: one row per pod (the model is `pod::Pod`), its plan as JSON.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::pod::plan::{PodPlan, ShareSet};
use crate::pod::{Pod, PodError};

const COLUMNS: &str =
    "id, name, hostname, share, infra_id, cgroup_parent, labels, created, plan, kube_source";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(Pod, String)> {
    let share: String = r.get(3)?;
    let labels: String = r.get(6)?;
    Ok((
        Pod {
            id: r.get(0)?,
            name: r.get(1)?,
            hostname: r.get(2)?,
            share: ShareSet::parse(&share).unwrap_or(ShareSet::NONE),
            infra_id: r.get(4)?,
            cgroup_parent: r.get(5)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            created: r.get(7)?,
            plan: PodPlan::default(),
            kube_source: r.get(9)?,
        },
        r.get(8)?,
    ))
}

fn finish((mut p, plan): (Pod, String)) -> Result<Pod, PodError> {
    p.plan = serde_json::from_str(&plan).map_err(|source| PodError::Plan {
        id: p.id.clone(),
        source,
    })?;
    Ok(p)
}

/// Inserts a new pod; a taken name is `NameInUse` (decided by the UNIQUE constraint).
pub fn insert(conn: &Connection, p: &Pod) -> Result<(), PodError> {
    let plan = serde_json::to_string(&p.plan).expect("pod plan serializes");
    let labels = serde_json::to_string(&p.labels).expect("labels serialize");
    let res = conn.execute(
        &format!("INSERT INTO pods ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            p.id,
            p.name,
            p.hostname,
            p.share.names(),
            p.infra_id,
            p.cgroup_parent,
            labels,
            p.created,
            plan,
            p.kube_source,
        ],
    );
    match res {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, Some(msg)))
            if e.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("name") =>
        {
            Err(PodError::NameInUse(p.name.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Finds a pod by exact name, full id, or unique id prefix.
pub fn lookup(conn: &Connection, key: &str) -> Result<Pod, PodError> {
    let q = format!("SELECT {COLUMNS} FROM pods WHERE name = ?1 OR id = ?1");
    if let Some(p) = conn.query_row(&q, [key], from_row).optional()? {
        return finish(p);
    }
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PodError::NotFound(key.into()));
    }
    let q = format!("SELECT {COLUMNS} FROM pods WHERE id LIKE ?1 || '%' LIMIT 2");
    let mut stmt = conn.prepare(&q)?;
    let mut found: Vec<_> = stmt
        .query_map([key.to_ascii_lowercase()], from_row)?
        .collect::<Result<_, _>>()?;
    match found.len() {
        0 => Err(PodError::NotFound(key.into())),
        1 => finish(found.remove(0)),
        _ => Err(PodError::Ambiguous(key.into())),
    }
}

/// Every pod, newest first.
pub fn list(conn: &Connection) -> Result<Vec<Pod>, PodError> {
    let q = format!("SELECT {COLUMNS} FROM pods ORDER BY created DESC");
    let mut stmt = conn.prepare(&q)?;
    let rows: Vec<_> = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
    rows.into_iter().map(finish).collect()
}

/// Removes the row; false if it was already gone.
pub fn delete(conn: &Connection, id: &str) -> Result<bool, PodError> {
    Ok(conn.execute("DELETE FROM pods WHERE id = ?1", [id])? > 0)
}

/// Records the infra container.
pub fn set_infra(conn: &Connection, id: &str, infra_id: &str) -> Result<(), PodError> {
    conn.execute(
        "UPDATE pods SET infra_id = ?2 WHERE id = ?1",
        params![id, infra_id],
    )?;
    Ok(())
}

/// Every pod's id.
pub fn ids(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT id FROM pods")?;
    let v = st.query_map([], |r| r.get::<_, String>(0))?.collect();
    v
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::state::containers::of_pod as container_ids;

    fn sample(id: &str, name: &str) -> Pod {
        Pod {
            id: id.into(),
            name: name.into(),
            hostname: name.into(),
            share: ShareSet::default(),
            infra_id: String::new(),
            cgroup_parent: String::new(),
            labels: BTreeMap::from([("a".into(), "b".into())]),
            created: crate::time::nanotime::now_nanos(),
            plan: PodPlan {
                name: name.into(),
                memory: 64 << 20,
                ..PodPlan::default()
            },
            kube_source: String::new(),
        }
    }

    #[test]
    fn pods_table_and_container_column() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::state::open(&dir.path().join("hull.db")).unwrap();
        insert(&conn, &sample("abc1", "web")).unwrap();
        insert(&conn, &sample("abd2", "db")).unwrap();
        assert!(matches!(
            insert(&conn, &sample("fff", "web")),
            Err(PodError::NameInUse(_))
        ));
        let p = lookup(&conn, "web").unwrap();
        assert_eq!((p.id.as_str(), p.plan.memory), ("abc1", 64 << 20));
        assert_eq!(p.share, ShareSet::default());
        assert_eq!(p.labels["a"], "b");
        assert_eq!(lookup(&conn, "abd").unwrap().name, "db");
        assert!(matches!(lookup(&conn, "ab"), Err(PodError::Ambiguous(_))));
        assert!(matches!(lookup(&conn, "zz"), Err(PodError::NotFound(_))));
        set_infra(&conn, "abc1", "c1").unwrap();
        assert_eq!(lookup(&conn, "web").unwrap().infra_id, "c1");
        conn.execute(
            "INSERT INTO containers (id, name, image_id, image, created, config, status) \
             VALUES ('c1', 'web-infra', '', '', '1', '{\"pod\":{\"id\":\"abc1\"}}', 'created')",
            [],
        )
        .unwrap();
        assert_eq!(container_ids(&conn, "abc1").unwrap(), ["c1"]);
        assert_eq!(list(&conn).unwrap().len(), 2);
        assert!(delete(&conn, "abc1").unwrap());
        assert!(!delete(&conn, "abc1").unwrap());
    }
}
