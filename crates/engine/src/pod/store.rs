//! The `pods` table, and the `pod_id` column of `containers` that ties a container to its pod.
//! A pod row holds what the pod was created with (its plan, as JSON), the id of its infra
//! container, its cgroup parent, and the manifest it came from (`kube down` removes by it).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::plan::{PodPlan, ShareSet};

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("no such pod: {0}")]
    NotFound(String),
    #[error("pod name {0:?} is already in use")]
    NameInUse(String),
    #[error("pod id prefix {0:?} is ambiguous")]
    Ambiguous(String),
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("pod {id}: stored plan: {source}")]
    Plan {
        id: String,
        source: serde_json::Error,
    },
}

/// One pod as stored.
#[derive(Debug, Clone)]
pub struct Pod {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub share: ShareSet,
    /// The infra container's id ("" until it is created).
    pub infra_id: String,
    /// The cgroup parent every container of the pod is placed under.
    pub cgroup_parent: String,
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// What the pod was created with (ports, limits, volumes, network; containers as played).
    pub plan: PodPlan,
    /// The manifest's absolute path for pods made by `kube play`, else "".
    pub kube_source: String,
}

impl Pod {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS pods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    share TEXT NOT NULL,
    infra_id TEXT NOT NULL DEFAULT '',
    cgroup_parent TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    plan TEXT NOT NULL,
    kube_source TEXT NOT NULL DEFAULT ''
)";

const COLUMNS: &str =
    "id, name, hostname, share, infra_id, cgroup_parent, labels, created, plan, kube_source";

/// Creates the pods table and adds `containers.pod_id` if the containers table lacks it.
/// Concurrent callers may race on the ALTER: the loser's "duplicate column" is success.
pub fn init(conn: &Connection) -> Result<(), PodError> {
    crate::container::init(conn).map_err(|e| match e {
        crate::container::ContainerError::Sql(e) => PodError::Sql(e),
        other => PodError::Sql(rusqlite::Error::InvalidParameterName(other.to_string())),
    })?;
    conn.execute_batch(SCHEMA)?;
    if !has_pod_column(conn)? {
        match conn
            .execute_batch("ALTER TABLE containers ADD COLUMN pod_id TEXT NOT NULL DEFAULT ''")
        {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(_, Some(msg))) if msg.contains("duplicate") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn has_pod_column(conn: &Connection) -> Result<bool, PodError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('containers')")?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names.iter().any(|n| n == "pod_id"))
}

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

/// Ties a container to a pod ("" unties it).
pub fn set_container_pod(
    conn: &Connection,
    container_id: &str,
    pod_id: &str,
) -> Result<(), PodError> {
    conn.execute(
        "UPDATE containers SET pod_id = ?2 WHERE id = ?1",
        params![container_id, pod_id],
    )?;
    Ok(())
}

/// The pod a container belongs to ("" for none).
pub fn pod_of(conn: &Connection, container_id: &str) -> Result<String, PodError> {
    Ok(conn
        .query_row(
            "SELECT pod_id FROM containers WHERE id = ?1",
            [container_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

/// The ids of a pod's containers (the infra included), oldest first.
pub fn container_ids(conn: &Connection, pod_id: &str) -> Result<Vec<String>, PodError> {
    let mut stmt =
        conn.prepare("SELECT id FROM containers WHERE pod_id = ?1 ORDER BY created ASC")?;
    let ids = stmt
        .query_map([pod_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        init(&conn).unwrap();
        init(&conn).unwrap();
        assert!(has_pod_column(&conn).unwrap());
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
             VALUES ('c1', 'web-infra', '', '', '1', '{}', 'created')",
            [],
        )
        .unwrap();
        set_container_pod(&conn, "c1", "abc1").unwrap();
        assert_eq!(pod_of(&conn, "c1").unwrap(), "abc1");
        assert_eq!(container_ids(&conn, "abc1").unwrap(), ["c1"]);
        assert_eq!(list(&conn).unwrap().len(), 2);
        assert!(delete(&conn, "abc1").unwrap());
        assert!(!delete(&conn, "abc1").unwrap());
    }
}
