//! hull-monitor: one small process per container, parent and subreaper of the container's
//! init. It runs the OCI runtime's create and start, holds the container's stdio (pipes or the
//! pty master), writes the log, serves attach clients over a unix socket, records the exit
//! code through hull's exit hook, and applies the restart policy.
//!
//! The binary is crates/monitor-bin (no_std, raw syscalls, its own workspace). This library
//! holds what it shares with its clients and what is pure: the frames that the monitor and
//! hull (run, attach, wait, logs -f) exchange, the monitor's command line, and its log lines.
//! Without the default `std` feature it needs only core and alloc.

#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod args;
pub mod logfmt;
pub mod oom;
pub mod proto;
pub mod trace;
