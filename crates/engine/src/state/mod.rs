//! The state database. Many `hull` processes may use it at once, so every connection runs in
//! WAL mode with a long busy timeout, and callers keep transactions short.

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
    hull_image::db::connect(path).map_err(err)
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
