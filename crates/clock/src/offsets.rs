//! `--time-offset monotonic=S,boottime=S`: a time namespace whose CLOCK_MONOTONIC and
//! CLOCK_BOOTTIME (and so /proc/uptime) are shifted, as OCI `linux.timeOffsets`.
//! Only these two clocks can be namespaced; the wall clock is `--faketime`'s job.

use std::collections::HashMap;

use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, LinuxTimeOffset, Spec};

use crate::spec::{parse_offset, SpecError};

/// Offsets in seconds per clock; a clock not named keeps its real value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeOffsets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monotonic: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boottime: Option<i64>,
}

impl TimeOffsets {
    /// `monotonic=S,boottime=S`, either or both; S is seconds with an optional sign and unit
    /// (s, m, h, d, w, y), e.g. `boottime=+10d`.
    pub fn parse(spec: &str) -> Result<TimeOffsets, SpecError> {
        let fail = |why: String| SpecError::TimeOffset {
            spec: spec.to_string(),
            why,
        };
        let mut out = TimeOffsets::default();
        for part in spec.split(',').map(str::trim) {
            let Some((clock, value)) = part.split_once('=') else {
                return Err(fail(format!(
                    "{part:?}: expected CLOCK=SECONDS, e.g. monotonic=3600,boottime=86400"
                )));
            };
            let secs = parse_offset(value.trim()).map_err(&fail)?;
            let slot = match clock.trim() {
                "monotonic" => &mut out.monotonic,
                "boottime" => &mut out.boottime,
                other => {
                    return Err(fail(format!(
                        "unknown clock {other:?} (monotonic or boottime)"
                    )))
                }
            };
            if slot.replace(secs).is_some() {
                return Err(fail(format!("clock {:?} given twice", clock.trim())));
            }
        }
        Ok(out)
    }

    /// Sets `linux.timeOffsets` and asks for a new time namespace (unless the spec joins one
    /// already, by path, or asks for one).
    pub fn apply(&self, spec: &mut Spec) {
        let mut linux = spec.linux().clone().unwrap_or_default();
        let mut map: HashMap<String, LinuxTimeOffset> =
            linux.time_offsets().clone().unwrap_or_default();
        for (name, secs) in [("monotonic", self.monotonic), ("boottime", self.boottime)] {
            if let Some(secs) = secs {
                let mut o = LinuxTimeOffset::default();
                o.set_secs(Some(secs));
                o.set_nanosecs(Some(0));
                map.insert(name.to_string(), o);
            }
        }
        linux.set_time_offsets(Some(map));
        let mut nss = linux.namespaces().clone().unwrap_or_default();
        if !nss.iter().any(|n| n.typ() == LinuxNamespaceType::Time) {
            nss.push(
                LinuxNamespaceBuilder::default()
                    .typ(LinuxNamespaceType::Time)
                    .build()
                    .expect("a namespace with a type is complete"),
            );
        }
        linux.set_namespaces(Some(nss));
        spec.set_linux(Some(linux));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_clocks() {
        let t = TimeOffsets::parse("monotonic=3600,boottime=86400").unwrap();
        assert_eq!(t.monotonic, Some(3600));
        assert_eq!(t.boottime, Some(86_400));
        let t = TimeOffsets::parse("boottime=+10d").unwrap();
        assert_eq!((t.monotonic, t.boottime), (None, Some(864_000)));
        assert_eq!(
            TimeOffsets::parse("monotonic=-5").unwrap().monotonic,
            Some(-5)
        );
    }

    #[test]
    fn rejects_bad_offsets() {
        for (s, want) in [
            ("", "expected CLOCK=SECONDS"),
            ("realtime=5", "unknown clock"),
            ("monotonic=abc", "expected a number"),
            ("monotonic=1,monotonic=2", "twice"),
            ("boottime", "expected CLOCK=SECONDS"),
        ] {
            let e = TimeOffsets::parse(s).unwrap_err().to_string();
            assert!(e.starts_with("--time-offset "), "{s}: {e}");
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn apply_adds_offsets_and_a_time_namespace() {
        let mut spec = Spec::default();
        TimeOffsets::parse("boottime=86400")
            .unwrap()
            .apply(&mut spec);
        let j = serde_json::to_value(&spec).unwrap();
        assert_eq!(j["linux"]["timeOffsets"]["boottime"]["secs"], 86_400);
        let nss = j["linux"]["namespaces"].as_array().unwrap();
        assert_eq!(nss.iter().filter(|n| n["type"] == "time").count(), 1);
        // Applying again keeps one time namespace.
        TimeOffsets::parse("monotonic=1").unwrap().apply(&mut spec);
        let j = serde_json::to_value(&spec).unwrap();
        let nss = j["linux"]["namespaces"].as_array().unwrap();
        assert_eq!(nss.iter().filter(|n| n["type"] == "time").count(), 1);
        assert_eq!(j["linux"]["timeOffsets"]["monotonic"]["secs"], 1);
    }
}
