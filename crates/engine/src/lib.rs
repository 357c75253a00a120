//! hull's engine: the containers, volumes, pods and networks a `hull` command works on, their
//! state in SQLite, and the verbs. Front ends (the `hull` CLI, the API socket) call the verbs
//! on [`Engine`] with typed requests and get typed replies or an [`Error`] whose variant says
//! what failed; they never reach the state (`state`) or the OCI runtime's driver (`ocirt`).
//!
//! The path of `hull run IMAGE CMD`, module by module:
//! 1. `hull` (crates/hull, cmd/run.rs) parses the flags into a `container::create::Request`
//!    and opens the [`Engine`] (engine.rs: the paths, `state`'s database, the runtime binary).
//! 2. `--pod`: `pod::verbs` joins the request to the pod (its infra started if needed).
//! 3. `container::create`: the image resolved (`image`, seeded busybox), the request merged
//!    with its defaults into a `RunConfig` (`container::config`), the name checked and taken
//!    (`container::names`), volumes created (`volume`), the row inserted (`container`), the
//!    container's directories written.
//! 4. `container::start`: the overlay mounted at the bundle's rootfs (`bundle::rootfs`),
//!    /dev/shm (`bundle::shm`), config.json generated from the run config (`bundle::spec`),
//!    the network prepared (`network::hooks`), then hull-monitor spawned; the monitor runs the
//!    OCI runtime's `create` and `start` (`ocirt` is hull's side of that: the runtime CLI
//!    driver and the monitor's callback).
//! 5. A container whose network is wired once its namespace exists: the runtime's
//!    createRuntime hook runs `hull internal-hook network`, which reaches
//!    `ocirt::report`/`ocirt::callback` and `network::endpoint` (veth, lease, firewall).
//! 6. The starter and the monitor handshake over a socketpair (the pid, GO); the container
//!    is recorded running and `run` attaches (`hull_term::attach`) as the first client.
//! 7. The init exits: the monitor runs `hull internal-hook exited` (or the foreground `run`
//!    records it first): `ocirt::callback` records the exit, applies the restart policy or
//!    tears the bundle, network and runtime state down; `--rm` then `container::remove`.
//!
//! Elsewhere: `container::reconcile` sets a row right from the kernel whenever a container is
//! looked up; `events` is the event log; `check` the `system check`; `disk_usage` the
//! `system df`; `time` docker's timestamps; `kube` the `kube play/generate` translation;
//! `signal` signal names. Go templates (`--format`) and the values of docker's flags are the
//! clients' (crates/cli-format), the terminal side of attach too (crates/term).

#![forbid(unsafe_code)]

pub mod bundle;
pub mod check;
pub mod children;
pub mod container;
pub mod disk_usage;
pub mod engine;
pub mod error;
pub mod events;
pub mod events_query;
pub mod image;
pub mod info;
pub mod kube;
pub mod network;
pub mod ocirt;
pub mod paths;
pub mod pod;
pub mod signal;
pub(crate) mod state;
pub mod sysinfo;
pub mod time;
pub mod volume;

pub use container::config::RunConfig;
pub use container::{Container, ContainerError, Status};
pub use engine::Engine;
pub use error::{Error, Result};
/// The event `hull internal-hook` reports for the monitor (the verbs `record_started`,
/// `record_exited`, `wire_network`, `run_healthcheck`).
pub use ocirt::report::MonitorEvent;
pub use paths::Paths;
