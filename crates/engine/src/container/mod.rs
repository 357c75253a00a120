//! The container model: one row of the `containers` table per container, its run config as
//! JSON, and lookups by name, full id or unique id prefix. The kernel is the truth for
//! "running": reconcile.rs sets a row right before a caller reports a status.

pub mod cgroup;
pub mod changes;
pub mod clock;
pub mod commit;
pub mod config;
pub mod cp;
pub mod create;
pub mod exec;
pub mod inspect;
#[cfg(test)]
mod lifecycle_tests;
pub mod logs;
pub mod modes;
pub mod names;
pub mod pause;
pub mod prune;
pub mod reconcile;
pub mod remove;
pub mod rename;
pub mod restart;
pub mod start;
pub mod stats;
pub mod stop;
pub mod tuning;
pub mod update;

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::container::config::RunConfig;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("container name {0:?} is already in use")]
    NameInUse(String),
    #[error("container id prefix {0:?} is ambiguous")]
    Ambiguous(String),
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("container {id}: stored config: {source}")]
    Config {
        id: String,
        source: serde_json::Error,
    },
}

/// docker's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Status {
        match s {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "exited" => Status::Exited,
            _ => Status::Dead,
        }
    }

    /// Running or paused: the container's processes exist.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// One container as stored.
#[derive(Debug, Clone)]
pub struct Container {
    /// 64 hex digits.
    pub id: String,
    /// Unique, without docker's leading '/'.
    pub name: String,
    pub image_id: String,
    /// The image as the user named it.
    pub image: String,
    /// RFC 3339.
    pub created: String,
    /// The effective run config (image defaults merged with the command line).
    pub config: RunConfig,
    pub status: Status,
    /// The container's init as the host sees it (0 when not running).
    pub pid: i32,
    /// The hull-monitor process holding the container's stdio (0 when none).
    pub monitor_pid: i32,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub restart_count: u32,
    pub labels: BTreeMap<String, String>,
    /// Set by stop/kill/rm so a restart policy does not bring the container back.
    pub stop_requested: bool,
}

impl Container {
    /// A container just created (not yet stored): status created, never run, created now.
    pub fn new(
        id: String,
        name: String,
        image_id: String,
        image: String,
        config: RunConfig,
    ) -> Self {
        Container {
            id,
            name,
            image_id,
            image,
            created: crate::time::nanotime::now_nanos(),
            config,
            status: Status::Created,
            pid: 0,
            monitor_pid: 0,
            exit_code: 0,
            oom_killed: false,
            started_at: None,
            finished_at: None,
            restart_count: 0,
            labels: BTreeMap::new(),
            stop_requested: false,
        }
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

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

/// A process exists and is not a zombie.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, name: &str) -> Container {
        let config = RunConfig::default();
        Container::new(
            id.into(),
            name.into(),
            "img".into(),
            "busybox".into(),
            config,
        )
    }

    #[test]
    fn insert_lookup_prefix_and_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::state::open(&dir.path().join("hull.db")).unwrap();
        insert(&conn, &sample("abc123", "web")).unwrap();
        insert(&conn, &sample("abd456", "db")).unwrap();
        assert_eq!(lookup(&conn, "web").unwrap().id, "abc123");
        assert_eq!(lookup(&conn, "/db").unwrap().id, "abd456");
        assert_eq!(lookup(&conn, "abc").unwrap().name, "web");
        assert!(matches!(
            lookup(&conn, "ab"),
            Err(ContainerError::Ambiguous(_))
        ));
        assert!(matches!(
            lookup(&conn, "zz"),
            Err(ContainerError::NotFound(_))
        ));
        assert!(matches!(
            insert(&conn, &sample("fff", "web")),
            Err(ContainerError::NameInUse(_))
        ));
        assert!(matches!(
            rename(&conn, "abc123", "db"),
            Err(ContainerError::NameInUse(_))
        ));
        set_running(&conn, "abc123", 42, 41, "t").unwrap();
        let c = lookup(&conn, "web").unwrap();
        assert_eq!((c.status, c.pid), (Status::Running, 42));
        assert_eq!(list(&conn).unwrap().len(), 2);
        assert!(delete(&conn, "abc123").unwrap());
        assert!(!delete(&conn, "abc123").unwrap());
    }
}
