//! The per-container clock's flags: `--faketime SPEC` and `--time-offset` for create/run,
//! the `--cap-add SYS_TIME` warning (`hull update --faketime` is in update.rs); and the
//! hidden `internal-clock` verb: the createRuntime hook that starts a container's clock
//! supervisor, and the supervisor itself.

use hull_engine::{container::clock, RunConfig};

use super::CmdError;

#[derive(clap::Args, Default)]
pub struct ClockFlags {
    /// Fake wall clock: a date ("2020-12-24 20:30:00", keeps running), an offset (-10d, +2h)
    /// or a frozen date (@DATE), with an optional rate (" x2"); dates are UTC.
    #[arg(long, allow_hyphen_values = true)]
    pub faketime: Option<String>,
    /// Time namespace offsets: monotonic=SECONDS,boottime=SECONDS.
    #[arg(long = "time-offset", allow_hyphen_values = true)]
    pub time_offset: Option<String>,
}

impl ClockFlags {
    /// Checks the flags and stores them in the run config; warns about --cap-add SYS_TIME.
    pub fn store(&self, cfg: &mut RunConfig) -> Result<(), CmdError> {
        let s = clock::Settings::from_flags(self.faketime.as_deref(), self.time_offset.as_deref())?;
        if s.faketime.is_some() {
            eprintln!("{}", hull_clock::PTRACE_NOTE);
        }
        clock::store(cfg, &s);
        if let Some(w) = clock::cap_add_warning(&cfg.cap_add) {
            eprintln!("{w}");
        }
        Ok(())
    }
}

/// (internal) `hook DIR` (the runtime's state on stdin) or `serve DIR PID`.
#[derive(clap::Args)]
pub struct InternalArgs {
    what: String,
    dir: std::path::PathBuf,
    pid: Option<i32>,
}

pub fn internal(a: InternalArgs) -> super::CmdResult {
    let fail = |e: String| CmdError::new(format!("internal-clock: {e}"));
    // DIR is the clock's directory in the container's run directory, which is named by the
    // container's id: the spans name the container, as every hop's do.
    let id = a.dir.parent().and_then(|d| d.file_name());
    let id = id
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match (a.what.as_str(), a.pid) {
        ("hook", None) => {
            let _span = tracing::debug_span!("clock_hook", id = %id).entered();
            let mut state = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut state)
                .map_err(|e| fail(format!("runtime state: {e}")))?;
            let exe = std::env::current_exe().map_err(|e| fail(e.to_string()))?;
            let trace = hull_trace::child_args();
            hull_clock::start_supervisor(&exe, &trace, &a.dir, &state)
                .map_err(|e| fail(e.to_string()))?;
            tracing::debug!("supervisor ready");
            Ok(())
        }
        ("serve", Some(pid)) => {
            let _span = tracing::debug_span!("clock_serve", id = %id).entered();
            hull_clock::serve(&a.dir, pid).map_err(|e| fail(e.to_string()))
        }
        _ => Err(fail("expected `hook DIR` or `serve DIR PID`".into())),
    }
}
