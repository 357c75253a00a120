//! Named volumes (docker's `local` driver): a row in the `volumes` table and a directory
//! `<root>/volumes/<name>/_data` that containers bind-mount.
//!
//! Creating is idempotent (the directory first, then `INSERT OR IGNORE`), so two `hull run -v
//! data:/x` started at once share one volume, and a process killed half-way leaves at most an
//! empty directory that the next create adopts. Removing first renames the directory to a
//! tombstone (`.rm-<name>`: no volume name starts with a dot), then deletes the row, then the
//! tombstone: killed at any point, no later create of the name can adopt the old data, and
//! `system check` finds the tombstone (see [`leftovers`]).

pub mod mount;
pub mod seed;
pub mod verbs;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::Paths;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("volume name {0:?}: must be 2+ characters of [a-zA-Z0-9_.-], starting with a letter or digit")]
    BadName(String),
    #[error("no such volume: {0}")]
    NotFound(String),
    #[error("volume {name} is in use by container(s) {containers}")]
    InUse { name: String, containers: String },
    #[error("volume driver {0:?}: only \"local\" is supported")]
    Driver(String),
    #[error("volume option {0}")]
    Option(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("containers: {0}")]
    Containers(String),
    #[error("state database: volumes: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("state database: volumes: {what} of {name}: {source}")]
    Json {
        what: &'static str,
        name: String,
        source: serde_json::Error,
    },
}

pub type Result<T> = std::result::Result<T, VolumeError>;

/// An I/O error on `path`.
pub(crate) fn io_err(path: &Path, source: std::io::Error) -> VolumeError {
    VolumeError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The label docker puts on the volumes `run -v /path` creates; `volume prune` without `--all`
/// removes only these.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    /// `<root>/volumes/<name>/_data`: what a container mounts.
    pub mountpoint: PathBuf,
    /// RFC 3339, UTC.
    pub created: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

impl Volume {
    /// `docker volume inspect`'s shape.
    pub fn inspect_json(&self) -> Value {
        json!({
            "CreatedAt": self.created,
            "Driver": self.driver,
            "Labels": self.labels,
            "Mountpoint": self.mountpoint.display().to_string(),
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
        })
    }

    /// The fields `docker volume ls --format` knows; Labels as `k=v,k2=v2`.
    pub fn list_json(&self) -> Value {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        json!({
            "Driver": self.driver,
            "Labels": labels.join(","),
            "Links": "N/A",
            "Mountpoint": self.mountpoint.display().to_string(),
            "Name": self.name,
            "Scope": "local",
            "Size": "N/A",
        })
    }

    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }
}

/// docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<()> {
    if crate::container::names::valid_name(name) {
        Ok(())
    } else {
        Err(VolumeError::BadName(name.to_string()))
    }
}

/// `<root>/volumes`.
pub fn volumes_dir(paths: &Paths) -> PathBuf {
    paths.root.join("volumes")
}

/// 64 random hex digits, the name of a volume created without one.
pub fn random_name() -> Result<String> {
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| io_err(Path::new("/dev/urandom"), source))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates volume `name` (a random name when None) or returns the existing one of that name,
/// as docker does. `labels` apply only to a new volume.
pub fn create(
    conn: &Connection,
    paths: &Paths,
    name: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> Result<Volume> {
    create_with_driver(conn, paths, name, "local", labels, &BTreeMap::new())
}

/// As [`create`], with `--driver` checked (only `local` exists) and its options (see
/// volume/mount.rs), which apply only to a new volume.
pub fn create_with_driver(
    conn: &Connection,
    paths: &Paths,
    name: Option<&str>,
    driver: &str,
    labels: &BTreeMap<String, String>,
    options: &BTreeMap<String, String>,
) -> Result<Volume> {
    if driver != "local" {
        return Err(VolumeError::Driver(driver.to_string()));
    }
    crate::volume::mount::validate(options)?;
    let name = match name {
        Some(n) => {
            validate_name(n)?;
            n.to_string()
        }
        None => random_name()?,
    };
    if let Some(v) = get(conn, &name)? {
        return Ok(v);
    }
    let mountpoint = volumes_dir(paths).join(&name).join("_data");
    std::fs::create_dir_all(&mountpoint).map_err(|source| io_err(&mountpoint, source))?;
    let v = Volume {
        name: name.clone(),
        driver: "local".into(),
        mountpoint,
        created: crate::time::now_rfc3339(),
        labels: labels.clone(),
        options: options.clone(),
    };
    if crate::state::volumes::insert(conn, &v)? {
        event(paths, "create", &name);
    }
    // Another process may have won the insert: either way the row now in the table is the volume.
    get(conn, &name)?.ok_or(VolumeError::NotFound(name))
}

pub use crate::state::volumes::{get, list};

/// Like [`get`], with a missing volume an error.
pub fn require(conn: &Connection, name: &str) -> Result<Volume> {
    get(conn, name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))
}

