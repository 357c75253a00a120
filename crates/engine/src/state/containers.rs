//! The `containers` table: one row per container, its run config as JSON (the model is
//! `container::Container`). Lookups by name, full id or unique id prefix; the status updates
//! each lifecycle step makes.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::container::config::RunConfig;
use crate::container::{Container, ContainerError, Status};

const COLUMNS: &str = "id, name, image_id, image, created, config, status, pid, monitor_pid, \
    exit_code, oom_killed, started_at, finished_at, restart_count, labels, stop_requested";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(Container, String)> {
    let labels: String = r.get(14)?;
    let config: String = r.get(5)?;
    let status: String = r.get(6)?;
    Ok((
        Container {
            id: r.get(0)?,
            name: r.get(1)?,
            image_id: r.get(2)?,
            image: r.get(3)?,
            created: r.get(4)?,
            config: RunConfig::default(),
            status: Status::parse(&status),
            pid: r.get(7)?,
            monitor_pid: r.get(8)?,
            exit_code: r.get(9)?,
            oom_killed: r.get::<_, i64>(10)? != 0,
            started_at: r.get(11)?,
            finished_at: r.get(12)?,
            restart_count: r.get(13)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            stop_requested: r.get::<_, i64>(15)? != 0,
            health: None,
        },
        config,
    ))
}

fn finish((mut c, config): (Container, String)) -> Result<Container, ContainerError> {
    c.config = serde_json::from_str(&config).map_err(|source| ContainerError::Config {
        id: c.id.clone(),
        source,
    })?;
    Ok(c)
}

