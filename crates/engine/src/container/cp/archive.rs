//! The archive verbs, docker's `HEAD/GET/PUT /containers/{id}/archive` (what `docker cp`
//! asks of a daemon): a container path's stat, the path as a tar stream, a tar stream
//! extracted into a container directory. The same tree code as `hull cp` (resolution inside
//! the container with RESOLVE_IN_ROOT, a stopped container's overlay mounted for the call).

use std::io::{Read, Write};

use rustix::fs::{fstat, FileType, OFlags};
use rustix::io::Errno;

use super::{ctr_err, root_ids, ContainerFs, CopyOptions, CpError, Meta};
use crate::engine::Engine;
use crate::error::Error;

/// A container path as `docker cp` sees it.
#[derive(Debug, Clone)]
pub struct PathStat {
    /// The path's last name.
    pub name: String,
    pub size: u64,
    pub kind: FileType,
    /// Permission bits, with setuid, setgid and sticky.
    pub mode: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// A symlink's target ("" otherwise).
    pub link_target: String,
}

fn stat(fs: &ContainerFs, path: &str) -> super::Result<PathStat> {
    let fd = fs
        .resolve(path, OFlags::PATH | OFlags::NOFOLLOW)
        .map_err(|e| match e {
            Errno::NOENT | Errno::NOTDIR => CpError::Container {
                path: path.into(),
                source: std::io::Error::from(e),
            },
            e => ctr_err(path)(e),
        })?;
    let meta = Meta::from_stat(&fstat(&fd).map_err(ctr_err(path))?);
    let link_target = match meta.kind {
        FileType::Symlink => rustix::fs::readlinkat(&fd, "", Vec::new())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    Ok(PathStat {
        name: if name.is_empty() {
            "/".into()
        } else {
            name.into()
        },
        size: meta.size,
        kind: meta.kind,
        mode: meta.mode,
        mtime: meta.mtime.0,
        link_target,
    })
}

/// docker's words for a path the container does not have (chosen from the error's variant
/// and errno, not its text).
fn missing<'a>(path: &'a str, name: &str) -> impl FnOnce(CpError) -> Error + 'a {
    let name = name.to_string();
    move |e| match &e {
        CpError::Missing(_) => not_found(path, &name),
        CpError::Container { source, .. } | CpError::Host { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            not_found(path, &name)
        }
        _ => e.into(),
    }
}

fn not_found(path: &str, name: &str) -> Error {
    Error::NotFound(format!(
        "Could not find the file {path} in container {name}"
    ))
}

impl Engine {
    /// The stat of `path` in container `key`.
    pub fn archive_stat(&self, key: &str, path: &str) -> crate::Result<PathStat> {
        let c = self.lookup(key)?;
        self.with_container_tree(&c, |fs| stat(fs, path).map_err(missing(path, &c.name)))
    }

    /// `path` in container `key` as a tar stream to `out` (a directory with everything
    /// below; `path/.` its contents only); its stat.
    pub fn archive_get(
        &self,
        key: &str,
        path: &str,
        out: &mut dyn Write,
    ) -> crate::Result<PathStat> {
        let c = self.lookup(key)?;
        self.copy_out_of(&c, |fs| {
            let st = stat(fs, path).map_err(missing(path, &c.name))?;
            super::archive_out(fs, path, out, &CopyOptions::default())
                .map_err(missing(path, &c.name))?;
            Ok(st)
        })
    }

    /// Extracts the tar stream `input` into directory `dir` of container `key`; files
    /// belong to the container's root unless `keep_owners` (docker's `copyUIDGID`).
    pub fn archive_put(
        &self,
        key: &str,
        dir: &str,
        input: &mut dyn Read,
        keep_owners: bool,
    ) -> crate::Result<()> {
        let c = self.lookup(key)?;
        let (root_uid, root_gid) = root_ids(&c);
        let opts = CopyOptions {
            archive: keep_owners,
            follow_link: false,
            root_uid,
            root_gid,
        };
        self.copy_into(&c, |fs| {
            super::extract_in(fs, dir, input, &opts).map_err(missing(dir, &c.name))
        })
    }
}
