//! Modes of the store's files and directories. The store holds what other local users must
//! not reach: image layers with setuid-root files (their paths are in every overlay's
//! lowerdir in /proc/self/mountinfo, world-readable), environment values such as
//! `-e PASSWORD=...` in the database and the bundles. As docker since CVE-2021-41091, they
//! are 0700/0600; a directory that a container's remapped root must cross (`--uidmap`: its
//! root is an unprivileged id on the host) is 0711, crossable but not listable. A store made
//! by an older hull, with 0755 and 0644, is fixed the first time it is opened.

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and missing parents) and gives it `mode`; whether it had to be changed.
pub fn ensure_dir(dir: &Path, mode: u32) -> io::Result<bool> {
    match std::fs::metadata(dir) {
        Ok(m) if m.permissions().mode() & 0o7777 == mode => Ok(false),
        Ok(_) => set_mode(dir, mode).map(|_| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(dir)?;
            // The umask may have taken bits away.
            set_mode(dir, mode).map(|_| false)
        }
        Err(e) => Err(e),
    }
}

/// Gives an existing `path` `mode` if it has another; nothing when it does not exist.
pub fn fix_file(path: &Path, mode: u32) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o7777 != mode => set_mode(path, mode),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `data` to `path`, readable and writable by its owner only (also when it existed).
pub fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(data)
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_and_files_get_their_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("a/b");
        assert!(!ensure_dir(&d, 0o700).unwrap());
        assert_eq!(
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o7777,
            0o700
        );
        set_mode(&d, 0o755).unwrap();
        assert!(ensure_dir(&d, 0o700).unwrap());
        let f = d.join("f");
        std::fs::write(&f, "x").unwrap();
        set_mode(&f, 0o644).unwrap();
        write_private(&f, b"y").unwrap();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777,
            0o600
        );
    }
}
