//! hull-monitor: one small process per container, parent and subreaper of the container's
//! init. It runs the OCI runtime's create and start, holds the container's stdio (pipes or the
//! pty master), writes the log, serves attach clients over a unix socket, records the exit
//! code through hull's exit hook, and applies the restart policy. This library holds the
//! frames that the monitor and its clients (hull run, attach, wait, logs -f) exchange.

pub mod proto;
