//! The firewall's applied state, changed under an exclusive flock so concurrent `hull run`s
//! each see the others' mappings.
//!
//! On disk, beside `<path>` (the networks, one JSON file):
//! - `<path>.ports/<owner>.json`: one owner's published ports, a file of its own, so that
//!   publishing or unpublishing a container's ports reads and writes its own file and not
//!   every other container's;
//! - `<path>.ports/claims/<proto>-<port>/<owner>`: which owners publish a host port, so a
//!   clash is found by looking at the few owners of that port alone.
//!
//! Each file is replaced by a rename, so a crash leaves the old or the new one. A claim
//! without its owner's file (a crash between the two) is only a hint: a clash is decided
//! from the owners' files, and stale claims go when next seen.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::{FirewallError, NetworkRules, PortMapping, Proto};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallState {
    /// By network name.
    pub networks: BTreeMap<String, NetworkRules>,
    /// By owner (container id).
    pub ports: BTreeMap<String, Vec<PortMapping>>,
}

/// The networks file. `ports` is read from a state written before each owner had a file of
/// its own, and moved out to those files.
#[derive(Default, Serialize, Deserialize)]
struct NetworksFile {
    networks: BTreeMap<String, NetworkRules>,
    /// Counts the rewrites of the whole table (Locked::generation).
    #[serde(default)]
    generation: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    ports: BTreeMap<String, Vec<PortMapping>>,
}

/// The state's files and their lock (`<path>.lock`).
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

/// The state, locked until dropped: the networks read, each owner's ports read on demand.
pub struct Locked {
    _lock: Flock<File>,
    path: PathBuf,
    pub networks: BTreeMap<String, NetworkRules>,
    /// How many times the whole table was written from the state: a change of ports made
    /// without the lock held checks it did not change meanwhile (nft.rs).
    pub generation: u64,
}

fn err(path: &Path, msg: impl std::fmt::Display) -> FirewallError {
    FirewallError::State {
        path: path.display().to_string(),
        msg: msg.to_string(),
    }
}

fn ports_dir(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".ports");
    PathBuf::from(s)
}

/// An owner names a file: a container or pod id, never a path.
fn owner_file(path: &Path, owner: &str) -> Result<PathBuf, FirewallError> {
    if owner.is_empty()
        || owner.starts_with('.')
        || owner.contains('/')
        || owner.contains('\0')
        || owner == "claims"
    {
        return Err(err(path, format!("owner {owner:?} cannot name a file")));
    }
    Ok(ports_dir(path).join(format!("{owner}.json")))
}

fn claim_dir(path: &Path, proto: Proto, port: u16) -> PathBuf {
    ports_dir(path)
        .join("claims")
        .join(format!("{proto}-{port}"))
}

/// The entries of `dir` by name (UTF-8 names only), none when it does not exist.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, FirewallError> {
    let list = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(dir, e)),
    };
    let mut out = Vec::new();
    for e in list {
        let e = e.map_err(|e| err(dir, e))?;
        if let Some(name) = e.file_name().to_str() {
            out.push((name.to_string(), e.path()));
        }
    }
    Ok(out)
}

/// Reads an owner's ports: None when it has no file.
fn read_ports(file: &Path) -> Result<Option<Vec<PortMapping>>, FirewallError> {
    match std::fs::read(file) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| err(file, e)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(file, e)),
    }
}

/// Writes `body` to `path` through a temporary file renamed over it.
fn replace(path: &Path, body: &[u8]) -> Result<(), FirewallError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).map_err(|e| err(&tmp, e))?;
    f.write_all(body).map_err(|e| err(&tmp, e))?;
    f.sync_all().map_err(|e| err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Locks and reads the networks (none when there is no file yet). A state of the older
    /// shape, its ports in the same file, is moved to the owners' files first.
    pub fn lock(&self) -> Result<Locked, FirewallError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        }
        let lockpath = self.path.with_extension("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lockpath)
            .map_err(|e| err(&lockpath, e))?;
        let lock = Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| err(&lockpath, e))?;
        let file: NetworksFile = match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| err(&self.path, e))?,
            Err(e) if e.kind() == ErrorKind::NotFound => NetworksFile::default(),
            Err(e) => return Err(err(&self.path, e)),
        };
        let locked = Locked {
            _lock: lock,
            path: self.path.clone(),
            networks: file.networks,
            generation: file.generation,
        };
        if !file.ports.is_empty() {
            for (owner, ports) in &file.ports {
                locked.set_ports(owner, ports)?;
            }
            locked.save_networks()?;
        }
        Ok(locked)
    }

    /// One owner's ports, read without the lock (each file is replaced whole): `inspect`
    /// and `port` of one container read its own file alone.
    pub fn ports_of(&self, owner: &str) -> Result<Vec<PortMapping>, FirewallError> {
        ports_of(&self.path, owner)
    }
}