/// The names of the containers whose mounts use volume `name` (any state: docker refuses to
/// remove a volume a stopped container still names).
pub fn users(conn: &Connection, name: &str) -> Result<Vec<String>> {
    let containers = crate::container::list(conn).map_err(container_err)?;
    Ok(containers
        .into_iter()
        .filter(|c| uses(&c.config, name))
        .map(|c| c.name)
        .collect())
}

/// Whether a run config mounts volume `name`.
pub fn uses(config: &crate::RunConfig, name: &str) -> bool {
    config
        .mounts
        .iter()
        .any(|m| m.kind == crate::container::config::MountKind::Volume && m.source == name)
}

fn container_err(e: crate::ContainerError) -> VolumeError {
    match e {
        crate::ContainerError::Sql(e) => VolumeError::Db(e),
        other => VolumeError::Containers(other.to_string()),
    }
}

/// Removes volume `name` and its data; refused while a container uses it.
pub fn remove(conn: &Connection, paths: &Paths, name: &str) -> Result<()> {
    require(conn, name)?;
    let users = users(conn, name)?;
    if !users.is_empty() {
        return Err(VolumeError::InUse {
            name: name.to_string(),
            containers: users.join(", "),
        });
    }
    // A filesystem still mounted there (its last user was killed before it could unmount
    // it) goes first: removing the directory must not reach into it, a bound host
    // directory above all.
    let dir = volumes_dir(paths).join(name);
    let data = dir.join("_data");
    if !crate::volume::mount::unmount(&data) {
        return Err(io_err(
            &data,
            std::io::Error::from_raw_os_error(libc::EBUSY),
        ));
    }
    crate::volume::mount::forget(paths, name);
    let tomb = tombstone(paths, name);
    match std::fs::rename(&dir, &tomb) {
        Ok(()) => {}
        // A removal killed after its rename left the tombstone: finish it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(io_err(&dir, source)),
    }
    hull_sys::fault_point("hull-volume-renamed");
    if crate::state::volumes::delete(conn, name)? {
        event(paths, "destroy", name);
    }
    remove_dir(&tomb)
}

/// docker's volume event: the volume's name, its driver.
fn event(paths: &Paths, action: &str, name: &str) {
    let attrs = BTreeMap::from([("driver".to_string(), "local".to_string())]);
    crate::events::emit(paths, "volume", action, name, attrs);
}

/// Where `remove` moves a volume's directory before it deletes the row.
fn tombstone(paths: &Paths, name: &str) -> PathBuf {
    volumes_dir(paths).join(format!(".rm-{name}"))
}

/// `system check`'s part for volumes: what a killed `volume rm` or `volume create` left. A
/// tombstone is a removal that did not finish (its row goes with it); a directory no row
/// names is a create killed before its insert (an empty `_data`), or a removal by a hull
/// before tombstones. With `repair`, removed. Returns (found, errors).
pub fn leftovers(conn: &Connection, paths: &Paths, repair: bool) -> (Vec<String>, Vec<String>) {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(volumes_dir(paths)) else {
        return (found, errors);
    };
    for e in entries.flatten() {
        let Some(file) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let (name, half_removed) = match file.strip_prefix(".rm-") {
            Some(n) => (n.to_string(), true),
            None if file.starts_with('.') => continue,
            None => (file.clone(), false),
        };
        if !half_removed && matches!(get(conn, &name), Ok(Some(_))) {
            continue;
        }
        let dir = e.path();
        found.push(if half_removed {
            format!(
                "volume {name}: a removal that did not finish ({})",
                dir.display()
            )
        } else {
            format!("directory {} of no volume", dir.display())
        });
        if !repair {
            continue;
        }
        if half_removed {
            if let Err(e) = crate::state::volumes::delete(conn, &name) {
                errors.push(format!("volume {name}: {e}"));
                continue;
            }
        }
        if !crate::volume::mount::unmount(&dir.join("_data")) {
            errors.push(format!("{}: still mounted", dir.display()));
            continue;
        }
        if let Err(e) = remove_dir(&dir) {
            errors.push(e.to_string());
        }
    }
    (found, errors)
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_err(dir, source)),
    }
}

/// Bytes in the files under `dir` (what a prune reclaims), not following symlinks.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        let Ok(md) = e.path().symlink_metadata() else {
            continue;
        };
        if md.is_dir() {
            total += dir_size(&e.path());
        } else {
            total += md.len();
        }
    }
    total
}

/// What a prune removed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub names: Vec<String>,
    pub bytes: u64,
}

