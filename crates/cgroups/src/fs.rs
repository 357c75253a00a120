//! Small helpers over cgroupfs files: read, write, "set this field if the kernel has it",
//! recursive pid listing, polling and recursive removal.

use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::{errno, Error, Result};

/// How long freeze/thaw/destroy wait for the kernel before giving up. Generous because the
/// software-emulated test VM is slow.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// Write `value` to an existing file, as runc does (O_WRONLY|O_TRUNC, one write(2)).
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    let werr = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        errno: errno(&e),
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(werr)?;
    f.write_all(value.as_bytes()).map_err(werr)
}

/// Like [`write`] but creates the file if missing. Only used where a real cgroupfs always
/// has the file (it appears on mkdir) and a fake test tree does not.
pub(crate) fn write_create(path: &Path, value: &str) -> Result<()> {
    if path.exists() {
        return write(path, value);
    }
    fs::write(path, value).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        errno: errno(&e),
    })
}

/// Set spec field `field` by writing `value` to `dir/file`. A missing file means the kernel
/// lacks the knob: since the user asked for it, that is an error naming the field.
pub(crate) fn set(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(Error::unsupported(field));
    }
    write(&path, value)
}

/// Read a whole file as a string.
pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        errno: errno(&e),
    })
}

/// Read a file, `None` if it does not exist (the kernel lacks that knob).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Read {
            path: path.to_path_buf(),
            errno: errno(&e),
        }),
    }
}

fn parse_err(path: &Path, content: &str) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        content: content.to_string(),
    }
}

/// Parse a single number; "max" reads as u64::MAX (v2 convention).
pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64> {
    let t = s.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse().map_err(|_| parse_err(path, s))
}

/// Read a single-number file; 0 when the file does not exist.
pub(crate) fn read_u64(path: &Path) -> Result<u64> {
    match read_opt(path)? {
        Some(s) => parse_u64(path, &s),
        None => Ok(0),
    }
}

/// Parse "key value" lines (memory.stat, cpu.stat, memory.events, ...).
pub(crate) fn parse_flat_keyed(path: &Path, s: &str) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for line in s.lines().filter(|l| !l.trim().is_empty()) {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v), None) = (it.next(), it.next(), it.next()) else {
            return Err(parse_err(path, line));
        };
        out.insert(k.to_string(), parse_u64(path, v)?);
    }
    Ok(out)
}

/// Read a flat keyed file; empty map when the file does not exist.
pub(crate) fn read_flat_keyed(path: &Path) -> Result<BTreeMap<String, u64>> {
    match read_opt(path)? {
        Some(s) => parse_flat_keyed(path, &s),
        None => Ok(BTreeMap::new()),
    }
}

/// Parse a whitespace-separated list of numbers (cpuacct.usage_percpu).
pub(crate) fn parse_u64_list(path: &Path, s: &str) -> Result<Vec<u64>> {
    s.split_whitespace().map(|v| parse_u64(path, v)).collect()
}

/// Sub-directories (child cgroups) of `dir`.
pub(crate) fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Dir {
                op: "readdir",
                path: dir.to_path_buf(),
                errno: errno(&e),
            })
        }
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        if ent.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(ent.path());
        }
    }
    Ok(out)
}

/// All pids in `dir/cgroup.procs` and in every descendant cgroup.
pub(crate) fn pids_recursive(dir: &Path) -> Result<Vec<i32>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let procs = d.join("cgroup.procs");
        if let Some(s) = read_opt(&procs)? {
            for l in s.lines().filter(|l| !l.trim().is_empty()) {
                out.push(l.trim().parse().map_err(|_| parse_err(&procs, l))?);
            }
        }
        stack.extend(child_dirs(&d)?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// SIGKILL every pid; ESRCH (already gone) is fine.
pub(crate) fn kill_all(dir: &Path, pids: &[i32]) -> Result<()> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    for &pid in pids {
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                return Err(Error::Kill {
                    pid,
                    signal: "KILL",
                    path: dir.to_path_buf(),
                    errno: e,
                })
            }
        }
    }
    Ok(())
}

/// Poll `done` with a short backoff until it returns true or [`WAIT`] elapses.
pub(crate) fn poll(
    path: &Path,
    what: &'static str,
    mut done: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        if done()? {
            return Ok(());
        }
        if start.elapsed() > WAIT {
            return Err(Error::Timeout {
                path: path.to_path_buf(),
                what,
                secs: WAIT.as_secs(),
            });
        }
        sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}

/// rmdir `dir` and its child cgroups, deepest first. Ok if it is already gone.
/// EBUSY (tasks still exiting) is returned as is so the caller can retry.
pub(crate) fn rmdir_recursive(dir: &Path) -> std::result::Result<(), (PathBuf, Errno)> {
    let children = match child_dirs(dir) {
        Ok(c) => c,
        Err(_) => return Err((dir.to_path_buf(), Errno::EIO)),
    };
    for c in children {
        rmdir_recursive(&c)?;
    }
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err((dir.to_path_buf(), errno(&e))),
    }
}

/// Remove a cgroup directory tree, retrying while the kernel still reports it busy
/// (killed tasks leave the cgroup asynchronously).
pub(crate) fn remove_cgroup(dir: &Path, mut kill_again: impl FnMut() -> Result<()>) -> Result<()> {
    let mut last = None;
    let res = poll(dir, "become removable", || match rmdir_recursive(dir) {
        Ok(()) => Ok(true),
        Err((p, e)) if e == Errno::EBUSY => {
            last = Some((p, e));
            kill_again()?;
            Ok(false)
        }
        Err((p, e)) => Err(Error::Dir {
            op: "rmdir",
            path: p,
            errno: e,
        }),
    });
    match (res, last) {
        (Err(Error::Timeout { .. }), Some((p, e))) => Err(Error::Dir {
            op: "rmdir",
            path: p,
            errno: e,
        }),
        (r, _) => r,
    }
}

/// mkdir that tolerates an existing directory.
pub(crate) fn mkdir(path: &Path) -> Result<()> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::Dir {
            op: "mkdir",
            path: path.to_path_buf(),
            errno: errno(&e),
        }),
    }
}
