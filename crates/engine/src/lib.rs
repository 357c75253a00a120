//! hull's engine: the containers, volumes, pods and networks a `hull` command works on, their
//! state in SQLite, and the verbs. The `hull` binary is a thin clap layer over this crate.

pub mod attach;
pub mod cgroup;
pub mod check;
pub mod clock;
pub mod config;
pub mod container;
pub mod cp;
pub mod create;
pub mod db;
pub mod engine;
pub mod exec;
pub mod format;
pub mod hook;
pub mod image;
pub mod inspect;
pub mod kube;
pub mod logs;
pub mod names;
pub mod nanotime;
pub mod network;
pub mod parse;
pub mod paths;
pub mod pod;
pub mod prune;
pub mod reconcile;
pub mod remove;
pub mod rootfs;
pub mod runtime;
pub mod shm;
pub mod spec;
pub mod start;
pub mod stats;
pub mod stop;
pub mod sysinfo;
pub mod timefmt;
pub mod volmount;
pub mod volume;

pub use config::RunConfig;
pub use container::{Container, ContainerError, Status};
pub use engine::Engine;
pub use paths::Paths;
