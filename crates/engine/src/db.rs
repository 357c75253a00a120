//! The state database. Many `hull` processes may use it at once, so every connection runs in
//! WAL mode with a long busy timeout, and callers keep transactions short.

use std::path::Path;
use std::time::Duration;

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
}

/// Opens (creating if needed) the database at `path` with the settings concurrent use needs.
pub fn open(path: &Path) -> Result<Connection, DbError> {
    let err = |source| DbError::Open {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(60)).map_err(err)?;
    // WAL lets readers run beside one writer; NORMAL sync is durable across a killed process
    // (only a power loss can drop the last commits).
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(err)?;
    // Every hull command is a short process: checkpointing the WAL (two fsyncs) each time one
    // closes its connection would cost more than the command's own writes. SQLite still
    // checkpoints when the WAL grows past its limit.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .map_err(err)?;
    Ok(conn)
}

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
