//! The per-container clock (crates/clock) in the engine: `--faketime`/`--time-offset` kept in
//! the run config's extensions under `Clock` (so `inspect` shows them), applied to config.json
//! at every start, added to `exec`'s environment, and changed live by `update --faketime`.

use oci_spec::runtime::Spec;

use crate::bundle::spec::{Ctx, SpecError};
use crate::container::{self, Container};
use crate::engine::Engine;
use crate::RunConfig;

pub use hull_clock::{cap_add_warning, Settings};

#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error(transparent)]
    Spec(#[from] hull_clock::SpecError),
    #[error(transparent)]
    Inject(#[from] hull_clock::InjectError),
    #[error(transparent)]
    Container(#[from] container::ContainerError),
    #[error("--faketime: container {0:?} was not started with --faketime (its clock cannot be faked while it runs)")]
    NoFakeClock(String),
}

/// A container's clock settings, if any.
pub fn settings(cfg: &RunConfig) -> Option<Settings> {
    cfg.clock.clone()
}

/// Stores the settings in a run config (nothing when both are absent).
pub fn store(cfg: &mut RunConfig, s: &Settings) {
    cfg.clock = (!s.is_empty()).then(|| s.clone());
}

/// spec::generate's step: prepares the fake clock under the container's run directory (a
/// running date becomes an offset from the real clock now) and edits config.json: the
/// clock's seccomp rules and `hull internal-clock hook DIR` as a createRuntime hook.
pub fn apply(ctx: &Ctx<'_>, spec: &mut Spec) -> Result<(), SpecError> {
    let Some(s) = settings(&ctx.c.config) else {
        return Ok(());
    };
    let exe = std::env::current_exe().unwrap_or_else(|_| "hull".into());
    // Traced, the hook (and the supervisor it starts) write to where we write: the runtime
    // gives the hook the container's stderr, which must carry none of it.
    let mut hook = vec![exe.display().to_string()];
    hook.extend(hull_trace::child_args());
    hook.extend(["internal-clock".into(), "hook".into()]);
    s.apply(&ctx.paths.run_dir(&ctx.c.id), &hook, spec)
        .map_err(|e| SpecError::Invalid(e.to_string()))
}

/// `exec`: hands the calling process to the container's clock supervisor before it starts
/// the runtime, which then follows the new process into the container.
pub fn before_exec(eng: &Engine, c: &Container) -> Result<(), ClockError> {
    if settings(&c.config).is_some_and(|s| s.faketime.is_some()) {
        hull_clock::seize_self(&eng.paths.run_dir(&c.id))?;
    }
    Ok(())
}

/// `update --faketime SPEC`: gives a running container's supervisor the new clock, and stores the new setting (so a restart keeps it).
pub fn update_faketime(eng: &Engine, c: &Container, spec: &str) -> Result<(), ClockError> {
    let ft = hull_clock::FakeTime::parse(spec)?;
    let mut s = settings(&c.config).unwrap_or_default();
    if s.faketime.is_none() {
        return Err(ClockError::NoFakeClock(c.name.clone()));
    }
    // A stopped container only keeps the setting for its next start.
    if c.status.is_live() {
        hull_clock::update(&eng.paths.run_dir(&c.id), &ft)?;
    }
    s.faketime = Some(ft);
    let mut cfg = c.config.clone();
    store(&mut cfg, &s);
    container::set_config(&eng.conn, &c.id, &cfg)?;
    Ok(())
}
