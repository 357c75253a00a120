//! A per-container clock for hull.
//!
//! - [`FakeTime`]: `--faketime SPEC`, the wall clock a container sees (running from a date,
//!   shifted, frozen, at a rate), as a [`Model`] of the real clock. A supervisor process per
//!   container ([`serve`]) follows every process of the container with ptrace, patches the
//!   vDSO at each exec so that its realtime entries return the faked clock, and answers the
//!   realtime clock system calls, which the container's seccomp filter sends to it
//!   ([`apply`]); [`update`] changes the clock live.
//! - [`TimeOffsets`]: `--time-offset monotonic=S,boottime=S`, a time namespace (OCI
//!   `linux.timeOffsets`).
//!
//! Engine-agnostic: it writes files under a container's state directory and edits an OCI
//! spec; nothing here knows about images or the engine's database.

#![forbid(unsafe_code)]

pub mod civil;
mod inject;
mod mem;
mod model;
mod offsets;
mod rules;
mod settings;
mod spec;
mod trace;
mod vdso;

pub use inject::{
    apply, clock_dir, prepare, seize_self, start_supervisor, update, InjectError, PTRACE_NOTE,
    STATE_SUBDIR,
};
pub use model::Model;
pub use offsets::TimeOffsets;
pub use settings::{cap_add_warning, Settings, KEY};
pub use spec::{Clock, FakeTime, SpecError};
pub use trace::serve;

/// The warning for `--cap-add SYS_TIME` (there is no namespace for the wall clock).
pub const SYS_TIME_WARNING: &str = "warning: --cap-add SYS_TIME lets the container set the \
HOST's clock (there is no time namespace for the wall clock); to give a container another \
date, use --faketime instead";
