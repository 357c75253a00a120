//! Getting libfaketime into every process of a container without touching its image.
//!
//! `prepare` fills `STATE/faketime/` with a copy of the library, `ld.so.preload` naming it and
//! `faketimerc` holding the clock. `Injection::apply` bind-mounts, read-only:
//! - that directory at `/.hull/faketime` (the library's path inside the container),
//! - its `ld.so.preload` at `/etc/ld.so.preload`: glibc's loader reads it for every dynamic
//!   program, so `hull exec`, `hullrt exec` and `nsenter` all get the clock, whatever their
//!   environment,
//! - its `faketimerc` at `/etc/faketimerc`, which libfaketime reads when `FAKETIME` is unset.
//!
//! The main process (and `hull exec`) also get `exec_env()`: the rc file through the directory
//! (so a `~/.faketimerc` in the image cannot shadow it), a one-second cache instead of
//! libfaketime's ten, and CLOCK_MONOTONIC left alone.
//!
//! `update` rewrites `faketimerc` in place: a bind mount of a single file pins its inode, so a
//! rename would never be seen through `/etc/faketimerc`. The file always has the same length
//! (the setting, then a `#` comment line of padding, which libfaketime skips), and is written
//! with one `pwrite` at offset 0 without truncating, so a reader sees either the old or the
//! new setting, never an empty file.

use std::fs;
use std::io;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder, Spec};

use crate::spec::FakeTime;

