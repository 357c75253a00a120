//! The run config's kinds and modes as types, parsed once at create: a mount's kind, where
//! the pid, ipc, uts, network and user namespaces come from, the user namespace's id maps,
//! the restart policy, the pod a container belongs to. Modes and maps are stored as the
//! strings the flags took (`"host"`, `"container:NAME"`, `"pod:ID"`, `"0:100000:65536"`),
//! which `inspect` shows as they are (and the state's SQL reads: `network_mode LIKE
//! 'container:%'`), so they serialize as those strings and a row stored before they were
//! types reads back unchanged.

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

/// A bind's mount propagation (`-v SRC:DST:rshared`, `--mount bind-propagation=`,
/// `BindOptions.Propagation`); a mount without one (`Option::None`, stored as `null`) is
/// `rprivate`, as docker's. Stored as the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    Private,
    Rprivate,
    Shared,
    Rshared,
    Slave,
    Rslave,
}

impl Propagation {
    pub const ALL: [Propagation; 6] = [
        Propagation::Private,
        Propagation::Rprivate,
        Propagation::Shared,
        Propagation::Rshared,
        Propagation::Slave,
        Propagation::Rslave,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::Rprivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::Rshared => "rshared",
            Propagation::Slave => "slave",
            Propagation::Rslave => "rslave",
        }
    }

    pub fn parse(s: &str) -> Option<Propagation> {
        Propagation::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The mount receives the host's mounts (or sends its own): the container's root must
    /// not be private for that, so the spec makes it rslave.
    pub fn needs_shared_root(self) -> bool {
        !matches!(self, Propagation::Private | Propagation::Rprivate)
    }

    /// The stored field: `null` (or the `""` an API client may have sent) is unset.
    pub(crate) fn deserialize_opt<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Propagation>, D::Error> {
        match Option::<String>::deserialize(d)?.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => Propagation::parse(s).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!("unknown mount propagation {s:?}"))
            }),
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// `shareable` (ipc only): the container's own, which others may join with
    /// `container:NAME` (its /dev/shm lives on the host, where they can bind it).
    Shareable,
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
        matches!(self, NsMode::Default | NsMode::Private | NsMode::Shareable)
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
            "shareable" => NsMode::Shareable,
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
            NsMode::Shareable => f.write_str("shareable"),
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

/// `--network`: where the container's network namespace comes from. Stored as the flag's
/// string, the default network as "".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum NetworkMode {
    /// Not asked for: its own namespace on the default network.
    #[default]
    Default,
    /// Its own namespace on this network (the first of `--network`'s; `net` has them all).
    Network(String),
    /// `none`: its own namespace with the loopback alone.
    None,
    /// `host`: the host's.
    Host,
    /// `container:ID`: another container's (its id, resolved at create).
    Container(String),
    /// `pod:ID`: the pod's.
    Pod(String),
}

impl NetworkMode {
    /// The mode of a `--network` value: any word but the ones below names a network.
    pub fn parse(s: &str) -> NetworkMode {
        match s {
            "" => NetworkMode::Default,
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            _ => match joined(s) {
                Some(Joined::Container(id)) => NetworkMode::Container(id),
                Some(Joined::Pod(id)) => NetworkMode::Pod(id),
                None => NetworkMode::Network(s.into()),
            },
        }
    }

    pub fn is_host(&self) -> bool {
        *self == NetworkMode::Host
    }

    pub fn is_none(&self) -> bool {
        *self == NetworkMode::None
    }

    /// It joins another's namespace (a container's or a pod's).
    pub fn joins(&self) -> bool {
        matches!(self, NetworkMode::Container(_) | NetworkMode::Pod(_))
    }

    /// A namespace of its own on bridge networks (not none, host or another's).
    pub fn uses_bridge(&self) -> bool {
        matches!(self, NetworkMode::Default | NetworkMode::Network(_))
    }

    /// The network named by `--network` (None for the default and the other modes).
    pub fn network(&self) -> Option<&str> {
        match self {
            NetworkMode::Network(n) => Some(n),
            _ => None,
        }
    }

    /// Where the namespace comes from, as the other namespaces say it.
    pub fn ns_mode(&self) -> NsMode {
        match self {
            NetworkMode::Host => NsMode::Host,
            NetworkMode::Container(id) => NsMode::Container(id.clone()),
            NetworkMode::Pod(id) => NsMode::Pod(id.clone()),
            _ => NsMode::Default,
        }
    }
}

impl From<String> for NetworkMode {
    fn from(s: String) -> NetworkMode {
        NetworkMode::parse(&s)
    }
}

impl From<&str> for NetworkMode {
    fn from(s: &str) -> NetworkMode {
        NetworkMode::parse(s)
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkMode::Default => Ok(()),
            NetworkMode::Network(n) => f.write_str(n),
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::Container(id) => write!(f, "container:{id}"),
            NetworkMode::Pod(id) => write!(f, "pod:{id}"),
        }
    }
}

