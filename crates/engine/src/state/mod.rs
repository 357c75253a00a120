//! The state database. Many `hull` processes may use it at once, so every connection runs in
//! WAL mode with a long busy timeout, and callers keep transactions short. Its schema has one
//! home, `schema` (versioned by `PRAGMA user_version`, upgraded at open); `config` is the
//! stored run config's upgrade to its typed shape.
//!
//! Every statement on the engine's tables is here, one module per table, as typed functions
//! (the model's struct in, the model's struct out): `containers`, `volumes`, `networks`,
//! `leases` (with `ipam_cursors`), `pods`. The rest of the engine calls those; the modules
//! of the models (container, volume, network, pod) re-export them under their own names.

pub mod config;
pub mod containers;
pub mod leases;
pub mod networks;
pub mod pods;
pub mod schema;
pub mod volumes;

use std::path::Path;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("state database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "state database: schema version {found} is newer than this hull knows ({known}): \
         it was written by a newer hull"
    )]
    TooNew { found: u32, known: u32 },
    #[error("state database: upgrade to schema version {version} ({what}): {source}")]
    Migration {
        version: u32,
        what: &'static str,
        source: rusqlite::Error,
    },
}

/// Opens (creating if needed) the database at `path` with the settings concurrent use needs,
/// its schema brought to this hull's version (a newer one is refused).
pub fn open(path: &Path) -> Result<Connection, DbError> {
    let err = |source| DbError::Open {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut conn = hull_image::db::connect(path).map_err(err)?;
    schema::migrate(&mut conn).map_err(|e| match e {
        DbError::Sql(source) => err(source),
        other => other,
    })?;
    Ok(conn)
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before anything is
/// read, so concurrent hull processes run these one after another (the connection's busy
/// timeout waits for the lock). Rolled back when `f` fails.
pub fn immediate<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(v) => match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod upgrade_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("sub/hull.db")).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
