//! The `volumes` table: one row per named volume (the model is `volume::Volume`); its labels
//! and options as JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{params, Connection, OptionalExtension};

use crate::volume::{Result, Volume, VolumeError};

/// Inserts `v` unless a volume of its name exists (two creates of one name share it).
/// Inserts the volume unless a row of that name exists; true if this call inserted it.
pub fn insert(conn: &Connection, v: &Volume) -> Result<bool> {
    let json = |what: &'static str, m: &BTreeMap<String, String>| {
        serde_json::to_string(m).map_err(|source| VolumeError::Json {
            what,
            name: v.name.clone(),
            source,
        })
    };
    let labels_json = json("labels", &v.labels)?;
    let options_json = json("options", &v.options)?;
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO volumes (name, driver, mountpoint, created, labels, options)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            v.name,
            v.driver,
            v.mountpoint.display().to_string(),
            v.created,
            labels_json,
            options_json
        ],
    )?;
    Ok(inserted > 0)
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Volume, String, String)> {
    Ok((
        Volume {
            name: row.get(0)?,
            driver: row.get(1)?,
            mountpoint: PathBuf::from(row.get::<_, String>(2)?),
            created: row.get(3)?,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
        },
        row.get(4)?,
        row.get(5)?,
    ))
}

fn finish((mut v, labels, options): (Volume, String, String)) -> Result<Volume> {
    let parse = |what: &'static str, s: &str| {
        serde_json::from_str(s).map_err(|source| VolumeError::Json {
            what,
            name: v.name.clone(),
            source,
        })
    };
    let l = parse("labels", &labels)?;
    let o = parse("options", &options)?;
    v.labels = l;
    v.options = o;
    Ok(v)
}

const COLUMNS: &str = "name, driver, mountpoint, created, labels, options";

/// The volume called `name`, if there is one.
pub fn get(conn: &Connection, name: &str) -> Result<Option<Volume>> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM volumes WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?;
    row.map(finish).transpose()
}

/// Every volume, by name.
pub fn list(conn: &Connection) -> Result<Vec<Volume>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM volumes ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(finish(r?)?);
    }
    Ok(out)
}

/// Removes the row of volume `name` (none is no error).
/// Removes the row; true if there was one.
pub fn delete(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM volumes WHERE name = ?1", [name])? > 0)
}
