//! Time formats and clocks: docker's timestamps, `--since`/`--until` values, nanosecond times.

pub mod nanotime;
pub mod since;
pub mod timefmt;
