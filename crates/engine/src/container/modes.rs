//! The run config's kinds and modes as types, parsed once at create: a mount's kind, where
//! the pid, ipc and uts namespaces come from, the restart policy, the pod a container belongs
//! to. Namespace modes are stored as the strings the flags took (`"host"`, `"container:NAME"`,
//! `"pod:ID"`), which `inspect` shows as they are, so they serialize as those strings.

use std::fmt;

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

/// Where a pid, ipc or uts namespace comes from (`--pid`, `--ipc`, `--uts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NsMode {
    /// Not asked for: the container's own.
    #[default]
    Default,
    /// `private`: the container's own, asked for by name (inspect shows the word).
    Private,
    /// `host`: the host's (the namespace is left out of the spec).
    Host,
    /// `container:ID`: another container's (its id, resolved at create).
    Container(String),
    /// `pod:ID`: the pod's shared one.
    Pod(String),
}

impl NsMode {
    /// The container gets a namespace of its own.
    pub fn is_own(&self) -> bool {
        matches!(self, NsMode::Default | NsMode::Private)
    }

    pub fn is_host(&self) -> bool {
        *self == NsMode::Host
    }

    /// The container whose namespace this joins.
    pub fn container(&self) -> Option<&str> {
        match self {
            NsMode::Container(id) => Some(id),
            _ => None,
        }
    }

    /// The pod whose namespace this joins.
    pub fn pod(&self) -> Option<&str> {
        match self {
            NsMode::Pod(id) => Some(id),
            _ => None,
        }
    }
}

impl TryFrom<String> for NsMode {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "" => NsMode::Default,
            "private" => NsMode::Private,
            "host" => NsMode::Host,
            _ => match joined(&s) {
                Some(Joined::Container(id)) => NsMode::Container(id),
                Some(Joined::Pod(id)) => NsMode::Pod(id),
                None => return Err(format!("namespace mode {s:?}")),
            },
        })
    }
}

impl fmt::Display for NsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NsMode::Default => Ok(()),
            NsMode::Private => f.write_str("private"),
            NsMode::Host => f.write_str("host"),
            NsMode::Container(id) => write!(f, "container:{id}"),
            NsMode::Pod(id) => write!(f, "pod:{id}"),
        }
    }
}

impl From<NsMode> for String {
    fn from(m: NsMode) -> String {
        m.to_string()
    }
}

enum Joined {
    Container(String),
    Pod(String),
}

fn joined(s: &str) -> Option<Joined> {
    if let Some(id) = s.strip_prefix("container:").filter(|id| !id.is_empty()) {
        return Some(Joined::Container(id.into()));
    }
    s.strip_prefix("pod:")
        .filter(|id| !id.is_empty())
        .map(|id| Joined::Pod(id.into()))
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
    fn namespace_modes_read_and_write_the_flag_strings() {
        for s in ["", "private", "host", "container:abc", "pod:p1"] {
            let m: NsMode = serde_json::from_value(s.into()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), s);
        }
        assert_eq!(
            serde_json::from_value::<NsMode>("pod:x".into()).unwrap(),
            NsMode::Pod("x".into())
        );
        assert!(NsMode::try_from("shareable".to_string()).is_err());
        assert!(NsMode::try_from("container:".to_string()).is_err());
    }

    #[test]
    fn restart_reads_the_old_empty_name_as_no() {
        let r: Restart = serde_json::from_value("".into()).unwrap();
        assert_eq!(r, Restart::No);
        let r: Restart = serde_json::from_value("on-failure".into()).unwrap();
        assert_eq!(r.as_str(), "on-failure");
        assert!(serde_json::from_value::<Restart>("sometimes".into()).is_err());
    }
}
