//! The runc CVE classes that already hold, attempted through hull: no host fd or cwd reaches
//! the container's init or an exec'd process (CVE-2024-21626), and neither can open its
//! /proc/self/exe for writing (CVE-2019-5736). (Issue 16's findings: tests/engine/attacks.rs.)

use std::process::Stdio;

use hull_e2e::hull::Hull;

/// CVE-2024-21626 through hull: no fd of the caller (here fd 7, open on the host's /etc),
/// of hull, of its monitor or of the runtime reaches the container's init or an exec'd
/// process, and their working directory is inside the rootfs.
#[test]
fn no_host_fd_or_cwd_reaches_init_or_exec() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let h = Hull::new();
    let etc = std::fs::File::open("/etc").unwrap();
    let raw = etc.as_raw_fd();
    let script = "ls -l /proc/1/fd /proc/self/fd 2>/dev/null; readlink /proc/1/cwd; \
                  readlink /proc/self/cwd; echo END; sleep 1000";
    let mut cmd = h.cmd(&["run", "-d", "--name", "fds", "busybox", "sh", "-c", script]);
    // SAFETY: only dup2 (async-signal-safe) runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(o.status.success(), "{o:?}");
    let state = h.dir.path().display().to_string();
    let check = |seen: &str, what: &str| {
        for l in seen.lines().filter(|l| l.contains(" -> ")) {
            let target = l.split(" -> ").nth(1).unwrap_or("");
            let ours = target.starts_with("pipe:")
                || target.starts_with("socket:")
                || target.starts_with("/dev/null")
                || target.starts_with("/proc/");
            assert!(ours, "{what}: fd of the host: {l}");
            assert!(!target.contains(&state) && target != "/etc", "{what}: {l}");
        }
    };
    assert!(hull_e2e::wait_for(20, || h
        .ok(&["logs", "fds"])
        .contains("END")));
    let init = h.ok(&["logs", "fds"]);
    check(&init, "init");
    assert!(
        init.lines().rev().skip(1).take(2).all(|l| l == "/"),
        "cwd: {init}"
    );
    let exec = h.ok(&[
        "exec",
        "fds",
        "sh",
        "-c",
        "ls -l /proc/self/fd 2>/dev/null; readlink /proc/self/cwd",
    ]);
    check(&exec, "exec");
    assert_eq!(exec.lines().last(), Some("/"), "{exec}");
}

/// CVE-2019-5736 through hull: neither the container's init nor an exec'd process can open
/// its /proc/self/exe (or pid 1's) for writing; the runtime's binary is unchanged.
#[test]
fn proc_self_exe_is_not_writable_from_inside() {
    let h = Hull::new();
    let rt = hull_e2e::hullrt_path();
    let before = std::fs::read(&rt).unwrap();
    let try_write = "for f in /proc/self/exe /proc/1/exe; do \
                     (echo x >> $f) 2>/dev/null && echo WROTE $f || echo refused; done";
    h.ok(&["run", "-d", "--name", "exe", "busybox", "sleep", "1000"]);
    let init = h.sh(&[], try_write);
    let exec = h.ok(&["exec", "exe", "sh", "-c", try_write]);
    assert_eq!(init, "refused\nrefused\n");
    assert_eq!(exec, "refused\nrefused\n");
    assert_eq!(
        std::fs::read(&rt).unwrap(),
        before,
        "runtime binary changed"
    );
}