impl From<NetworkMode> for String {
    fn from(m: NetworkMode) -> String {
        m.to_string()
    }
}

/// `--userns`: whether the container gets a user namespace, and whose. Stored as the flag's
/// string ("" when not given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum UsernsMode {
    /// Not asked for: one of its own when it has id maps.
    #[default]
    Default,
    /// `private`: as Default, asked for by name.
    Private,
    /// `host`: the host's, whatever the maps say.
    Host,
    /// `pod:ID`: a remapped pod's (set by `--pod`, not a flag value).
    Pod(String),
}

impl UsernsMode {
    /// A `--userns` value: host or private (with --uidmap/--gidmap); podman's keep-id and
    /// auto are not supported.
    pub fn parse(s: &str) -> Result<UsernsMode, String> {
        match s {
            "" => Ok(UsernsMode::Default),
            "private" => Ok(UsernsMode::Private),
            "host" => Ok(UsernsMode::Host),
            _ => Err("expected host or private (with --uidmap/--gidmap)".into()),
        }
    }

    pub fn is_host(&self) -> bool {
        *self == UsernsMode::Host
    }

    /// The pod whose user namespace this joins.
    pub fn pod(&self) -> Option<&str> {
        match self {
            UsernsMode::Pod(id) => Some(id),
            _ => None,
        }
    }
}

impl TryFrom<String> for UsernsMode {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.strip_prefix("pod:").filter(|id| !id.is_empty()) {
            Some(id) => Ok(UsernsMode::Pod(id.into())),
            None => UsernsMode::parse(&s).map_err(|why| format!("--userns {s:?}: {why}")),
        }
    }
}

impl fmt::Display for UsernsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsernsMode::Default => Ok(()),
            UsernsMode::Private => f.write_str("private"),
            UsernsMode::Host => f.write_str("host"),
            UsernsMode::Pod(id) => write!(f, "pod:{id}"),
        }
    }
}

impl From<UsernsMode> for String {
    fn from(m: UsernsMode) -> String {
        m.to_string()
    }
}

/// One CONTAINER:HOST:SIZE range of a user namespace's map (`--uidmap`, `--gidmap`). Stored
/// as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

impl IdMap {
    /// `CONTAINER_ID:HOST_ID:SIZE`, the size at least 1.
    pub fn parse(s: &str) -> Result<IdMap, String> {
        let n: Vec<Option<u32>> = s.split(':').map(|x| x.parse().ok()).collect();
        match n.as_slice() {
            [Some(container), Some(host), Some(size)] if *size > 0 => Ok(IdMap {
                container: *container,
                host: *host,
                size: *size,
            }),
            _ => Err("expected CONTAINER_ID:HOST_ID:SIZE".into()),
        }
    }

    /// A flag's maps (`--uidmap A --uidmap B`); the error names the flag and the map.
    pub fn parse_flag(flag: &str, list: &[String]) -> Result<Vec<IdMap>, String> {
        list.iter()
            .map(|s| IdMap::parse(s).map_err(|why| format!("invalid {flag} {s:?}: {why}")))
            .collect()
    }

    /// The host id that `id` inside is, if this range maps it.
    pub fn to_host(&self, id: u32) -> Option<u32> {
        let off = id.checked_sub(self.container)?;
        (off < self.size).then(|| self.host + off)
    }

    /// The OCI spec's form of the maps (a container's config.json, the pod infra's).
    pub fn to_oci(maps: &[IdMap]) -> Result<Vec<oci_spec::runtime::LinuxIdMapping>, String> {
        maps.iter()
            .map(|m| {
                oci_spec::runtime::LinuxIdMappingBuilder::default()
                    .container_id(m.container)
                    .host_id(m.host)
                    .size(m.size)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect()
    }
}

impl TryFrom<String> for IdMap {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        IdMap::parse(&s).map_err(|why| format!("id map {s:?}: {why}"))
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.container, self.host, self.size)
    }
}

impl From<IdMap> for String {
    fn from(m: IdMap) -> String {
        m.to_string()
    }
}