/// Where the library and its files appear inside the container.
pub const CONTAINER_DIR: &str = "/.hull/faketime";
/// The thread-safe build of libfaketime (servers are threaded).
pub const LIBRARY: &str = "libfaketimeMT.so.1";
const STATE_SUBDIR: &str = "faketime";
const RC: &str = "faketimerc";
const PRELOAD: &str = "ld.so.preload";
/// Fixed length of the rc file, so an update never shrinks or grows it.
const RC_LEN: usize = 128;
/// Seconds a process with `exec_env()` keeps a setting before re-reading the file.
pub const CACHE_SECS: u32 = 1;
/// What libfaketime uses without `FAKETIME_CACHE_DURATION` (processes entered by other
/// tools than hull): an update reaches them within this many seconds (plus one).
pub const DEFAULT_CACHE_SECS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("--faketime needs libfaketime, not found in {looked}: apt-get install libfaketime")]
    NoLibrary { looked: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: the container has no fake clock (it was not started with --faketime)", path.display())]
    NotPrepared { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> InjectError + '_ {
    move |source| InjectError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directories where Debian (and a `make install`) put libfaketime.
fn library_dirs() -> Vec<PathBuf> {
    let triple = match std::env::consts::ARCH {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "riscv64" => "riscv64-linux-gnu",
        "powerpc64" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        other => other,
    };
    vec![
        PathBuf::from(format!("/usr/lib/{triple}/faketime")),
        PathBuf::from("/usr/local/lib/faketime"),
        PathBuf::from("/usr/lib/faketime"),
    ]
}

/// The host's libfaketime (thread-safe build).
pub fn library_path() -> Result<PathBuf, InjectError> {
    let dirs = library_dirs();
    dirs.iter()
        .map(|d| d.join(LIBRARY))
        .find(|p| p.is_file())
        .ok_or_else(|| InjectError::NoLibrary {
            looked: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The rc file's bytes for a setting: the line, a newline, then `#` and spaces up to RC_LEN.
fn rc_bytes(line: &str) -> Vec<u8> {
    let mut v = format!("{line}\n#").into_bytes();
    // A line is at most ~40 bytes (a date, or an offset and a rate): always fits.
    v.resize(RC_LEN - 1, b' ');
    v.push(b'\n');
    v
}

/// Writes `content` to `path` through a temporary file and a rename, mode 0644.
fn write_replace(path: &Path, content: &[u8]) -> Result<(), InjectError> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, content).map_err(io_err(&tmp))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Writes the setting into the rc file in place (see the module doc).
fn write_rc(path: &Path, ft: &FakeTime) -> Result<(), InjectError> {
    let bytes = rc_bytes(&ft.libfaketime_line(now_unix()));
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all_at(&bytes, 0).map_err(io_err(path))?;
    f.set_len(RC_LEN as u64).map_err(io_err(path))?;
    f.set_permissions(fs::Permissions::from_mode(0o644))
        .map_err(io_err(path))
}

/// What `apply` adds to a container's spec.
#[derive(Debug, Clone)]
pub struct Injection {
    dir: PathBuf,
}

/// Writes the library, `ld.so.preload` and the rc file under `state_dir/faketime`, the
/// clock's offset taken from the real clock now (call it when the container starts).
pub fn prepare(state_dir: &Path, ft: &FakeTime) -> Result<Injection, InjectError> {
    let lib = library_path()?;
    let dir = state_dir.join(STATE_SUBDIR);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).map_err(io_err(&dir))?;
    // A copy, not a bind of the host's file: an upgrade of the host package then cannot
    // change the library under a running container.
    let content = fs::read(&lib).map_err(io_err(&lib))?;
    write_replace(&dir.join(LIBRARY), &content)?;
    write_replace(
        &dir.join(PRELOAD),
        format!("{CONTAINER_DIR}/{LIBRARY}\n").as_bytes(),
    )?;
    write_rc(&dir.join(RC), ft)?;
    Ok(Injection { dir })
}

/// The image's own `/etc/ld.so.preload` (our bind mount would hide it), read inside `rootfs`
/// with `openat2(RESOLVE_IN_ROOT)` so that a symlink in the image cannot make hull copy a host
/// file into the container; None unless it is a regular file.
pub fn image_preload(rootfs: &Path) -> Option<String> {
    use std::io::Read;
    let root = fs::File::open(rootfs).ok()?;
    let fd = hull_sys::openat2_in_root(
        std::os::fd::AsFd::as_fd(&root),
        Path::new("/etc/ld.so.preload"),
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
    )
    .ok()?;
    let f = fs::File::from(fd);
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    f.take(64 * 1024).read_to_string(&mut s).ok()?;
    Some(s)
}

impl Injection {
    /// Keeps the entries of the image's `/etc/ld.so.preload` (see `image_preload`) after the
    /// library in the one bind-mounted over it.
    pub fn keep_image_preload(&self, rootfs: &Path) -> Result<(), InjectError> {
        let Some(theirs) = image_preload(rootfs) else {
            return Ok(());
        };
        let ours = format!("{CONTAINER_DIR}/{LIBRARY}");
        let mut content = format!("{ours}\n");
        for entry in theirs.split_whitespace().filter(|e| *e != ours) {
            content.push_str(entry);
            content.push('\n');
        }
        write_replace(&self.dir.join(PRELOAD), content.as_bytes())
    }
}

/// Changes the clock of a running container prepared with `prepare`: processes with
/// `exec_env()` see it within CACHE_SECS (+1) seconds, others within DEFAULT_CACHE_SECS (+1).
pub fn update(state_dir: &Path, ft: &FakeTime) -> Result<(), InjectError> {
    let rc = state_dir.join(STATE_SUBDIR).join(RC);
    if !rc.is_file() {
        return Err(InjectError::NotPrepared { path: rc });
    }
    write_rc(&rc, ft)
}

/// The setting libfaketime currently reads for this container, if it has a fake clock.
pub fn current_line(state_dir: &Path) -> Option<String> {
    let rc = fs::read_to_string(state_dir.join(STATE_SUBDIR).join(RC)).ok()?;
    rc.lines().next().map(str::to_string)
}

/// Environment for the container's processes started by hull (`NAME=value`).
pub fn exec_env() -> Vec<String> {
    vec![
        format!("FAKETIME_TIMESTAMP_FILE={CONTAINER_DIR}/{RC}"),
        format!("FAKETIME_CACHE_DURATION={CACHE_SECS}"),
        "FAKETIME_DONT_FAKE_MONOTONIC=1".to_string(),
    ]
}

fn bind(src: PathBuf, dest: &str) -> Mount {
    MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(src)
        .options(
            ["bind", "ro", "nosuid", "nodev"]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .build()
        .expect("a mount with destination, type, source and options is complete")
}

impl Injection {
    /// The host directory holding the library and its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The read-only bind mounts, in the order they must be made.
    pub fn mounts(&self) -> Vec<Mount> {
        vec![
            bind(self.dir.clone(), CONTAINER_DIR),
            bind(self.dir.join(PRELOAD), "/etc/ld.so.preload"),
            bind(self.dir.join(RC), "/etc/faketimerc"),
        ]
    }

    /// Adds the mounts (after the spec's own, so they win) and `exec_env()` to the process.
    pub fn apply(&self, spec: &mut Spec) {
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.retain(|m| {
            let d = m.destination();
            d != Path::new(CONTAINER_DIR)
                && d != Path::new("/etc/ld.so.preload")
                && d != Path::new("/etc/faketimerc")
        });
        mounts.extend(self.mounts());
        spec.set_mounts(Some(mounts));
        if let Some(mut process) = spec.process().clone() {
            let mut env = process.env().clone().unwrap_or_default();
            set_env(&mut env, &exec_env());
            process.set_env(Some(env));
            spec.set_process(Some(process));
        }
    }
}

/// Sets each `NAME=value` of `add` in `env`, replacing an existing NAME.
pub fn set_env(env: &mut Vec<String>, add: &[String]) {
    for kv in add {
        let name = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(name));
        env.push(kv.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_has_a_fixed_length_and_the_setting_first() {
        let b = rc_bytes("2020-12-24 20:30:00");
        assert_eq!(b.len(), RC_LEN);
        let s = String::from_utf8(b).unwrap();
        assert_eq!(s.lines().next(), Some("2020-12-24 20:30:00"));
        assert!(s.lines().nth(1).unwrap().starts_with('#'));
    }

    #[test]
    fn prepare_update_and_apply() {
        if library_path().is_err() {
            // The e2e tests (which need it) fail loudly; here only the file logic is checked.
            eprintln!("libfaketime not installed: skipping");
            return;
        }
        let state = tempfile::tempdir().unwrap();
        let ft = FakeTime::parse("@2020-12-24 20:30:00").unwrap();
        let inj = prepare(state.path(), &ft).unwrap();
        let rc = inj.dir().join(RC);
        let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&rc).unwrap());
        assert_eq!(current_line(state.path()).unwrap(), "2020-12-24 20:30:00");
        update(state.path(), &FakeTime::parse("-10d").unwrap()).unwrap();
        assert_eq!(current_line(state.path()).unwrap(), "-864000");
        let meta = fs::metadata(&rc).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&meta),
            ino,
            "rewritten in place"
        );
        assert_eq!(meta.len(), RC_LEN as u64);
        let preload = fs::read_to_string(inj.dir().join(PRELOAD)).unwrap();
        assert_eq!(preload, "/.hull/faketime/libfaketimeMT.so.1\n");

        let mut spec = Spec::default();
        inj.apply(&mut spec);
        inj.apply(&mut spec);
        let j = serde_json::to_value(&spec).unwrap();
        let dests: Vec<&str> = j["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            dests.iter().filter(|d| **d == "/etc/ld.so.preload").count(),
            1
        );
        assert!(dests.contains(&"/.hull/faketime"));
        let env = j["process"]["env"].as_array().unwrap();
        assert_eq!(
            env.iter()
                .filter(|e| e.as_str().unwrap().starts_with("FAKETIME_CACHE_DURATION="))
                .count(),
            1
        );
    }

    #[test]
    fn image_preload_stays_inside_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("host-secret");
        fs::write(&secret, "/host/secret.so\n").unwrap();
        let rootfs = dir.path().join("rootfs");
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        assert_eq!(image_preload(&rootfs), None);
        // An absolute symlink resolves inside the rootfs, where there is no such file.
        std::os::unix::fs::symlink(&secret, rootfs.join("etc/ld.so.preload")).unwrap();
        assert_eq!(image_preload(&rootfs), None);
        fs::remove_file(rootfs.join("etc/ld.so.preload")).unwrap();
        fs::create_dir(rootfs.join("etc/ld.so.preload")).unwrap();
        assert_eq!(image_preload(&rootfs), None, "a directory");
        fs::remove_dir(rootfs.join("etc/ld.so.preload")).unwrap();
        fs::write(
            rootfs.join("etc/ld.so.preload"),
            "/usr/lib/libjemalloc.so.2\n",
        )
        .unwrap();
        assert_eq!(
            image_preload(&rootfs).as_deref(),
            Some("/usr/lib/libjemalloc.so.2\n")
        );

        if library_path().is_err() {
            return;
        }
        let state = tempfile::tempdir().unwrap();
        let inj = prepare(state.path(), &FakeTime::parse("+1h").unwrap()).unwrap();
        inj.keep_image_preload(&rootfs).unwrap();
        assert_eq!(
            fs::read_to_string(inj.dir().join(PRELOAD)).unwrap(),
            "/.hull/faketime/libfaketimeMT.so.1\n/usr/lib/libjemalloc.so.2\n"
        );
    }

    #[test]
    fn update_without_prepare_is_an_error() {
        let state = tempfile::tempdir().unwrap();
        let e = update(state.path(), &FakeTime::parse("+1h").unwrap()).unwrap_err();
        assert!(e.to_string().contains("not started with --faketime"), "{e}");
    }
}
