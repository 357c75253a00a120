//! The OCI runtime side: the runtime CLI driver and the monitor's `internal-hook` callback.

pub(crate) mod callback;
pub(crate) mod driver;
pub mod report;