/// A user namespace's two maps, one list standing for both when the other is empty (as
/// podman reads --uidmap alone); None when both are empty.
pub fn both_maps(uids: &[IdMap], gids: &[IdMap]) -> Option<(Vec<IdMap>, Vec<IdMap>)> {
    match (uids.is_empty(), gids.is_empty()) {
        (true, true) => None,
        (false, true) => Some((uids.to_vec(), uids.to_vec())),
        (true, false) => Some((gids.to_vec(), gids.to_vec())),
        (false, false) => Some((uids.to_vec(), gids.to_vec())),
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
    fn propagation_is_stored_as_the_word() {
        for p in Propagation::ALL {
            let v = serde_json::to_value(p).unwrap();
            assert_eq!(v, p.as_str());
            assert_eq!(Propagation::parse(p.as_str()), Some(p));
        }
        assert_eq!(Propagation::parse("rbind"), None);
        // A mount stored before the enum, with and without one, and an API client's "".
        let m: crate::container::config::MountSpec = serde_json::from_value(serde_json::json!(
            {"kind": "bind", "source": "/a", "target": "/b", "read_only": false,
             "propagation": "rshared", "options": []}
        ))
        .unwrap();
        assert_eq!(m.propagation, Some(Propagation::Rshared));
        assert_eq!(serde_json::to_value(&m).unwrap()["propagation"], "rshared");
        for unset in [serde_json::Value::Null, "".into()] {
            let m: crate::container::config::MountSpec = serde_json::from_value(serde_json::json!(
                {"kind": "bind", "source": "/a", "target": "/b", "read_only": false,
                 "propagation": unset, "options": []}
            ))
            .unwrap();
            assert_eq!(m.propagation, None);
            assert_eq!(
                serde_json::to_value(&m).unwrap()["propagation"],
                serde_json::Value::Null
            );
        }
        assert!(Propagation::Rslave.needs_shared_root());
        assert!(!Propagation::Rprivate.needs_shared_root());
    }

    #[test]
    fn namespace_modes_read_and_write_the_flag_strings() {
        for s in [
            "",
            "private",
            "shareable",
            "host",
            "container:abc",
            "pod:p1",
        ] {
            let m: NsMode = serde_json::from_value(s.into()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), s);
        }
        assert_eq!(
            serde_json::from_value::<NsMode>("pod:x".into()).unwrap(),
            NsMode::Pod("x".into())
        );
        assert!(NsMode::try_from("sharable".to_string()).is_err());
        assert!(NsMode::try_from("container:".to_string()).is_err());
    }

    #[test]
    fn network_modes_read_and_write_the_stored_strings() {
        let cases = [
            ("", NetworkMode::Default),
            ("none", NetworkMode::None),
            ("host", NetworkMode::Host),
            ("appnet", NetworkMode::Network("appnet".into())),
            ("container:abc", NetworkMode::Container("abc".into())),
            ("pod:p1", NetworkMode::Pod("p1".into())),
        ];
        for (s, m) in cases {
            let read: NetworkMode = serde_json::from_value(s.into()).unwrap();
            assert_eq!(read, m, "{s:?}");
            assert_eq!(serde_json::to_value(&m).unwrap(), s);
        }
        assert!(NetworkMode::parse("appnet").uses_bridge());
        assert!(NetworkMode::Default.uses_bridge());
        assert!(!NetworkMode::parse("none").uses_bridge());
        assert!(NetworkMode::parse("pod:p1").joins());
        assert_eq!(NetworkMode::parse("host").ns_mode(), NsMode::Host);
        assert_eq!(NetworkMode::parse("none").ns_mode(), NsMode::Default);
    }

    #[test]
    fn userns_modes_read_and_write_the_stored_strings() {
        for (s, m) in [
            ("", UsernsMode::Default),
            ("private", UsernsMode::Private),
            ("host", UsernsMode::Host),
            ("pod:p1", UsernsMode::Pod("p1".into())),
        ] {
            let read: UsernsMode = serde_json::from_value(s.into()).unwrap();
            assert_eq!(read, m, "{s:?}");
            assert_eq!(serde_json::to_value(&m).unwrap(), s);
        }
        // A flag value cannot name a pod; podman's other modes are refused.
        assert!(UsernsMode::parse("pod:p1").is_err());
        let e = UsernsMode::parse("keep-id").unwrap_err();
        assert!(e.contains("expected host or private"), "{e}");
        assert!(serde_json::from_value::<UsernsMode>("auto".into()).is_err());
    }

    #[test]
    fn id_maps_parse_once_and_store_as_the_flag_string() {
        let m = IdMap::parse("0:100000:65536").unwrap();
        assert_eq!((m.container, m.host, m.size), (0, 100_000, 65_536));
        assert_eq!(serde_json::to_value(m).unwrap(), "0:100000:65536");
        // A run config stored before the maps were typed.
        let old: Vec<IdMap> =
            serde_json::from_value(serde_json::json!(["0:1000:1", "1:100000:999"])).unwrap();
        assert_eq!(old[1].to_host(5), Some(100_004));
        assert_eq!(old[1].to_host(1000), None);
        for bad in ["0:1000", "0:1000:0", "a:1:1", "0:1:2:3", ""] {
            assert!(IdMap::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            both_maps(&old[..1], &[]),
            Some((old[..1].to_vec(), old[..1].to_vec()))
        );
        assert_eq!(both_maps(&[], &[]), None);
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
