//! Starting a container: its bundle prepared (crate::bundle: the overlay at the rootfs,
//! mounts, network, config.json), then a hull-monitor spawned to run the runtime's create and
//! start (crate::ocirt::monitor). The starter talks to the monitor over a socketpair: it
//! learns the init pid, records "running", answers GO, and stays connected as the first
//! attach client. Each step that fails undoes the ones before it.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use crate::container::{self, Container};
use crate::engine::{Engine, EngineError};
use crate::{bundle::rootfs, bundle::spec, image};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Image(#[from] image::ImageError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    Container(#[from] container::ContainerError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The runtime refused: its message; the exit code docker gives (125, 126, 127).
    #[error("{msg}")]
    Runtime { msg: String, code: i32 },
}

impl StartError {
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Runtime { code, .. } => *code,
            _ => 125,
        }
    }
}

/// How the starter attaches.
#[derive(Default, Clone, Copy)]
pub struct Attach {
    /// proto::WANT_* flags.
    pub want: u8,
    /// The starter's terminal size, for a tty.
    pub size: Option<(u16, u16)>,
}

impl Attach {
    /// Whether the starter relays any of the container's streams (not only the exit hook).
    pub fn attaches(&self) -> bool {
        use hull_monitor::proto;
        self.want & (proto::WANT_STDIN | proto::WANT_STDOUT | proto::WANT_STDERR) != 0
    }
}

/// A started container: its init pid and the starter's connection to the monitor.
pub struct Started {
    pub pid: i32,
    pub sock: UnixStream,
}

/// docker's exit code for a command the runtime could not run, from the words of its
/// message (runc's, which docker and podman read the same way): 127 for a program not
/// found, 126 for one that may not be run, else `other`.
pub fn cannot_run_code(msg: &str, other: i32) -> i32 {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("not found") || lower.contains("no such") {
        127
    } else if lower.contains("permission denied") {
        126
    } else {
        other
    }
}

/// docker's exit codes for a command that cannot run.
pub(crate) fn runtime_error(msg: String) -> StartError {
    let code = cannot_run_code(&msg, 125);
    StartError::Runtime { msg, code }
}

/// Starts `c` (created or exited). On failure nothing of the start is left (no mount, no
/// bundle, no runtime state) and the container keeps its previous status.
pub fn start(eng: &Engine, c: &Container, at: Attach) -> Result<Started, StartError> {
    start_with_image(eng, c, at, None)
}

/// As `start`, with the image already resolved (by `run`'s create).
pub(crate) fn start_with_image(
    eng: &Engine,
    c: &Container,
    at: Attach,
    img: Option<&image::ImageInfo>,
) -> Result<Started, StartError> {
    let _span = tracing::debug_span!("start", id = %c.id).entered();
    if at.attaches() {
        // The starter is the first attach client: docker's client attaches before it starts,
        // so its daemon records `attach` before `start`.
        crate::events::container(&eng.paths, c, "attach", &[]);
    }
    crate::container::reconcile::clear_leftovers(eng, c);
    hull_sys::fault_point("hull-start-prepare");
    if let Err(e) = eng.bundler.prepare(eng, c, img) {
        eng.bundler.unprepare(eng, c);
        return Err(e);
    }
    tracing::debug!(bundle = %eng.paths.run_dir(&c.id).display(), "bundle prepared");
    crate::container::health::reset(&eng.paths, c);
    let spawned = UnixStream::pair()
        .map_err(|source| StartError::Io {
            path: "socketpair".into(),
            source,
        })
        .and_then(|(ours, theirs)| {
            let pid = eng.monitor.spawn(eng, c, OwnedFd::from(theirs), at)?;
            Ok((ours, pid))
        });
    let (mut ours, monitor_pid) = match spawned {
        Ok(s) => s,
        Err(e) => {
            eng.bundler.unprepare(eng, c);
            return Err(e);
        }
    };
    tracing::debug!(monitor_pid, "monitor spawned");
    let res = crate::ocirt::monitor::handshake(eng, c, &mut ours, monitor_pid, at);
    match &res {
        Ok(pid) => tracing::debug!(pid, "running"),
        Err(e) => tracing::debug!(error = %e, "the start failed"),
    }
    match res {
        Ok(pid) => Ok(Started { pid, sock: ours }),
        Err(e) => {
            let e = match crate::ocirt::callback::take_hook_error(eng, &c.id) {
                Some(msg) => StartError::Runtime { msg, code: 125 },
                None => e,
            };
            eng.bundler.unprepare(eng, c);
            let _ = container::set_status(&eng.conn, &c.id, c.status);
            Err(e)
        }
    }
}
impl Engine {
    /// `start`: starts the container `key` (created or exited), attached as `at` asks. On
    /// failure nothing of the start is left and the container keeps its previous status.
    pub fn start(&self, key: &str, at: Attach) -> crate::Result<Started> {
        let c = self.lookup(key)?;
        Ok(start(self, &c, at)?)
    }

    /// Starts a container just created (`run`), with the image its create resolved.
    pub fn start_created(
        &self,
        created: &super::create::Created,
        at: Attach,
    ) -> crate::Result<Started> {
        Ok(start_with_image(
            self,
            &created.container,
            at,
            Some(&created.image),
        )?)
    }
}
