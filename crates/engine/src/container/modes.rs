//! The run config's kinds as types, parsed once at create: a mount's kind, the restart
//! policy, the pod a container belongs to.

use serde::{Deserialize, Serialize};

/// `-v`/`--mount type=`/`--tmpfs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    #[default]
    Bind,
    Volume,
    Tmpfs,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }

    pub fn parse(s: &str) -> Option<MountKind> {
        match s {
            "bind" => Some(MountKind::Bind),
            "volume" => Some(MountKind::Volume),
            "tmpfs" => Some(MountKind::Tmpfs),
            _ => None,
        }
    }
}

/// `--restart`'s policy name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Restart {
    /// `no`; stored as "" by hull before the typed config.
    #[default]
    #[serde(rename = "no", alias = "")]
    No,
    #[serde(rename = "always")]
    Always,
    #[serde(rename = "on-failure")]
    OnFailure,
    #[serde(rename = "unless-stopped")]
    UnlessStopped,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::UnlessStopped => "unless-stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Restart> {
        match s {
            "no" => Some(Restart::No),
            "always" => Some(Restart::Always),
            "on-failure" => Some(Restart::OnFailure),
            "unless-stopped" => Some(Restart::UnlessStopped),
            _ => None,
        }
    }
}

/// The pod a container was created into (`--pod`): the one home of that fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodMember {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_reads_the_old_empty_name_as_no() {
        let r: Restart = serde_json::from_value("".into()).unwrap();
        assert_eq!(r, Restart::No);
        let r: Restart = serde_json::from_value("on-failure".into()).unwrap();
        assert_eq!(r.as_str(), "on-failure");
        assert!(serde_json::from_value::<Restart>("sometimes".into()).is_err());
    }
}
