//! hull's engine: the containers, volumes, pods and networks a `hull` command works on, their
//! state in SQLite, and the verbs. The `hull` binary is a thin clap layer over this crate.

pub mod db;
pub mod paths;
pub mod timefmt;
pub mod volume;

pub use paths::Paths;
