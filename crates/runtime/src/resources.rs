//! What a live container's cgroup is asked to do after create: `update` (new limits), `pause`
//! and `resume` (the freezer), `ps` (who is in it). Each checks the container's status first,
//! with runc's rules: update and pause need a live container, resume a paused one.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::state::{Saved, Status};

fn cg_err(e: hull_cgroups::Error) -> Error {
    Error::Cgroup(e.to_string())
}

fn wrong_state(id: &str, reason: String) -> Error {
    Error::State {
        id: id.to_string(),
        reason,
    }
}

/// Loads a container and its status, refusing a stopped one (nothing left to act on).
fn live(root: &Path, id: &str, what: &str) -> Result<(Saved, Status)> {
    let saved = Saved::load(root, id)?;
    let st = saved.status(root);
    if st == Status::Stopped {
        return Err(wrong_state(
            id,
            format!("cannot {what}: container not running"),
        ));
    }
    Ok((saved, st))
}

/// Applies `res` to a created, running or paused container: only the fields present change.
pub fn update(root: &Path, id: &str, res: &LinuxResources) -> Result<()> {
    let (saved, _) = live(root, id, "update")?;
    crate::cgroup::for_saved(&saved)?.apply(res).map_err(cg_err)
}

/// Freezes every process of a created or running container.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let (saved, st) = live(root, id, "pause")?;
    if st == Status::Paused {
        return Err(wrong_state(
            id,
            // runc's words for it.
            "cannot pause: container not running (it is paused)".into(),
        ));
    }
    crate::cgroup::for_saved(&saved)?.freeze().map_err(cg_err)
}

/// Thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let saved = Saved::load(root, id)?;
    let st = saved.status(root);
    if st != Status::Paused {
        return Err(wrong_state(
            id,
            format!("cannot resume: container not paused (it is {st})"),
        ));
    }
    crate::cgroup::for_saved(&saved)?.thaw().map_err(cg_err)
}

/// Host pids of every process in the container's cgroup, sorted; empty once it is gone.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let saved = Saved::load(root, id)?;
    crate::cgroup::for_saved(&saved)?.pids().map_err(cg_err)
}

/// A LinuxResources JSON document (`update --resources`); an error names the bad field.
pub fn parse(source: &str, bytes: &[u8]) -> Result<LinuxResources> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "linux.resources".to_string()
        } else {
            format!("linux.resources.{path}")
        };
        Error::Other(format!("{source}: {field}: {}", e.into_inner()))
    })
}

/// A size as runc's update flags take it (docker's "RAM in bytes"): plain bytes, or a number
/// with a binary unit, "64M", "1.5g", "512KiB", "2 GB"; "-1" means unlimited.
pub fn parse_bytes(flag: &str, s: &str) -> Result<i64> {
    let bad = |why: &str| Error::Other(format!("invalid value for --{flag}: {s:?}: {why}"));
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad("not a size (bytes, or a number with k, m, g, t or p)"));
    }
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(bad("unknown unit (use k, m, g, t or p)")),
    };
    let v: f64 = num.parse().map_err(|_| bad("not a number"))?;
    let bytes = v * (1u64 << shift) as f64;
    if bytes >= i64::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("memory", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("memory", "64M").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("memory", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("memory", "64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("memory", "2 GB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("memory", "1.5k").unwrap(), 1536);
        assert_eq!(parse_bytes("memory-swap", "-1").unwrap(), -1);
        for bad in ["", "abc", "12x", "-5", "1..2", "M", "5MBB"] {
            let e = parse_bytes("memory", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid value for --memory: "), "{e}");
        }
    }
}
