//! hull's engine: the containers, volumes, pods and networks a `hull` command works on, their
//! state in SQLite, and the verbs. The `hull` binary is a thin clap layer over this crate.

pub mod config;
pub mod container;
pub mod cp;
pub mod db;
pub mod format;
pub mod names;
pub mod nanotime;
pub mod parse;
pub mod paths;
pub mod prune;
pub mod sysinfo;
pub mod timefmt;
pub mod volume;

pub use config::RunConfig;
pub use container::{Container, ContainerError, Status};
pub use paths::Paths;
