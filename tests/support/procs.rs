//! Processes, namespaces and cgroups as the host sees them, and polling until something holds.

use std::path::PathBuf;
use std::process::Command;

/// A process's namespace link, e.g. `ns_of("self", "net")` -> "net:[4026531840]".
pub fn ns_of(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Every cgroup directory named `name` under the v1 hierarchies or the v2 tree.
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "4",
            "-type",
            "d",
            "-name",
            name,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// A unique container id for this test process.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

/// Receives one message on `conn` with an fd attached by SCM_RIGHTS (a console socket's pty
/// master, a seccomp listener's notify fd): the message's bytes and the fd.
pub fn recv_with_fd(conn: &std::os::unix::net::UnixStream) -> (Vec<u8>, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = None;
    for c in msg.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: SCM_RIGHTS just installed this fd in our table; nothing else owns it.
            fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let n = msg.bytes;
    buf.truncate(n);
    (buf, fd.expect("an fd over SCM_RIGHTS"))
}

/// Polls `f` every 100 ms for up to `secs` seconds; whether it came true.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    f()
}

/// The state letter of process `pid` (R, S, T, Z...), or None once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The process that stopped itself at fault point `point` (`HULL_FAULT_STOP=point`, see
/// hull_sys::fault_point) with `HULL_FAULT_TAG=tag` in its environment: waits up to `secs`.
pub fn stopped_at(point: &str, tag: &str, secs: u64) -> Option<i32> {
    let want = [
        format!("HULL_FAULT_STOP={point}"),
        format!("HULL_FAULT_TAG={tag}"),
    ];
    let mut found = None;
    wait_for(secs, || {
        found = std::fs::read_dir("/proc").ok().and_then(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .find(|&pid| {
                    proc_state(pid) == Some('T')
                        && std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                            let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
                            want.iter().all(|w| vars.contains(&w.as_bytes()))
                        })
                })
        });
        found.is_some()
    });
    found
}

/// SIGKILL to `pid` (a process a test stopped at a fault point).
pub fn kill9(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// The pids in the cgroup directories named `name` (one list over all v1 hierarchies).
pub fn cgroup_procs(name: &str) -> Vec<i32> {
    let mut v: Vec<i32> = cgroup_dirs_named(name)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Lazily unmounts every mount below `dir`, deepest first, so the directory can go.
pub fn unmount_under(dir: &std::path::Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.display().to_string();
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// All of `f` from its start (a command's stdout or stderr, written to a file).
pub fn read_all(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut v = Vec::new();
    f.rewind().unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}
