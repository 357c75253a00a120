//! hull's Docker Engine API service (`hull system service`): HTTP/1.1 on a unix socket, one
//! thread per connection, each endpoint a call of the engine's verbs (the same ones the CLI
//! calls). Nothing here runs unless the service is started: `hull run` never links into it at
//! start-up beyond the code being in the binary.

#![forbid(unsafe_code)]

pub mod archive;
pub mod attach;
pub mod build;
pub mod containers;
pub mod create;
pub mod error;
pub mod events;
pub mod exec;
pub mod filesystem;
pub mod filters;
pub mod fresh;
pub mod http;
pub mod images;
pub mod listen;
pub mod logs;
pub mod maintain;
pub mod networks;
pub mod objects;
pub mod router;
pub mod stream;
pub mod system;
pub mod track;
pub mod usage;
pub mod volumes;
pub mod wait;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hull_engine::{Engine, Paths};

pub use error::{ApiError, ApiResult};

/// How the service runs.
pub struct Config {
    pub paths: Paths,
    /// --runtime/HULL_RUNTIME (None: the engine's default).
    pub runtime: Option<PathBuf>,
    pub cgroup_manager: Option<hull_engine::container::cgroup::CgroupManager>,
    /// Where to listen: a path, or systemd's socket when started by socket activation.
    pub listen: listen::Listen,
    /// Exit after this long without a connection (None: never).
    pub idle_timeout: Option<Duration>,
}

/// What every request's handler shares.
pub struct Ctx {
    pub paths: Paths,
    pub runtime: Option<PathBuf>,
    pub cgroup_manager: Option<hull_engine::container::cgroup::CgroupManager>,
    /// Starts and exits the service saw, for wait and attach (track.rs).
    pub track: track::Tracker,
    /// The terminals of running execs, for their resizes (exec.rs).
    pub execs: exec::Terminals,
    /// Threads that watch a started container with no connection open (containers.rs):
    /// while any runs, the service does not start over.
    pub watchers: AtomicUsize,
}

impl Ctx {
    /// The engine for one request (its own database connection: a connection is not shared
    /// between threads).
    pub fn engine(&self) -> ApiResult<Engine> {
        let mut eng = Engine::open(self.paths.clone(), self.runtime.clone())?;
        eng.cgroup_manager = self.cgroup_manager;
        Ok(eng)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Listen(#[from] listen::ListenError),
}

/// How long the service stays idle (no connection, no watcher) before it starts over as a
/// fresh process (fresh.rs): the code pages its requests touched go with the old image.
pub const FRESH_AFTER: Duration = Duration::from_secs(2);

/// Serves until the idle timeout (or forever).
pub fn serve(cfg: Config) -> Result<(), ServeError> {
    let listener = listen::open(&cfg.listen)?;
    // The monitors, relays and responders its requests start are this process's children.
    hull_engine::children::reap_here();
    let ctx = Arc::new(Ctx {
        paths: cfg.paths,
        runtime: cfg.runtime,
        cgroup_manager: cfg.cgroup_manager,
        track: track::Tracker::default(),
        execs: exec::Terminals::default(),
        watchers: AtomicUsize::new(0),
    });
    let open = Arc::new(AtomicUsize::new(0));
    // When the last connection ended (or the service started; a fresh image is told how
    // long its predecessor had been idle, so --timeout counts from the same moment).
    let idle_before = fresh::idle_before();
    let last = Arc::new(Mutex::new(
        Instant::now()
            .checked_sub(idle_before)
            .unwrap_or_else(Instant::now),
    ));
    // Whether this image has served a connection: a fresh one that has not is already lean.
    let mut served = false;
    loop {
        // Accepts and the decision to start over are both made here, so no accepted
        // connection is ever lost to the exec: a client that connects meanwhile waits in
        // the backlog, which the fresh image inherits.
        if !fresh::readable(&listener, Duration::from_millis(200)) {
            if open.load(Ordering::SeqCst) > 0 {
                continue;
            }
            let since = last.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
            if cfg.idle_timeout.is_some_and(|t| since >= t) {
                return Ok(());
            }
            if served && ctx.watchers.load(Ordering::SeqCst) == 0 && since >= FRESH_AFTER {
                let e = fresh::start_over(&listener, since);
                eprintln!("hull system service: could not start over: {e}");
                served = false;
            }
            continue;
        }
        let Ok((stream, _)) = listener.accept() else {
            continue;
        };
        served = true;
        let (ctx, open, last) = (Arc::clone(&ctx), Arc::clone(&open), Arc::clone(&last));
        open.fetch_add(1, Ordering::SeqCst);
        std::thread::spawn(move || {
            if let Ok(conn) = http::Conn::new(stream) {
                conn.serve(|req, conn| router::handle(&ctx, req, conn));
            }
            *last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            // The last connection gone: what its threads' arenas hold goes back to the
            // kernel (idle RSS 13.8 MiB after 13 runs without this) until the fresh start.
            if open.fetch_sub(1, Ordering::SeqCst) == 1 {
                hull_sys::trim_heap();
            }
        });
    }
}