/// One owner's ports (empty when it has none).
fn ports_of(path: &Path, owner: &str) -> Result<Vec<PortMapping>, FirewallError> {
    Ok(read_ports(&owner_file(path, owner)?)?.unwrap_or_default())
}

impl Locked {
    /// One owner's ports (empty when it has none).
    pub fn ports_of(&self, owner: &str) -> Result<Vec<PortMapping>, FirewallError> {
        ports_of(&self.path, owner)
    }

    /// Every owner's ports.
    pub fn all_ports(&self) -> Result<BTreeMap<String, Vec<PortMapping>>, FirewallError> {
        let mut all = BTreeMap::new();
        for (name, path) in entries(&ports_dir(&self.path))? {
            let Some(owner) = name.strip_suffix(".json") else {
                continue;
            };
            if let Some(p) = read_ports(&path)? {
                all.insert(owner.to_string(), p);
            }
        }
        Ok(all)
    }

    /// The whole state: the networks and every owner's ports.
    pub fn state(&self) -> Result<FirewallState, FirewallError> {
        Ok(FirewallState {
            networks: self.networks.clone(),
            ports: self.all_ports()?,
        })
    }

    /// The owners that claim host port `port`/`proto` (other than `except`), with their
    /// ports; a stale claim (its owner no longer publishes that port) is removed.
    pub fn claimants(
        &self,
        proto: Proto,
        port: u16,
        except: &str,
    ) -> Result<Vec<(String, Vec<PortMapping>)>, FirewallError> {
        let mut found = Vec::new();
        for (owner, path) in entries(&claim_dir(&self.path, proto, port))? {
            if owner == except {
                continue;
            }
            let ports = self.ports_of(&owner)?;
            if ports
                .iter()
                .any(|p| p.proto == proto && p.host_port == port)
            {
                found.push((owner, ports));
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(found)
    }

    /// Makes `ports` the owner's (none: its file and claims go). Claims are written before
    /// the owner's file and removed after it, so a claim never lacks for a published port.
    pub fn set_ports(&self, owner: &str, ports: &[PortMapping]) -> Result<(), FirewallError> {
        let file = owner_file(&self.path, owner)?;
        let before = read_ports(&file)?.unwrap_or_default();
        let claim = |p: &PortMapping| claim_dir(&self.path, p.proto, p.host_port);
        for p in ports {
            let dir = claim(p);
            std::fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
            let c = dir.join(owner);
            File::create(&c).map_err(|e| err(&c, e))?;
        }
        if ports.is_empty() {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(err(&file, e)),
            }
        } else {
            let body = serde_json::to_vec(ports).map_err(|e| err(&file, e))?;
            replace(&file, &body)?;
        }
        for p in before.iter().filter(|b| {
            !ports
                .iter()
                .any(|p| p.proto == b.proto && p.host_port == b.host_port)
        }) {
            let dir = claim(p);
            let _ = std::fs::remove_file(dir.join(owner));
            // Not empty: another owner's claim (of another address) stays.
            let _ = std::fs::remove_dir(&dir);
        }
        Ok(())
    }

    /// Counts a write of the whole table and saves the networks with the count: a change of
    /// ports made without the lock sees the generation move (nft.rs).
    pub fn count_rewrite(&mut self) -> Result<(), FirewallError> {
        self.generation += 1;
        self.save_networks()
    }

    /// Writes the networks: a temporary file renamed over the old one, so a crash leaves
    /// the old or the new state, never a torn one.
    pub fn save_networks(&self) -> Result<(), FirewallError> {
        let file = NetworksFile {
            networks: self.networks.clone(),
            generation: self.generation,
            ports: BTreeMap::new(),
        };
        let body = serde_json::to_vec_pretty(&file).map_err(|e| err(&self.path, e))?;
        replace(&self.path, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::Subnet;
    use std::net::{IpAddr, Ipv4Addr};

    fn net() -> NetworkRules {
        NetworkRules {
            name: "n".into(),
            bridge: "br0".into(),
            subnet: "10.1.0.0/24".parse::<Subnet>().unwrap(),
            internal: false,
            subnet6: None,
        }
    }

    fn port(ip: Option<[u8; 4]>, host_port: u16) -> PortMapping {
        PortMapping {
            host_ip: ip.map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            host_port,
            container_port: 80,
            proto: Proto::Tcp,
            container_ip: Ipv4Addr::new(10, 1, 0, 2),
            network: "n".into(),
            container_ip6: None,
        }
    }

    #[test]
    fn an_older_state_with_its_ports_inline_is_moved_to_the_owners_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firewall.json");
        let old = serde_json::json!({
            "networks": {"n": net()},
            "ports": {"c1": [port(None, 8080)], "c2": [port(Some([127, 0, 0, 1]), 9090)]},
        });
        std::fs::write(&path, old.to_string()).unwrap();
        let sf = StateFile::new(&path);
        let l = sf.lock().unwrap();
        let st = l.state().unwrap();
        assert_eq!(st.networks.len(), 1);
        assert_eq!(st.ports["c1"], vec![port(None, 8080)]);
        assert_eq!(st.ports["c2"], vec![port(Some([127, 0, 0, 1]), 9090)]);
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(on_disk.get("ports").is_none(), "{on_disk}");
        assert_eq!(l.claimants(Proto::Tcp, 8080, "x").unwrap().len(), 1);
        drop(l);
        assert_eq!(sf.ports_of("c2").unwrap().len(), 1);
    }

    #[test]
    fn claims_follow_the_owners_ports_and_a_stale_claim_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firewall.json");
        let l = StateFile::new(&path).lock().unwrap();
        l.set_ports("a", &[port(Some([127, 0, 0, 1]), 80), port(None, 81)])
            .unwrap();
        l.set_ports("b", &[port(Some([127, 0, 0, 2]), 80)]).unwrap();
        let owners = |p| -> Vec<String> {
            let mut v: Vec<String> = l
                .claimants(Proto::Tcp, p, "")
                .unwrap()
                .into_iter()
                .map(|(o, _)| o)
                .collect();
            v.sort();
            v
        };
        assert_eq!(owners(80), ["a", "b"]);
        assert_eq!(owners(81), ["a"]);
        assert!(l.claimants(Proto::Udp, 80, "").unwrap().is_empty());
        assert_eq!(l.claimants(Proto::Tcp, 80, "a").unwrap().len(), 1);
        // a gives up 81 only: its claim of 81 goes, the directory with it.
        l.set_ports("a", &[port(Some([127, 0, 0, 1]), 80)]).unwrap();
        assert!(owners(81).is_empty());
        let claims = ports_dir(&path).join("claims");
        assert!(!claims.join("tcp-81").exists());
        // A claim left by a crash before its owner's file was written is not a clash.
        std::fs::create_dir_all(claims.join("tcp-82")).unwrap();
        File::create(claims.join("tcp-82").join("ghost")).unwrap();
        assert!(owners(82).is_empty());
        assert!(!claims.join("tcp-82/ghost").exists());
        l.set_ports("a", &[]).unwrap();
        l.set_ports("b", &[]).unwrap();
        assert!(l.all_ports().unwrap().is_empty());
        assert!(!claims.join("tcp-80").exists());
    }

    #[test]
    fn an_owner_is_never_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let l = StateFile::new(dir.path().join("firewall.json"))
            .lock()
            .unwrap();
        for bad in ["", "../x", "a/b", ".hidden", "claims"] {
            let e = l.set_ports(bad, &[port(None, 80)]).unwrap_err();
            assert!(e.to_string().contains("cannot name a file"), "{bad}: {e}");
        }
    }
}
