//! The engine's tables and their history. `PRAGMA user_version` holds the number of the last
//! migration applied; `migrate` applies the rest in one IMMEDIATE transaction at open, so a
//! database written by an older hull is upgraded in place (all or nothing) and concurrent
//! `hull` processes cannot both run one. The image store's tables (`image_*`, `layer_*`) share
//! the file but are created by crates/image and are not versioned here.
//!
//! Version 0 is what hull wrote before this module existed: each table created on first use by
//! its own module (`CREATE TABLE IF NOT EXISTS`), `containers.pod_id` added later by an
//! `ALTER TABLE` whose "duplicate column" error counted as success.

use rusqlite::{Connection, TransactionBehavior};

use super::DbError;

/// The tables as of version 1. `IF NOT EXISTS`: a version-0 database may hold any of them.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    monitor_pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    restart_count INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '{}',
    stop_requested INTEGER NOT NULL DEFAULT 0,
    pod_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    mountpoint TEXT NOT NULL,
    created TEXT NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    bridge TEXT NOT NULL UNIQUE,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    internal INTEGER NOT NULL,
    mtu INTEGER,
    created TEXT NOT NULL,
    labels TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    network TEXT NOT NULL REFERENCES networks(name),
    ip TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    ifname TEXT NOT NULL,
    mac TEXT NOT NULL,
    host_veth TEXT NOT NULL,
    aliases TEXT NOT NULL,
    PRIMARY KEY (network, ip),
    UNIQUE (network, container)
);
CREATE TABLE IF NOT EXISTS ipam_cursors (
    network TEXT PRIMARY KEY,
    last TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pods (
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
);
";

/// One step from `version - 1` to `version`, run inside the upgrade's transaction.
struct Migration {
    version: u32,
    what: &'static str,
    up: fn(&Connection) -> rusqlite::Result<()>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        what: "one schema for the engine's tables; containers.pod_id",
        up: v1_tables,
    },
    Migration {
        version: 2,
        what: "typed run configs; the pod id kept in the config only",
        up: v2_typed_config,
    },
    Migration {
        version: 3,
        what: "IPv6 networks: networks.ipv6/subnet6/gateway6, leases.ip6, ipam_cursors.last6",
        up: v3_ipv6,
    },
    Migration {
        version: 4,
        what: "indexes for the lookups every stop, rm and pod verb makes (network joiners, \
               a pod's containers, a container's leases)",
        up: v4_indexes,
    },
];

/// The schema version this hull writes.
pub const VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

fn v1_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(TABLES)?;
    // A version-0 containers table made before pods existed has no pod_id yet.
    if !has_column(conn, "containers", "pod_id")? {
        conn.execute_batch("ALTER TABLE containers ADD COLUMN pod_id TEXT NOT NULL DEFAULT ''")?;
    }
    Ok(())
}

fn v2_typed_config(conn: &Connection) -> rusqlite::Result<()> {
    super::config::upgrade_rows(conn)?;
    conn.execute_batch("ALTER TABLE containers DROP COLUMN pod_id")
}

fn v3_ipv6(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "ALTER TABLE networks ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE networks ADD COLUMN subnet6 TEXT;
         ALTER TABLE networks ADD COLUMN gateway6 TEXT;
         ALTER TABLE leases ADD COLUMN ip6 TEXT;
         CREATE UNIQUE INDEX leases_ip6 ON leases (network, ip6);
         ALTER TABLE ipam_cursors ADD COLUMN last6 TEXT;",
    )
}

/// Without them, each container's stop or removal read every row's config (who joined its
/// network namespace) and every lease, so its cost grew with the number of containers.
/// The expressions are the ones the queries in containers.rs use, word for word: SQLite
/// only uses an index on an expression for that same expression.
fn v4_indexes(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS containers_network_mode \
             ON containers (json_extract(config, '$.network_mode'));
         CREATE INDEX IF NOT EXISTS containers_pod \
             ON containers (json_extract(config, '$.pod.id'));
         CREATE INDEX IF NOT EXISTS leases_container ON leases (container);",
    )
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?;
    stmt.exists([table, column])
}

pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings the database to `VERSION`. Cheap when it is there already (one read, no lock); a
/// database from a newer hull is refused rather than misread.
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let found = version(conn)?;
    if found == VERSION {
        return Ok(());
    }
    if found > VERSION {
        return Err(DbError::TooNew {
            found,
            known: VERSION,
        });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have upgraded it between the read above and the lock.
    let from = version(&tx)?;
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        (m.up)(&tx).map_err(|source| DbError::Migration {
            version: m.version,
            what: m.what,
            source,
        })?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap();
        let rows = stmt.query_map([table], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn a_new_database_gets_every_table_at_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        for t in [
            "containers",
            "volumes",
            "networks",
            "leases",
            "ipam_cursors",
            "pods",
        ] {
            assert!(!columns(&conn, t).is_empty(), "table {t}");
        }
        // Version 1 added it, version 2 folded it into the config.
        assert!(!columns(&conn, "containers").contains(&"pod_id".to_string()));
        // Run again: nothing to do, nothing fails.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn a_version_0_containers_table_without_pod_id_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        // The containers table as hull wrote it before pods (no pod_id), with one row.
        let v0 = TABLES
            .split(";")
            .next()
            .unwrap()
            .replace(",\n    pod_id TEXT NOT NULL DEFAULT ''", "");
        conn.execute_batch(&v0).unwrap();
        assert!(!columns(&conn, "containers").contains(&"pod_id".to_string()));
        conn.execute(
            "INSERT INTO containers (id, name, image_id, image, created, config, status) \
             VALUES ('abc', 'web', 'sha256:1', 'busybox', 'now', '{}', 'exited')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let name: String = conn
            .query_row("SELECT name FROM containers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "web");
        assert!(!columns(&conn, "pods").is_empty());
    }

    /// The queries a container's stop, removal and pod verbs make look rows up through an
    /// index, not by reading every container's config.
    #[test]
    fn the_per_container_lookups_use_an_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for (sql, index) in [
            (
                crate::state::containers::NETWORK_JOINERS,
                "containers_network_mode",
            ),
            (crate::state::containers::OF_POD, "containers_pod"),
            (crate::state::leases::OF_CONTAINER, "leases_container"),
        ] {
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let n = st.parameter_count();
            let params: Vec<&dyn rusqlite::ToSql> = (0..n).map(|_| &"x" as _).collect();
            let plan: Vec<String> = st
                .query_map(params.as_slice(), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().any(|l| l.contains(&format!("INDEX {index}"))),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn a_database_from_a_newer_hull_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let e = migrate(&mut conn).unwrap_err().to_string();
        assert!(
            e.contains(&format!("schema version {}", VERSION + 1)) && e.contains("newer"),
            "{e}"
        );
        // Untouched: no table was made.
        assert!(columns(&conn, "containers").is_empty());
    }

    #[test]
    fn a_failing_migration_leaves_the_database_as_it_was() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A "containers" that is a view cannot gain a column: the upgrade fails at the ALTER.
        conn.execute_batch("CREATE VIEW containers AS SELECT 1 AS id")
            .unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn).unwrap(), 0);
        assert!(columns(&conn, "volumes").is_empty(), "rolled back");
    }
}
