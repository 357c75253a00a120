//! The per-container clock's flags: `--faketime SPEC` and `--time-offset` for create/run,
//! the `--cap-add SYS_TIME` warning (`hull update --faketime` is in update.rs).

use hull_engine::{clock, RunConfig};

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
            // Refused at create rather than at every start.
            hull_clock::library_path()?;
        }
        clock::store(cfg, &s);
        if let Some(w) = clock::cap_add_warning(&cfg.cap_add) {
            eprintln!("{w}");
        }
        Ok(())
    }
}
