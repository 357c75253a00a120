//! Network namespaces pinned by a bind mount, as `ip netns add` does: the namespace lives as
//! long as the mount, whatever processes come and go, and its path can be given to the OCI
//! spec (`linux.namespaces[].path`), to another container (`--network container:X`) or to a pod.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("netns name {0:?}: must be 1-64 characters of [A-Za-z0-9_.-]")]
    BadName(String),
    #[error("netns {path}: already exists")]
    Exists { path: PathBuf },
    #[error("netns {path}: {op}: {err}")]
    Io {
        path: PathBuf,
        op: &'static str,
        err: io::Error,
    },
}

fn io_err<'a>(
    path: &'a Path,
    op: &'static str,
) -> impl FnOnce(nix::errno::Errno) -> NetnsError + 'a {
    move |e| NetnsError::Io {
        path: path.to_path_buf(),
        op,
        err: e.into(),
    }
}

/// The file a namespace called `name` is pinned at: `<runroot>/netns/<name>`.
pub fn path(runroot: &Path, name: &str) -> PathBuf {
    runroot.join("netns").join(name)
}

fn check_name(name: &str) -> Result<(), NetnsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(NetnsError::BadName(name.into()))
    }
}

/// Creates a new, empty network namespace and pins it at `<runroot>/netns/<name>`.
pub fn create(runroot: &Path, name: &str) -> Result<PathBuf, NetnsError> {
    check_name(name)?;
    let dir = runroot.join("netns");
    std::fs::create_dir_all(&dir).map_err(|err| NetnsError::Io {
        path: dir.clone(),
        op: "create directory",
        err,
    })?;
    let target = dir.join(name);
    // create_new: two callers racing for one name cannot both pin it.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
    {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(NetnsError::Exists { path: target })
        }
        Err(err) => {
            return Err(NetnsError::Io {
                path: target,
                op: "create file",
                err,
            })
        }
    }
    // unshare(CLONE_NEWNET) changes only the calling thread's namespace, so a throwaway
    // thread makes the namespace and the mount pins it before the thread (its only user)
    // exits. The mount is made from that thread through its own /proc/thread-self entry.
    let t = target.clone();
    let res = std::thread::spawn(move || -> Result<(), NetnsError> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io_err(&t, "unshare"))?;
        let tid = nix::unistd::gettid();
        let src = PathBuf::from(format!("/proc/self/task/{tid}/ns/net"));
        mount(Some(&src), &t, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(io_err(&t, "bind mount"))
    })
    .join()
    .expect("netns thread panicked");
    if let Err(e) = res {
        let _ = std::fs::remove_file(&target);
        return Err(e);
    }
    Ok(target)
}

/// Pins the network namespace of process `pid` at `<runroot>/netns/<name>`.
pub fn pin_pid(runroot: &Path, name: &str, pid: i32) -> Result<PathBuf, NetnsError> {
    check_name(name)?;
    let dir = runroot.join("netns");
    std::fs::create_dir_all(&dir).map_err(|err| NetnsError::Io {
        path: dir.clone(),
        op: "create directory",
        err,
    })?;
    let target = dir.join(name);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|err| {
            if err.kind() == io::ErrorKind::AlreadyExists {
                NetnsError::Exists {
                    path: target.clone(),
                }
            } else {
                NetnsError::Io {
                    path: target.clone(),
                    op: "create file",
                    err,
                }
            }
        })?;
    let src = PathBuf::from(format!("/proc/{pid}/ns/net"));
    if let Err(e) = mount(
        Some(&src),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    ) {
        let _ = std::fs::remove_file(&target);
        return Err(io_err(&target, "bind mount")(e));
    }
    Ok(target)
}

/// Whether `path` is a pinned namespace (a nsfs mount), not just a leftover file.
pub fn is_pinned(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type().0 == libc::NSFS_MAGIC)
        .unwrap_or(false)
}

/// Opens a pinned namespace for setns or IFLA_NET_NS_FD.
pub fn open(path: &Path) -> Result<File, NetnsError> {
    File::open(path).map_err(|err| NetnsError::Io {
        path: path.into(),
        op: "open",
        err,
    })
}

/// Unpins: unmounts (lazily, so a process still in the namespace keeps it) and removes the
/// file. A path that is already gone is not an error.
pub fn remove(path: &Path) -> Result<(), NetnsError> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(io_err(path, "unmount")(e)),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(NetnsError::Io {
            path: path.into(),
            op: "remove",
            err,
        }),
    }
}

/// The names pinned under `<runroot>/netns`.
pub fn list(runroot: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(runroot.join("netns"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Runs `f` on a thread that has joined the namespace at `path` (e.g. to bind a socket
/// inside it, or write its /proc/sys/net through a fresh sysfs view).
pub fn run_in<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetnsError> {
    let ns = open(path)?;
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io_err(&p, "setns"))?;
        Ok(f())
    })
    .join()
    .expect("netns thread panicked")
}
