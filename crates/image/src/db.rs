//! The image store's tables in hull's state database (`<root>/hull.db`, shared with the
//! engine, whose tables have other prefixes). WAL mode and a long busy timeout let many
//! `hull` processes use it at once; writers take the lock up front (BEGIN IMMEDIATE) so a
//! transaction never fails half-way when it upgrades from reading to writing.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::ImageError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS layer_layers (
    diff_id     TEXT PRIMARY KEY,   -- sha256 of the uncompressed tar; names layers/<hex>
    blob_digest TEXT NOT NULL,      -- the blob it was unpacked from, kept in blobs/sha256
    blob_size   INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    diff_size   INTEGER NOT NULL,   -- bytes of the uncompressed tar
    added       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_images (
    id              TEXT PRIMARY KEY,   -- sha256:<hex of the config blob>
    manifest_digest TEXT,
    created         TEXT,
    size            INTEGER NOT NULL,
    added           INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL REFERENCES image_images(id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    diff_id  TEXT NOT NULL REFERENCES layer_layers(diff_id),
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX IF NOT EXISTS image_layers_by_diff ON image_layers(diff_id);
CREATE TABLE IF NOT EXISTS image_names (
    name     TEXT PRIMARY KEY,          -- docker.io/library/busybox:latest, repo@sha256:...
    image_id TEXT NOT NULL REFERENCES image_images(id) ON DELETE CASCADE,
    added    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS image_names_by_image ON image_names(image_id);
";

/// How long a statement waits for another process's lock.
const BUSY_MS: u64 = 60_000;

/// A connection to the state database at `path` with the settings every user of it (this
/// store and the engine) needs for many `hull` processes at once.
pub fn connect(path: &Path) -> rusqlite::Result<Connection> {
    // The database holds every container's environment: its owner's alone. SQLite gives the
    // -wal and -shm files the database's mode; an older store's are fixed here too.
    let private = || -> std::io::Result<()> {
        if !path.exists() {
            crate::perms::write_private(path, b"")?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            crate::perms::fix_file(Path::new(&p), 0o600)?;
        }
        Ok(())
    };
    private().map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_PERM),
            Some(format!("{}: {e}", path.display())),
        )
    })?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(BUSY_MS))?;
    // WAL lets readers run beside one writer; NORMAL sync is durable across a killed process
    // (only a power loss can drop the last commits).
    // Switching a new database to WAL takes an exclusive lock without the busy handler's
    // help: another process opening it at the same moment makes it fail with SQLITE_BUSY at
    // once. Retried here, for as long as the busy timeout.
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < until =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            r => break r?,
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Every hull command is a short process: checkpointing the WAL (two fsyncs) each time one
    // closes its connection would cost more than the command's own writes. SQLite still
    // checkpoints when the WAL grows past its limit.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    // But the WAL outlives every command, and each command is the first to open it since
    // the last one closed: it rebuilds the WAL's index by reading every frame in the file,
    // forgetting what was checkpointed, so a plain checkpoint never lets the log start over.
    // It held 1,000 pages at 1,000 containers: 4 MB read and checksummed by every `hull
    // exec` or `inspect` (3 ms of an exec's 18). So the first command to find it longer
    // than WAL_PAGES truncates it: the next ones read at most that.
    truncate_long_wal(&conn, path)?;
    Ok(conn)
}

/// The WAL's length, in pages, from which opening the database truncates it.
const WAL_PAGES: u64 = 64;

/// Moves the WAL into the database and truncates it, when it holds WAL_PAGES or more. It
/// waits for nobody: with another process reading or writing it leaves the WAL as it is
/// (the next command tries again).
fn truncate_long_wal(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    if len < WAL_PAGES * (4096 + 24) {
        return Ok(());
    }
    conn.busy_timeout(Duration::ZERO)?;
    // A checkpoint that cannot finish answers busy (in its row, or as an error): not ours
    // to fail on.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    conn.busy_timeout(Duration::from_millis(BUSY_MS))
}

pub(crate) fn open(path: &Path) -> Result<Connection, ImageError> {
    let err = |e: rusqlite::Error| ImageError::Other(format!("{}: {e}", path.display()));
    let conn = connect(path).map_err(err)?;
    // Most opens find the tables there: check with a read, so twenty `hull` commands
    // starting at once do not queue for the write lock just to learn that.
    let have: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN
             ('layer_layers', 'image_images', 'image_layers', 'image_names')",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    if have < 4 {
        let tx = write(&conn)?;
        tx.execute_batch(SCHEMA).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(conn)
}

/// A write transaction holding the database's write lock from its first statement.
pub(crate) fn write(conn: &Connection) -> Result<Transaction<'_>, ImageError> {
    Ok(Transaction::new_unchecked(
        conn,
        TransactionBehavior::Immediate,
    )?)
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each command opens the database, writes and goes, never checkpointing on close: the
    /// WAL that the next command must read through stays within the checkpoint's bound.
    #[test]
    fn the_wal_that_every_command_reads_stays_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hull.db");
        connect(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
            .unwrap();
        for i in 0..400 {
            let conn = connect(&path).unwrap();
            conn.execute("INSERT INTO t (id, body) VALUES (?1, zeroblob(3000))", [i])
                .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("hull.db-wal"))
            .unwrap()
            .len();
        // A frame is a page and its 24-byte header; a few frames of slack for the last
        // transactions before the checkpoint.
        let frame = 4096 + 24;
        assert!(wal <= (WAL_PAGES + 8) * frame, "WAL of {wal} bytes");
        let rows: i64 = connect(&path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 400);
    }
}
