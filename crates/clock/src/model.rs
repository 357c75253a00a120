//! The container's wall clock as a function of the real one, fixed when the container starts
//! and at each update: `fake = base + (real - t0) * rate`, or `base` when frozen. One model
//! per container, so every process, however late it starts, reads the same running clock.
//!
//! Kept as one text line (`t0 base rate frozen`, nanoseconds) in `STATE/faketime/clock`,
//! which the clock supervisor reads at its start and again when told to (`reload`).

use std::path::Path;

use crate::spec::{Clock, FakeTime};

const NANOS: i128 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// The real clock (CLOCK_REALTIME, ns) when the model was made.
    pub t0: i64,
    /// The faked clock at `t0` (ns).
    pub base: i64,
    pub rate: f64,
    pub frozen: bool,
}

impl Model {
    /// The model for `ft` when the real clock reads `now` (ns since the epoch).
    pub fn new(ft: &FakeTime, now: i64) -> Model {
        let (base, frozen) = match ft.clock() {
            Clock::Running(t) => ((t as i128 * NANOS) as i64, false),
            Clock::Offset(s) => ((now as i128 + s as i128 * NANOS) as i64, false),
            Clock::Frozen(t) => ((t as i128 * NANOS) as i64, true),
        };
        Model {
            t0: now,
            base,
            rate: ft.rate().unwrap_or(1.0),
            frozen,
        }
    }

    /// The rate as a 32.32 fixed-point factor, 0 when frozen: the patched vDSO's integer
    /// arithmetic (vdso/stub.S), which [`Model::fake`] shares so both paths agree.
    pub fn mult(&self) -> i64 {
        if self.frozen {
            0
        } else {
            (self.rate * (1u64 << 32) as f64).round() as i64
        }
    }

    /// The faked time for a real time `real` (ns): `base + ((real - t0) * mult) >> 32`.
    pub fn fake(&self, real: i64) -> i64 {
        let elapsed = ((real as i128 - self.t0 as i128) * self.mult() as i128) >> 32;
        (self.base as i128 + elapsed).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// The real time at which the faked clock reads `fake` (ns): where an absolute deadline
    /// on the faked clock lies on the real one. A frozen clock never reaches a later time.
    pub fn real_for(&self, fake: i64) -> i64 {
        if self.frozen {
            return if fake <= self.base { self.t0 } else { i64::MAX };
        }
        let elapsed = ((fake as i128 - self.base as i128) << 32) / self.mult() as i128;
        (self.t0 as i128 + elapsed).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    pub fn to_line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.t0, self.base, self.rate, self.frozen as u8
        )
    }

    pub fn from_line(s: &str) -> Option<Model> {
        let mut it = s.split_whitespace();
        let m = Model {
            t0: it.next()?.parse().ok()?,
            base: it.next()?.parse().ok()?,
            rate: it.next()?.parse().ok()?,
            frozen: it.next()? == "1",
        };
        (m.rate > 0.0 && m.rate.is_finite()).then_some(m)
    }

    pub fn read(path: &Path) -> std::io::Result<Model> {
        let s = std::fs::read_to_string(path)?;
        Model::from_line(&s).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad clock {s:?}"))
        })
    }
}

/// The real clock now, in ns since the epoch.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_offset_frozen_and_rate() {
        let now = 1_700_000_000 * NANOS as i64;
        let m = Model::new(&FakeTime::parse("2020-12-24 20:30:00").unwrap(), now);
        assert_eq!(m.fake(now), 1_608_841_800 * NANOS as i64);
        assert_eq!(m.fake(now + 5), m.base + 5);
        let m = Model::new(&FakeTime::parse("-10d x2").unwrap(), now);
        assert_eq!(m.fake(now), now - 864_000 * NANOS as i64);
        assert_eq!(m.fake(now + 10), m.base + 20);
        assert_eq!(m.real_for(m.base + 20), now + 10);
        let m = Model::new(&FakeTime::parse("+0 x0.5").unwrap(), now);
        assert_eq!(m.mult(), 1 << 31);
        assert_eq!(m.fake(now - 10), now - 5, "the real clock stepped back");
        assert_eq!(m.real_for(now + 5), now + 10);
        let m = Model::new(&FakeTime::parse("@2010-06-01").unwrap(), now);
        assert_eq!(m.fake(now + 1_000_000), m.base);
        assert_eq!(m.real_for(m.base + 1), i64::MAX);
        assert_eq!(Model::from_line(&m.to_line()), Some(m));
        assert_eq!(Model::from_line("1 2 0 0"), None);
    }
}
