//! systemd's names for a container's cgroup: `linux.cgroupsPath` as "slice:prefix:name", the
//! unit it becomes, and where systemd puts that unit in the hierarchy.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// runc's default slice for a container of root (for a cgroupsPath with an empty slice).
const DEFAULT_SLICE: &str = "system.slice";

/// A container's cgroup under the systemd driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The slice the unit goes in ("system.slice", "kubepods-besteffort-pod1.slice").
    pub slice: String,
    /// The unit's name: "prefix-name.scope", or "name" itself when it ends in ".slice".
    pub name: String,
}

impl Unit {
    /// Parses "slice:prefix:name" as runc does: the three parts are required (each may be
    /// empty but the name), an empty slice means system.slice, a name ending in ".slice" asks
    /// for a slice unit rather than a scope.
    pub fn parse(cgroups_path: &str) -> Result<Unit> {
        let bad = |reason| Error::BadPath {
            path: cgroups_path.to_string(),
            reason,
        };
        let parts: Vec<&str> = cgroups_path.split(':').collect();
        let [slice, prefix, name] = parts[..] else {
            return Err(bad(
                "must be \"slice:prefix:name\" for the systemd cgroup driver",
            ));
        };
        if name.is_empty() {
            return Err(bad("the name (after the second ':') must not be empty"));
        }
        if [slice, prefix, name].iter().any(|p| p.contains('/')) {
            return Err(bad("systemd unit names must not contain '/'"));
        }
        let slice = if slice.is_empty() {
            DEFAULT_SLICE
        } else {
            slice
        };
        if !slice.ends_with(".slice") {
            return Err(bad(
                "the slice (before the first ':') must end in \".slice\"",
            ));
        }
        let name = if name.ends_with(".slice") {
            name.to_string()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        let unit = Unit {
            slice: slice.to_string(),
            name,
        };
        unit.slice_path().ok_or_else(|| {
            bad("the slice is not a valid systemd slice name (\"a-b.slice\": no empty part)")
        })?;
        Ok(unit)
    }

    /// The unit's cgroup relative to the hierarchy root: the slice expanded as systemd nests
    /// it, then the unit ("a-b.slice", "x.scope" -> "a.slice/a-b.slice/x.scope").
    pub fn cgroup_path(&self) -> PathBuf {
        let mut p = self.slice_path().expect("checked by parse");
        p.push(&self.name);
        p
    }

    fn slice_path(&self) -> Option<PathBuf> {
        expand_slice(&self.slice)
    }

    /// Whether the unit is a scope (the common case) rather than a slice.
    pub fn is_scope(&self) -> bool {
        self.name.ends_with(".scope")
    }
}

/// systemd's nesting of slices: each '-' opens a level, "-.slice" is the root.
/// "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice". Empty parts ("a--b", "-a", "a-") are
/// not valid slice names.
pub fn expand_slice(slice: &str) -> Option<PathBuf> {
    let base = slice.strip_suffix(".slice")?;
    if base == "-" {
        return Some(PathBuf::new());
    }
    if base.is_empty() || base.contains('/') {
        return None;
    }
    let mut out = PathBuf::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return None;
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        out.push(format!("{prefix}.slice"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn slices_nest_as_systemd_names_them() {
        assert_eq!(
            expand_slice("system.slice").unwrap(),
            Path::new("system.slice")
        );
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            Path::new("a.slice/a-b.slice/a-b-c.slice")
        );
        assert_eq!(expand_slice("-.slice").unwrap(), Path::new(""));
        for bad in [
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            ".slice",
            "a.scope",
            "a/b.slice",
        ] {
            assert!(expand_slice(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cgroups_path_becomes_a_scope_in_its_slice() {
        let u = Unit::parse("kubepods-besteffort.slice:cri-containerd:abc").unwrap();
        assert_eq!(u.name, "cri-containerd-abc.scope");
        assert!(u.is_scope());
        assert_eq!(
            u.cgroup_path(),
            Path::new("kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope")
        );
        let u = Unit::parse(":hullrt:x").unwrap();
        assert_eq!(u.cgroup_path(), Path::new("system.slice/hullrt-x.scope"));
        let u = Unit::parse("system.slice::x").unwrap();
        assert_eq!(u.name, "x.scope");
        let u = Unit::parse("machine.slice:ignored:pod-1.slice").unwrap();
        assert_eq!(u.name, "pod-1.slice");
        assert!(!u.is_scope());
    }

    #[test]
    fn malformed_paths_name_the_field() {
        for bad in [
            "/a/b",
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "bad-.slice:p:n",
            "x:p:n",
        ] {
            let e = Unit::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("linux.cgroupsPath"), "{bad}: {e}");
        }
    }
}
