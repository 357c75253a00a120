//! A read-only view of an image's filesystem, for what the builder reads from an image
//! rather than the context: `COPY --from`, the names in `/etc/passwd` and `/etc/group` for
//! `--chown`, whether a destination is a directory. Two or more layers are mounted as an
//! overlay of lower dirs only (read-only by construction); one layer is its own dir; none
//! (`scratch`) is an empty dir.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::BuildError;

pub struct View {
    root: PathBuf,
    mounted: bool,
    _tmp: tempfile::TempDir,
}

impl View {
    /// `layers` bottom first; the mount point is made under `tmp_in`.
    pub fn open(layers: &[PathBuf], tmp_in: &Path) -> Result<View, BuildError> {
        let tmp = tempfile::tempdir_in(tmp_in)
            .map_err(|e| BuildError::msg(format!("temp dir in {}: {e}", tmp_in.display())))?;
        let (root, mounted) = match layers {
            [] => (tmp.path().to_path_buf(), false),
            [one] => (one.clone(), false),
            many => {
                let lower: Vec<String> =
                    many.iter().rev().map(|l| l.display().to_string()).collect();
                let data = format!("lowerdir={}", lower.join(":"));
                mount(
                    Some("overlay"),
                    tmp.path(),
                    Some("overlay"),
                    MsFlags::MS_RDONLY | MsFlags::MS_NODEV | MsFlags::MS_NOSUID,
                    Some(data.as_str()),
                )
                .map_err(|e| {
                    BuildError::msg(format!("mount image view at {}: {e}", tmp.path().display()))
                })?;
                (tmp.path().to_path_buf(), true)
            }
        };
        Ok(View {
            root,
            mounted,
            _tmp: tmp,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` (absolute in the image) on the host, its symlinks resolved inside the view.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let mut cur = PathBuf::new();
        let mut todo: Vec<String> = path.split('/').rev().map(String::from).collect();
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            match part.as_str() {
                "" | "." => {}
                ".." => {
                    cur.pop();
                }
                p => {
                    let next = cur.join(p);
                    match std::fs::read_link(self.root.join(&next)) {
                        Ok(t) if hops < 40 => {
                            hops += 1;
                            let t = t.to_string_lossy().into_owned();
                            if t.starts_with('/') {
                                cur = PathBuf::new();
                            }
                            todo.extend(t.split('/').rev().map(String::from));
                        }
                        _ => cur = next,
                    }
                }
            }
        }
        self.root.join(cur)
    }

    /// A file of the image as text (empty when missing).
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.resolve(path)).unwrap_or_default()
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if self.mounted {
            let _ = umount2(&self.root, MntFlags::MNT_DETACH);
        }
    }
}

/// `--chown`'s `user[:group]`: names looked up in the image's `/etc/passwd` and
/// `/etc/group`, numbers taken as they are; a user alone stands for the group of the same
/// name (or number), as docker's parseChownFlag reads it.
pub fn chown_ids(view: &View, spec: &str) -> Result<(u32, u32), BuildError> {
    let (u, g) = spec.split_once(':').unwrap_or((spec, spec));
    let find = |file: &str, name: &str| -> Option<u32> {
        view.read(file).lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == name)
                .then(|| f[2].parse().ok())
                .flatten()
        })
    };
    let uid = match u.parse::<u32>() {
        Ok(n) => n,
        Err(_) => find("/etc/passwd", u).ok_or_else(|| {
            BuildError::msg(format!("unable to convert uid/gid chown string to host mapping: can't find uid for user {u}: no such user: {u}"))
        })?,
    };
    let gid = match g.parse::<u32>() {
        Ok(n) => n,
        Err(_) => find("/etc/group", g).ok_or_else(|| {
            BuildError::msg(format!("unable to convert uid/gid chown string to host mapping: can't find gid for group {g}: no such group: {g}"))
        })?,
    };
    Ok((uid, gid))
}
