//! The service's socket: made at a path (mode 0660, owner root, group root or --group), or
//! taken from systemd (socket activation; the unit sets mode and group).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Listen {
    /// `unix:///run/hull/docker.sock`; the group that may use it (None: root's).
    Path { path: PathBuf, group: Option<u32> },
    /// The socket systemd passed (LISTEN_FDS).
    Systemd,
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("--socket {0:?}: only unix:// addresses are served")]
    Scheme(String),
    #[error("--group {0:?}: no such group")]
    Group(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("--socket {path}: another service answers there")]
    InUse { path: String },
    #[error("socket activation: no listening unix socket passed (LISTEN_FDS, LISTEN_PID)")]
    NoActivation,
}

impl Listen {
    /// `--socket` (`unix:///path` or a bare path) and `--group` (a name or gid).
    pub fn parse(socket: &str, group: Option<&str>) -> Result<Listen, ListenError> {
        let path = match socket.strip_prefix("unix://") {
            Some(p) => p,
            None if socket.starts_with('/') => socket,
            None => return Err(ListenError::Scheme(socket.into())),
        };
        let group = match group {
            None => None,
            Some(g) => Some(match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => nix::unistd::Group::from_name(g)
                    .ok()
                    .flatten()
                    .ok_or_else(|| ListenError::Group(g.into()))?
                    .gid
                    .as_raw(),
            }),
        };
        Ok(Listen::Path {
            path: path.into(),
            group,
        })
    }
}

pub fn open(l: &Listen) -> Result<UnixListener, ListenError> {
    let (path, group) = match l {
        Listen::Systemd => {
            return hull_sys::activation::unix_listener().ok_or(ListenError::NoActivation)
        }
        Listen::Path { path, group } => (path, *group),
    };
    let io = |source| ListenError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // A socket left by a service that died is replaced; one that answers is not.
    if std::fs::symlink_metadata(path).is_ok() {
        if hull_sys::fdpass::connect(path).is_ok() {
            return Err(ListenError::InUse {
                path: path.display().to_string(),
            });
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    // Made under a umask that leaves nobody else a moment to connect before the chmod.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = hull_sys::fdpass::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.map_err(io)?;
    let gid = group.map(nix::unistd::Gid::from_raw);
    nix::unistd::chown(path.as_path(), Some(nix::unistd::Uid::from_raw(0)), gid)
        .map_err(|e| io(e.into()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_flag_takes_unix_urls_and_paths_only() {
        assert!(matches!(
            Listen::parse("unix:///run/x.sock", None),
            Ok(Listen::Path { path, group: None }) if path == std::path::Path::new("/run/x.sock")
        ));
        assert!(matches!(
            Listen::parse("/run/x.sock", Some("0")),
            Ok(Listen::Path { group: Some(0), .. })
        ));
        assert!(matches!(
            Listen::parse("tcp://0.0.0.0:2375", None),
            Err(ListenError::Scheme(_))
        ));
        assert!(matches!(
            Listen::parse("/x", Some("no-such-group-hull")),
            Err(ListenError::Group(_))
        ));
    }
}
