//! The OCI runtime side: the runtime CLI driver and the monitor's `internal-hook` callback.

pub mod callback;
pub mod driver;
