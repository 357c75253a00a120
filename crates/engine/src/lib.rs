//! hull's engine: the containers, volumes, pods and networks a `hull` command works on, their
//! state in SQLite, and the verbs. The `hull` binary is a thin clap layer over this crate.

#![forbid(unsafe_code)]

pub mod bundle;
pub mod check;
pub mod container;
pub mod engine;
pub mod error;
pub mod events;
pub mod format;
pub mod image;
pub mod kube;
pub mod network;
pub mod ocirt;
pub mod parse;
pub mod paths;
pub mod pod;
pub mod state;
pub mod sysinfo;
pub mod time;
pub mod volume;

pub use container::config::RunConfig;
pub use container::{Container, ContainerError, Status};
pub use engine::Engine;
pub use error::{Error, Result};
pub use paths::Paths;
