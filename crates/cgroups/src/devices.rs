//! The `linux.resources.devices` allow-list, shared by the v1 writer (devices.allow/deny)
//! and the v2 eBPF program builder.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// One rule, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    /// 'a' (all), 'b' or 'c'.
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Subset of "rwm", in that order.
    pub access: String,
}

impl Rule {
    pub fn from_spec(i: usize, d: &LinuxDeviceCgroup) -> Result<Self> {
        let field = |what: &str| format!("devices[{i}].{what}");
        let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::B => 'b',
            // "u" (unbuffered char) is a char device to the kernel.
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::P => {
                return Err(Error::invalid(
                    field("type"),
                    "\"p\" (fifo) is not a device cgroup type",
                ))
            }
        };
        let num = |v: Option<i64>, what: &str| -> Result<Option<u32>> {
            match v {
                None | Some(-1) => Ok(None),
                Some(n) => u32::try_from(n)
                    .map(Some)
                    .map_err(|_| Error::invalid(field(what), format!("{n} is out of range"))),
            }
        };
        let major = num(d.major(), "major")?;
        let minor = num(d.minor(), "minor")?;
        let raw = d.access().as_deref().unwrap_or("rwm");
        let raw = if raw.is_empty() { "rwm" } else { raw };
        if let Some(bad) = raw.chars().find(|c| !"rwm".contains(*c)) {
            return Err(Error::invalid(
                field("access"),
                format!("{raw:?}: unknown access {bad:?}"),
            ));
        }
        let access = "rwm".chars().filter(|c| raw.contains(*c)).collect();
        Ok(Rule {
            allow: d.allow(),
            kind,
            major,
            minor,
            access,
        })
    }

    /// The kernel's v1 syntax: "c 1:3 rwm", "a *:* rwm"; a bare "a" for "everything".
    pub fn v1_line(&self) -> String {
        if self.kind == 'a' && self.major.is_none() && self.minor.is_none() && self.access == "rwm"
        {
            return "a".to_string();
        }
        let n = |v: Option<u32>| v.map_or_else(|| "*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            n(self.major),
            n(self.minor),
            self.access
        )
    }
}

/// Validate every rule up front so a bad rule fails before anything is written.
pub(crate) fn rules(devs: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    devs.iter()
        .enumerate()
        .map(|(i, d)| Rule::from_spec(i, d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> Result<Rule> {
        Rule::from_spec(0, &serde_json::from_str(json).unwrap())
    }

    #[test]
    fn v1_lines() {
        let r = rule(r#"{"allow":false,"access":"rwm"}"#).unwrap();
        assert_eq!(r.v1_line(), "a");
        let r = rule(r#"{"allow":true,"type":"c","major":1,"minor":3,"access":"wr"}"#).unwrap();
        assert_eq!(r.v1_line(), "c 1:3 rw");
        let r = rule(r#"{"allow":true,"type":"b","major":8,"access":"m"}"#).unwrap();
        assert_eq!(r.v1_line(), "b 8:* m");
    }

    #[test]
    fn bad_access_names_field() {
        let e = rule(r#"{"allow":true,"access":"rx"}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.devices[0].access"),
            "{e}"
        );
    }
}
