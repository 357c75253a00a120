//! What an engine stores per container (`hull inspect` shows it) and applies to the
//! config.json it generates at each start, plus the `--cap-add SYS_TIME` warning.

use std::path::Path;

use oci_spec::runtime::Spec;
use serde_json::Value;

use crate::inject::{self, InjectError};
use crate::{FakeTime, SpecError, TimeOffsets};

/// The key under which an engine keeps `Settings` in its per-container extensions.
pub const KEY: &str = "Clock";

/// A container's clock: `--faketime` and `--time-offset`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faketime: Option<FakeTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_offsets: Option<TimeOffsets>,
}

impl Settings {
    /// From the two flags' values (either may be absent).
    pub fn from_flags(
        faketime: Option<&str>,
        time_offset: Option<&str>,
    ) -> Result<Self, SpecError> {
        Ok(Settings {
            faketime: faketime.map(FakeTime::parse).transpose()?,
            time_offsets: time_offset.map(TimeOffsets::parse).transpose()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.faketime.is_none() && self.time_offsets.is_none()
    }

    /// Read back from a stored JSON value (None when absent or not ours).
    pub fn from_value(v: Option<&Value>) -> Option<Settings> {
        v.and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("settings serialize")
    }

    /// At container start: writes the fake clock's model under `state_dir` (offsets taken
    /// from the real clock now) and edits the OCI config: the seccomp rules and the
    /// createRuntime hook that starts the supervisor, `hook` followed by the clock directory
    /// (see [`crate::start_supervisor`]); the time namespace's offsets.
    pub fn apply(
        &self,
        state_dir: &Path,
        hook: &[String],
        spec: &mut Spec,
    ) -> Result<(), InjectError> {
        if let Some(ft) = &self.faketime {
            let dir = inject::prepare(state_dir, ft)?;
            let mut hook = hook.to_vec();
            hook.push(dir.display().to_string());
            inject::apply(spec, &hook);
        }
        if let Some(t) = &self.time_offsets {
            t.apply(spec);
        }
        Ok(())
    }
}

/// The warning to print when `--cap-add` grants CAP_SYS_TIME (by name or with ALL).
pub fn cap_add_warning(cap_add: &[String]) -> Option<&'static str> {
    cap_add
        .iter()
        .any(|c| {
            let c = c.trim().to_ascii_uppercase();
            let c = c.strip_prefix("CAP_").unwrap_or(&c);
            c == "SYS_TIME" || c == "ALL"
        })
        .then_some(crate::SYS_TIME_WARNING)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_round_trip_through_json() {
        let s = Settings::from_flags(Some("@2020-12-24 20:30:00"), Some("boottime=60")).unwrap();
        let v = s.to_value();
        assert_eq!(v["Faketime"], "@2020-12-24 20:30:00");
        assert_eq!(v["TimeOffsets"]["boottime"], 60);
        assert_eq!(Settings::from_value(Some(&v)), Some(s));
        assert!(Settings::from_flags(None, None).unwrap().is_empty());
        let e = Settings::from_flags(Some("soon"), None).unwrap_err();
        assert!(e.to_string().starts_with("--faketime \"soon\""), "{e}");
    }

    #[test]
    fn time_offsets_json() {
        let mut spec: Spec =
            serde_json::from_value(json!({ "linux": { "namespaces": [{ "type": "pid" }] } }))
                .unwrap();
        let t = TimeOffsets::parse("monotonic=5,boottime=7").unwrap();
        t.apply(&mut spec);
        t.apply(&mut spec);
        let spec = serde_json::to_value(&spec).unwrap();
        assert_eq!(spec["linux"]["timeOffsets"]["boottime"]["secs"], 7);
        assert_eq!(spec["linux"]["timeOffsets"]["monotonic"]["secs"], 5);
        assert_eq!(spec["linux"]["namespaces"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn sys_time_warns() {
        let caps = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(cap_add_warning(&caps(&["NET_ADMIN", "sys_time"])).is_some());
        assert!(cap_add_warning(&caps(&["CAP_SYS_TIME"])).is_some());
        assert!(cap_add_warning(&caps(&["ALL"])).is_some());
        assert!(cap_add_warning(&caps(&["NET_ADMIN"])).is_none());
        assert!(crate::SYS_TIME_WARNING.contains("--faketime"));
    }

    #[test]
    fn faketime_json_has_the_hook_and_the_model() {
        let state = tempfile::tempdir().unwrap();
        let s = Settings::from_flags(Some("-1d"), None).unwrap();
        let mut spec: Spec = serde_json::from_value(
            json!({ "process": { "env": ["PATH=/bin"], "user": {}, "cwd": "/" }, "linux": {} }),
        )
        .unwrap();
        s.apply(state.path(), &["/hull".into()], &mut spec).unwrap();
        let spec = serde_json::to_value(&spec).unwrap();
        let hook = &spec["hooks"]["createRuntime"][0];
        assert_eq!(hook["path"], "/hull");
        let dir = crate::clock_dir(state.path());
        assert_eq!(hook["args"][1], dir.display().to_string());
        let m = crate::Model::read(&dir.join("clock")).unwrap();
        assert_eq!(m.base - m.t0, -86_400 * 1_000_000_000);
    }
}
