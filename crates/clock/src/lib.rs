//! A per-container clock for hull.
//!
//! - [`FakeTime`]: `--faketime SPEC`, the wall clock a container sees (running from a date,
//!   shifted, frozen, at a rate), carried out by Debian's libfaketime, which [`prepare`] and
//!   [`Injection::apply`] inject without changing the image; [`update`] changes it live.
//! - [`TimeOffsets`]: `--time-offset monotonic=S,boottime=S`, a time namespace (OCI
//!   `linux.timeOffsets`).
//!
//! Engine-agnostic: it writes files under a container's state directory and edits an OCI
//! spec; nothing here knows about images or the engine's database.

pub mod civil;
mod inject;
mod offsets;
mod settings;
mod spec;

pub use inject::{
    current_line, exec_env, image_preload, library_path, prepare, set_env, update, InjectError,
    Injection, CACHE_SECS, CONTAINER_DIR, DEFAULT_CACHE_SECS, LIBRARY,
};
pub use offsets::TimeOffsets;
pub use settings::{cap_add_warning, Settings, KEY};
pub use spec::{Clock, FakeTime, SpecError};

/// The warning for `--cap-add SYS_TIME` (there is no namespace for the wall clock).
pub const SYS_TIME_WARNING: &str = "warning: --cap-add SYS_TIME lets the container set the \
HOST's clock (there is no time namespace for the wall clock); to give a container another \
date, use --faketime instead";
