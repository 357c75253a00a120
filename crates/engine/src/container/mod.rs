//! The container model: one row of the `containers` table per container, its run config as
//! JSON, and lookups by name, full id or unique id prefix. The kernel is the truth for
//! "running": reconcile.rs sets a row right before a caller reports a status.

pub mod attach;
pub mod cgroup;
pub mod changes;
pub mod clock;
pub mod commit;
pub mod config;
pub mod cp;
pub mod create;
pub mod exec;
pub mod health;
pub mod inspect;
#[cfg(test)]
mod lifecycle_tests;
pub mod list;
pub mod logs;
pub mod modes;
pub mod names;
pub mod pause;
mod port;
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
    /// Its healthcheck's state (health.rs; not a column: the engine's lookups read it).
    pub health: Option<health::Health>,
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
            health: None,
        }
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

// The rows are kept by state::containers; these are its typed calls under the model's name.
pub use crate::state::containers::{
    bump_restart, delete, insert, list, lookup, rename, set_config, set_exited, set_running,
    set_status, set_stop_requested,
};

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