/// Inserts a new container. A name already taken is `NameInUse` (the UNIQUE constraint
/// decides, so two concurrent creates with one name cannot both win).
pub fn insert(conn: &Connection, c: &Container) -> Result<(), ContainerError> {
    let config = serde_json::to_string(&c.config).expect("run config serializes");
    let labels = serde_json::to_string(&c.labels).expect("labels serialize");
    let res = conn.execute(
        &format!(
            "INSERT INTO containers ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ),
        params![
            c.id,
            c.name,
            c.image_id,
            c.image,
            c.created,
            config,
            c.status.as_str(),
            c.pid,
            c.monitor_pid,
            c.exit_code,
            c.oom_killed,
            c.started_at,
            c.finished_at,
            c.restart_count,
            labels,
            c.stop_requested,
        ],
    );
    match res {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, Some(msg)))
            if e.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("name") =>
        {
            Err(ContainerError::NameInUse(c.name.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Finds a container by exact name, full id, or unique id prefix (docker's order).
pub fn lookup(conn: &Connection, key: &str) -> Result<Container, ContainerError> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let q = format!("SELECT {COLUMNS} FROM containers WHERE name = ?1 OR id = ?1");
    if let Some(c) = conn.query_row(&q, [key], from_row).optional()? {
        return finish(c);
    }
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ContainerError::NotFound(key.into()));
    }
    // Ids are lowercase hex, so the ids starting with `key` are those from `key` up to
    // `key` + "g": a range on the primary key's index (LIKE 'key%' scans every row).
    let q = format!("SELECT {COLUMNS} FROM containers WHERE id >= ?1 AND id < ?2 LIMIT 2");
    let lower = key.to_ascii_lowercase();
    let mut stmt = conn.prepare(&q)?;
    let mut found: Vec<_> = stmt
        .query_map([lower.clone(), format!("{lower}g")], from_row)?
        .collect::<Result<_, _>>()?;
    match found.len() {
        0 => Err(ContainerError::NotFound(key.into())),
        1 => finish(found.remove(0)),
        _ => Err(ContainerError::Ambiguous(key.into())),
    }
}

/// Every container, newest first.
pub fn list(conn: &Connection) -> Result<Vec<Container>, ContainerError> {
    let q = format!("SELECT {COLUMNS} FROM containers ORDER BY created DESC");
    let mut stmt = conn.prepare(&q)?;
    let rows: Vec<_> = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
    rows.into_iter().map(finish).collect()
}

/// Removes the row; false if it was already gone.
pub fn delete(conn: &Connection, id: &str) -> Result<bool, ContainerError> {
    Ok(conn.execute("DELETE FROM containers WHERE id = ?1", [id])? > 0)
}

/// Renames (docker rename): `NameInUse` if taken.
pub fn rename(conn: &Connection, id: &str, name: &str) -> Result<(), ContainerError> {
    match conn.execute("UPDATE containers SET name = ?2 WHERE id = ?1", [id, name]) {
        Ok(0) => Err(ContainerError::NotFound(id.into())),
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(ContainerError::NameInUse(name.into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Records that the container's init runs as `pid` (after the runtime's create).
pub fn set_running(
    conn: &Connection,
    id: &str,
    pid: i32,
    monitor_pid: i32,
    started_at: &str,
) -> Result<(), ContainerError> {
    conn.execute(
        "UPDATE containers SET status = 'running', pid = ?2, monitor_pid = ?3, started_at = ?4, \
         finished_at = NULL, exit_code = 0, oom_killed = 0, stop_requested = 0 WHERE id = ?1",
        params![id, pid, monitor_pid, started_at],
    )?;
    Ok(())
}

/// Records the end of the container's init.
pub fn set_exited(
    conn: &Connection,
    id: &str,
    code: i32,
    oom: bool,
    finished_at: &str,
) -> Result<(), ContainerError> {
    conn.execute(
        "UPDATE containers SET status = 'exited', pid = 0, exit_code = ?2, oom_killed = ?3, \
         finished_at = ?4 WHERE id = ?1",
        params![id, code, oom, finished_at],
    )?;
    Ok(())
}

/// Sets only the status column (pause, unpause, restarting, dead).
pub fn set_status(conn: &Connection, id: &str, status: Status) -> Result<(), ContainerError> {
    conn.execute(
        "UPDATE containers SET status = ?2 WHERE id = ?1",
        params![id, status.as_str()],
    )?;
    Ok(())
}

/// Marks a stop asked for by the user (no restart policy applies after it), or clears it.
pub fn set_stop_requested(conn: &Connection, id: &str, on: bool) -> Result<(), ContainerError> {
    conn.execute(
        "UPDATE containers SET stop_requested = ?2 WHERE id = ?1",
        params![id, on],
    )?;
    Ok(())
}

/// One more restart by the policy: status restarting, count + 1.
pub fn bump_restart(conn: &Connection, id: &str) -> Result<(), ContainerError> {
    conn.execute(
        "UPDATE containers SET status = 'restarting', restart_count = restart_count + 1 \
         WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Replaces the stored run config (update, rename of resources...).
pub fn set_config(conn: &Connection, id: &str, config: &RunConfig) -> Result<(), ContainerError> {
    let json = serde_json::to_string(config).expect("run config serializes");
    conn.execute(
        "UPDATE containers SET config = ?2 WHERE id = ?1",
        params![id, json],
    )?;
    Ok(())
}

/// The `--network container:NAME` values (as given) of the containers whose processes exist:
/// who may have joined another container's network namespace. A range on the indexed
/// expression (schema v4), so only joiners are read.
pub(crate) const NETWORK_JOINERS: &str = "SELECT json_extract(config, '$.network_mode') \
     FROM containers \
     WHERE json_extract(config, '$.network_mode') >= 'container:' \
     AND json_extract(config, '$.network_mode') < 'container;' \
     AND status IN ('running', 'paused', 'restarting')";

pub fn network_joiners(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(NETWORK_JOINERS)?;
    let v = st.query_map([], |r| r.get::<_, String>(0))?.collect();
    v
}

/// A pod's containers, through the indexed expression (schema v4).
pub(crate) const OF_POD: &str = "SELECT id FROM containers \
     WHERE json_extract(config, '$.pod.id') = ?1 ORDER BY created ASC";

/// The ids of a pod's containers (its run config's `pod.id`; the infra included), oldest
/// first.
pub fn of_pod(conn: &Connection, pod_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(OF_POD)?;
    let ids = stmt.query_map([pod_id], |r| r.get(0))?.collect();
    ids
}