/// Removes the volumes no container uses: only anonymous ones unless `all` (docker 23's
/// rule), and of those only the ones `keep` does not hold back (the CLI's `--filter`).
pub fn prune(
    conn: &Connection,
    paths: &Paths,
    all: bool,
    keep: &dyn Fn(&Volume) -> bool,
) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    for v in list(conn)? {
        if (!all && !v.is_anonymous()) || keep(&v) || !users(conn, &v.name)?.is_empty() {
            continue;
        }
        let bytes = dir_size(&v.mountpoint);
        match remove(conn, paths, &v.name) {
            Ok(()) => {
                pruned.bytes += bytes;
                pruned.names.push(v.name);
            }
            // Taken into use or removed by another command meanwhile: not ours to prune.
            Err(VolumeError::InUse { .. } | VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Paths, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        let conn = crate::state::open(&paths.db()).unwrap();
        (dir, paths, conn)
    }

    #[test]
    fn create_get_list_remove() {
        let (_d, paths, conn) = setup();
        let mut labels = BTreeMap::new();
        labels.insert("a".to_string(), "b".to_string());
        let v = create(&conn, &paths, Some("data"), &labels).unwrap();
        assert_eq!(v.mountpoint, paths.root.join("volumes/data/_data"));
        assert!(v.mountpoint.is_dir());
        assert_eq!(v.labels, labels);
        assert!(hull_clock::civil::parse_rfc3339(&v.created).is_some());
        // Creating again returns the same volume, labels untouched.
        let again = create(&conn, &paths, Some("data"), &BTreeMap::new()).unwrap();
        assert_eq!(again, v);
        let anon = create(&conn, &paths, None, &BTreeMap::new()).unwrap();
        assert_eq!(anon.name.len(), 64);
        assert!(anon.name.chars().all(|c| c.is_ascii_hexdigit()));
        let names: Vec<_> = list(&conn).unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"data".to_string()));
        remove(&conn, &paths, "data").unwrap();
        assert!(get(&conn, "data").unwrap().is_none());
        assert!(!paths.root.join("volumes/data").exists());
        assert!(matches!(
            remove(&conn, &paths, "data"),
            Err(VolumeError::NotFound(_))
        ));
    }

    #[test]
    fn bad_names_are_refused_and_leave_nothing() {
        let (_d, paths, conn) = setup();
        for bad in ["a", "-x", "a/b", "..", "x y", ""] {
            let e = create(&conn, &paths, Some(bad), &BTreeMap::new()).unwrap_err();
            assert!(matches!(e, VolumeError::BadName(_)), "{bad}: {e}");
        }
        assert!(list(&conn).unwrap().is_empty());
        assert!(!volumes_dir(&paths).exists());
        let e = create_with_driver(
            &conn,
            &paths,
            Some("ok"),
            "nfs",
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        assert!(matches!(e, Err(VolumeError::Driver(_))));
    }

    #[test]
    fn a_volume_a_container_names_is_in_use() {
        use crate::container::{self, Container};
        let (_d, paths, conn) = setup();
        create(&conn, &paths, Some("used"), &BTreeMap::new()).unwrap();
        create(&conn, &paths, Some("free"), &BTreeMap::new()).unwrap();
        let mut config = crate::RunConfig::default();
        config.mounts.push(crate::container::config::MountSpec {
            kind: crate::container::config::MountKind::Volume,
            source: "used".into(),
            target: "/data".into(),
            ..Default::default()
        });
        container::insert(
            &conn,
            &Container {
                status: crate::Status::Exited,
                ..Container::new(
                    "c0ffee".into(),
                    "web".into(),
                    String::new(),
                    "busybox".into(),
                    config,
                )
            },
        )
        .unwrap();
        assert_eq!(users(&conn, "used").unwrap(), vec!["web".to_string()]);
        let e = remove(&conn, &paths, "used").unwrap_err();
        assert!(e.to_string().contains("in use by container(s) web"), "{e}");
        assert!(get(&conn, "used").unwrap().unwrap().mountpoint.is_dir());
        let p = prune(&conn, &paths, true, &|_| false).unwrap();
        assert_eq!(p.names, vec!["free".to_string()]);
    }

    #[test]
    fn prune_takes_anonymous_unless_all() {
        let (_d, paths, conn) = setup();
        let mut anon = BTreeMap::new();
        anon.insert(ANONYMOUS_LABEL.to_string(), String::new());
        let a = create(&conn, &paths, None, &anon).unwrap();
        std::fs::write(a.mountpoint.join("f"), vec![0u8; 1000]).unwrap();
        create(&conn, &paths, Some("named"), &BTreeMap::new()).unwrap();
        let p = prune(&conn, &paths, false, &|_| false).unwrap();
        assert_eq!(p.names, vec![a.name.clone()]);
        assert_eq!(p.bytes, 1000);
        assert!(get(&conn, "named").unwrap().is_some());
        let p = prune(&conn, &paths, true, &|v| v.name == "named").unwrap();
        assert!(p.names.is_empty());
        let p = prune(&conn, &paths, true, &|_| false).unwrap();
        assert_eq!(p.names, vec!["named".to_string()]);
    }
}
