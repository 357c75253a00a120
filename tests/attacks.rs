//! Escapes attempted from inside a container through hull (and hullrt), each checking that
//! the host is untouched: the caller's fds, non-namespaced sysctls, /proc writes redirected
//! by a planted symlink, a store readable by other users, the seccomp profile's io_uring,
//! and the runc CVE classes that already hold. tests/security.rs covers hullrt's own
//! hardening (mount destinations, /dev/null, the runtime binary).

#[path = "hull_run_util.rs"]
mod util;

use std::process::Stdio;

use util::Hull;

/// `hull exec -i C` with a host file as stdin: the process must get pipes of hull's, never
/// the caller's fds, so it can neither rewrite the file nor hold the caller's terminal.
#[test]
fn exec_never_hands_the_callers_fds_to_the_container() {
    let h = Hull::new();
    h.ok(&["run", "-d", "--name", "fdc", "busybox", "sleep", "1000"]);
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("hostfile");
    std::fs::write(&host, "host data\n").unwrap();
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let script = "echo X > /proc/self/fd/0; echo Y >> /proc/self/fd/0; \
                  for f in 0 1 2; do readlink /proc/self/fd/$f; done; ls -l /proc/$$/fd";
    let status = h
        .cmd(&["exec", "-i", "fdc", "sh", "-c", script])
        .stdin(std::fs::File::open(&host).unwrap())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    let seen = std::fs::read_to_string(&out).unwrap();
    assert!(
        status.success(),
        "{seen}{}",
        std::fs::read_to_string(&err).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "host data\n");
    let links: Vec<&str> = seen.lines().take(3).collect();
    assert!(links.iter().all(|l| l.starts_with("pipe:")), "{seen}");
    assert!(!seen.contains(&tmp.path().display().to_string()), "{seen}");
    // stdin still ends, and the code still comes back.
    let mut c = h
        .cmd(&["exec", "-i", "fdc", "sh", "-c", "cat; exit 3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(b"x\n").unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(
        (o.status.code(), o.stdout.as_slice()),
        (Some(3), &b"x\n"[..])
    );
    // A detached exec gets nothing of the caller's either.
    let status = h
        .cmd(&[
            "exec",
            "-d",
            "fdc",
            "sh",
            "-c",
            "ls -l /proc/$$/fd > /tmp/fds",
        ])
        .stdin(std::fs::File::open(&host).unwrap())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(hull_e2e::wait_for(20, || h
        .ok(&["exec", "fdc", "cat", "/tmp/fds"])
        .contains(" 2 -> ")));
    let fds = h.ok(&["exec", "fdc", "cat", "/tmp/fds"]);
    assert!(!fds.contains(&tmp.path().display().to_string()), "{fds}");
}
