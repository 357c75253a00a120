//! The OCI runtime side: the runtime CLI driver (behind the OciRuntime trait), hull-monitor's
//! spawn and handshake (behind the Monitor trait), and the monitor's `internal-hook`
//! callback; fakes of both traits for the lifecycle's unit tests.

pub(crate) mod callback;
#[cfg(test)]
mod callback_tests;
pub mod driver;
#[cfg(test)]
pub mod fake;
pub mod monitor;
pub mod report;
