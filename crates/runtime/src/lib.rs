//! The OCI runtime as a library: a bundle (config.json + rootfs) in, a running container out.
//!
//! Where things are:
//! - `spec`: reading and checking config.json
//! - `create` / `init`: the parent and child halves of container creation
//! - `namespaces`, `rootfs`, `hooks`, `cgroup`: one concern each
//! - `lifecycle`: start, kill, delete, state, list; `run`: all of it in one go

#![forbid(unsafe_code)]

pub mod cgroup;
pub mod channel;
pub mod console;
pub mod create;
pub mod error;
pub mod events;
pub mod exec;
pub mod extra_fds;
pub mod features;
pub mod hooks;
pub mod init;
pub mod lifecycle;
pub mod namespaces;
pub mod pidfd;
pub mod resources;
pub mod rootfs;
pub mod run;
pub mod spec;
pub mod state;
pub mod sysctl;

pub use error::{Error, Result};
