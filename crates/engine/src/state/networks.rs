//! The `networks` table: one row per network (the model is `network::Network`), and the
//! rename and removal that reach the leases and address cursors it keys.

use rusqlite::{params, Connection, OptionalExtension};

use hull_net::ipam::IpamError;

use crate::network::{Network, NetworkError, Result, DEFAULT, OLD_DEFAULT};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Network> {
    let subnet: String = r.get("subnet")?;
    let gateway: String = r.get("gateway")?;
    let labels: String = r.get("labels")?;
    let bad = |i, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    Ok(Network {
        id: r.get("id")?,
        name: r.get("name")?,
        bridge: r.get("bridge")?,
        subnet: subnet
            .parse()
            .map_err(|e: IpamError| bad(3, e.to_string()))?,
        gateway: gateway
            .parse()
            .map_err(|e: std::net::AddrParseError| bad(4, e.to_string()))?,
        internal: r.get("internal")?,
        mtu: r.get("mtu")?,
        created: r.get("created")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        ipv6: r.get("ipv6")?,
        subnet6: r
            .get::<_, Option<String>>("subnet6")?
            .map(|s| s.parse().map_err(|e: IpamError| bad(10, e.to_string())))
            .transpose()?,
        gateway6: r
            .get::<_, Option<String>>("gateway6")?
            .map(|s| {
                s.parse()
                    .map_err(|e: std::net::AddrParseError| bad(11, e.to_string()))
            })
            .transpose()?,
    })
}

/// By name, full id or id prefix; `hull0` (the old name) means the default network too.
pub fn get(conn: &Connection, name: &str) -> Result<Option<Network>> {
    let by_name = if name == DEFAULT || name == OLD_DEFAULT {
        conn.query_row(
            "SELECT * FROM networks WHERE name IN (?1, ?2) ORDER BY name = ?1 DESC",
            [DEFAULT, OLD_DEFAULT],
            row,
        )
        .optional()?
    } else {
        conn.query_row("SELECT * FROM networks WHERE name = ?1", [name], row)
            .optional()?
    };
    if by_name.is_some() || name.len() < 3 {
        return Ok(by_name);
    }
    let mut st = conn.prepare("SELECT * FROM networks WHERE id LIKE ?1 || '%'")?;
    let found: Vec<Network> = st
        .query_map([name], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(if found.len() == 1 {
        found.into_iter().next()
    } else {
        None
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Network>> {
    let mut st = conn.prepare("SELECT * FROM networks ORDER BY name")?;
    let v = st.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Whether a network is called exactly `name` (no alias, no id prefix).
pub fn exists(conn: &Connection, name: &str) -> Result<bool> {
    let found: Option<String> = conn
        .query_row("SELECT name FROM networks WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(found.is_some())
}

/// Inserts a new network; a name, id or bridge already taken is `Exists`.
pub fn insert(tx: &Connection, n: &Network) -> Result<()> {
    tx.execute(
        "INSERT INTO networks (name, id, bridge, subnet, gateway, internal, mtu, created, labels,
                               ipv6, subnet6, gateway6)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            n.name,
            n.id,
            n.bridge,
            n.subnet.to_string(),
            n.gateway.to_string(),
            n.internal,
            n.mtu,
            n.created,
            serde_json::to_string(&n.labels).unwrap_or_else(|_| "{}".into()),
            n.ipv6,
            n.subnet6.map(|s| s.to_string()),
            n.gateway6.map(|g| g.to_string()),
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            NetworkError::Exists(format!("{} (bridge {})", n.name, n.bridge))
        }
        e => e.into(),
    })?;
    Ok(())
}

/// Renames network `old` to `new` with its leases and address cursor. Run inside a
/// transaction ([`super::immediate`]): the leases' foreign key is checked at its commit.
pub fn rename(tx: &Connection, old: &str, new: &str) -> Result<()> {
    tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
    let renamed = tx.execute("UPDATE networks SET name = ?1 WHERE name = ?2", [new, old])?;
    if renamed == 1 {
        for t in ["leases", "ipam_cursors"] {
            tx.execute(
                &format!("UPDATE {t} SET network = ?1 WHERE network = ?2"),
                [new, old],
            )?;
        }
    }
    Ok(())
}

/// Removes network `name`'s row, and its address cursor when `drop_cursor`.
pub fn delete(tx: &Connection, name: &str, drop_cursor: bool) -> Result<()> {
    tx.execute("DELETE FROM networks WHERE name = ?1", [name])?;
    if drop_cursor {
        tx.execute("DELETE FROM ipam_cursors WHERE network = ?1", [name])?;
    }
    Ok(())
}
