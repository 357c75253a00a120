//! Escapes attempted from inside a container through hull (and hullrt), each checking that
//! the host is untouched (issue 16's findings 1 to 5): the caller's fds, non-namespaced
//! sysctls, /proc writes redirected by a planted symlink, a store readable by other users, the
//! seccomp profile's io_uring. tests/engine/attacks_runc_cves.rs has the runc CVE classes that
//! already hold; tests/runtime/security_attacks.rs covers hullrt's own hardening (mount
//! destinations, /dev/null, the runtime binary).

use std::path::Path;
use std::process::Stdio;

use hull_e2e::hull::{one_line_error, Hull};
use hull_e2e::{unique_id, Bundle};

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
    // Nor does `run -i`: its streams are the monitor's pipes.
    let o = h
        .cmd(&["run", "--rm", "-i", "busybox", "sh", "-c", script])
        .stdin(std::fs::File::open(&host).unwrap())
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&o.stdout);
    assert!(
        seen.lines().take(3).all(|l| l.starts_with("pipe:")),
        "{seen}"
    );
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "host data\n");
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

/// `hull run --sysctl`: only sysctls of a namespace the container has of its own; the rest
/// (a host-wide one, or net.* with the host's network) is one line, exit 125, nothing left.
#[test]
fn hull_refuses_sysctls_that_would_reach_the_host() {
    let h = Hull::new();
    let core = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    for (flags, name) in [
        (
            &["--sysctl", "kernel.core_pattern=|/tmp/pwned"][..],
            "kernel.core_pattern",
        ),
        (&["--sysctl", "vm.swappiness=1"][..], "vm.swappiness"),
        (&["--sysctl", "kernel.hostname=x"][..], "kernel.hostname"),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"][..],
            "net.ipv4.ip_forward",
        ),
        (
            &["--ipc", "host", "--sysctl", "kernel.shmmax=4096"][..],
            "kernel.shmmax",
        ),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let o = h.run(&args);
        assert_eq!(o.code, 125, "{flags:?}: {}", o.stderr);
        let line = one_line_error(&o);
        assert!(line.contains("--sysctl") && line.contains(name), "{line}");
        h.assert_empty();
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core
    );
    // The namespaced ones reach the container's own namespaces.
    let out = h.sh(
        &[
            "--sysctl",
            "kernel.shmmax=123456789",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=81",
            "--sysctl",
            "fs.mqueue.msg_max=17",
        ],
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start \
         /proc/sys/fs/mqueue/msg_max",
    );
    assert_eq!(out, "123456789\n81\n17\n");
}

/// A runtime's answer to `linux.sysctl` on a bundle: (exit code, stdout, stderr).
fn run_with(runtime: &Path, b: &Bundle, id: &str) -> (i32, String, String) {
    b.save();
    let o = std::process::Command::new(runtime)
        .arg("--root")
        .arg(&b.root)
        .args(["run", id])
        .current_dir(b.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::process::Command::new(runtime)
        .arg("--root")
        .arg(&b.root)
        .args(["delete", "--force", id])
        .output();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// hullrt accepts and refuses `linux.sysctl` entries as runc does, on the same configs; a
/// refusal is a config error naming the sysctl, at create, with nothing left behind.
#[test]
fn hullrt_sysctls_as_runc() {
    let runc = Path::new("/usr/sbin/runc");
    assert!(runc.exists(), "runc is needed (apt-get install runc)");
    let core = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let all = ["pid", "mount", "ipc", "uts", "network"];
    let cases: &[(&str, &str, &[&str], bool)] = &[
        ("kernel.core_pattern", "|/tmp/pwned", &all, false),
        ("vm.swappiness", "1", &all, false),
        ("kernel.shmmax", "123456789", &all, true),
        (
            "kernel.shmmax",
            "123456789",
            &["pid", "mount", "uts", "network"],
            false,
        ),
        ("fs.mqueue.msg_max", "17", &all, true),
        ("net.ipv4.ip_forward", "1", &all, true),
        (
            "net.ipv4.ip_forward",
            "1",
            &["pid", "mount", "ipc", "uts"],
            false,
        ),
        ("kernel.domainname", "example.org", &all, true),
        ("kernel.hostname", "x", &all, false),
    ];
    for (i, (key, value, ns, accepted)) in cases.iter().enumerate() {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let mut b = Bundle::new(&format!("cat {path}"));
        b.namespaces(ns);
        if !ns.contains(&"uts") {
            b.config["hostname"] = serde_json::Value::Null;
        }
        b.config["linux"]["sysctl"] = serde_json::json!({ *key: value });
        for (rt, name) in [
            (runc, "runc"),
            (hull_e2e::hullrt_path().as_path(), "hullrt"),
        ] {
            let id = unique_id(&format!("sysctl{i}-{name}"));
            let (code, out, err) = run_with(rt, &b, &id);
            if *accepted {
                assert_eq!(
                    (code, out.trim()),
                    (0, *value),
                    "{name} {key} {ns:?}: {err}"
                );
            } else {
                assert_ne!(code, 0, "{name} accepted {key} with {ns:?}: {out}");
                assert!(err.contains(key), "{name} {key}: {err}");
                if name == "hullrt" {
                    assert_eq!(err.trim().lines().count(), 1, "{err}");
                    assert!(b.no_state_left(&id), "state left for {key}");
                }
            }
        }
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core
    );
}

/// The host's `kernel.printk_ratelimit_burst`, a harmless host-wide sysctl the /proc attacks
/// below try to reach, and a guard that puts it back whatever happens.
struct HostSysctl(String);

impl HostSysctl {
    const PATH: &'static str = "/proc/sys/kernel/printk_ratelimit_burst";
    fn save() -> HostSysctl {
        HostSysctl(std::fs::read_to_string(Self::PATH).unwrap())
    }
    fn other_value(&self) -> String {
        (self.0.trim().parse::<u32>().unwrap() + 7).to_string()
    }
    fn unchanged(&self) -> bool {
        std::fs::read_to_string(Self::PATH).unwrap() == self.0
    }
}

impl Drop for HostSysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, &self.0);
    }
}

/// The issue's attack: a volume holding `ipv4 -> /proc/sys/kernel`, mounted at
/// /proc/sys/net, turns `net.ipv4.X` into the host's `kernel.X`. hull refuses the
/// destination; and with something of the container's under /proc anyway (here a
/// createContainer hook binds it there, after the runtime's own checks), hullrt's sysctl
/// write goes through a procfs of its own and never follows the link.
#[test]
fn proc_writes_cannot_be_redirected_by_a_planted_symlink() {
    let host = HostSysctl::save();
    let value = host.other_value();
    let h = Hull::new();
    h.ok(&["volume", "create", "evil"]);
    let data = h.root().join("volumes/evil/_data");
    std::os::unix::fs::symlink("/proc/sys/kernel", data.join("ipv4")).unwrap();
    let sysctl = format!("net.ipv4.printk_ratelimit_burst={value}");
    for flags in [
        vec!["-v", "evil:/proc/sys/net"],
        vec!["--mount", "type=volume,src=evil,dst=/proc/sys/net"],
        vec!["-v", "evil:/proc/../proc/sys/net"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["--sysctl", &sysctl, "busybox", "true"]);
        let o = h.run(&args);
        assert_eq!(o.code, 125, "{flags:?}: {}", o.stderr);
        assert!(one_line_error(&o).contains("inside /proc"), "{}", o.stderr);
        h.assert_empty();
    }
    assert!(host.unchanged(), "host sysctl rewritten through hull");

    let fake = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel", fake.path().join("ipv4")).unwrap();
    let mut b = Bundle::new("true");
    b.config["linux"]["sysctl"] = serde_json::json!({ "net.ipv4.printk_ratelimit_burst": value });
    let bind = format!(
        "mount --bind {} {}/proc/sys/net",
        fake.path().display(),
        b.rootfs().display()
    );
    b.config["hooks"] = serde_json::json!({
        "createContainer": [{ "path": "/bin/sh", "args": ["sh", "-c", bind] }]
    });
    let id = unique_id("atk-procsym");
    let (code, out, err) = b.run(&id);
    assert!(
        host.unchanged(),
        "host sysctl rewritten through hullrt: {out}{err}"
    );
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("linux.sysctl.net.ipv4.printk_ratelimit_burst"),
        "{err}"
    );
    assert!(b.no_state_left(&id));
}

/// Mount destinations on /proc as runc allows them: a procfs on /proc itself, binds over the
/// few files lxcfs emulates, nothing else under it, also when a symlink leads there.
#[test]
fn mounts_under_proc_as_runc() {
    let runc = Path::new("/usr/sbin/runc");
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("f");
    std::fs::write(&file, "fake\n").unwrap();
    let bind = |dst: &str, src: &Path| serde_json::json!({"destination": dst, "type": "bind", "source": src, "options": ["bind"]});
    let cases = [
        (bind("/proc/sys/net", src.path()), false),
        (bind("/proc/sys", src.path()), false),
        (bind("/proc/cpuinfo", &file), true),
        (bind("/proc/uptime", &file), true),
        (bind("/proc/self", src.path()), false),
        (bind("/evil", src.path()), false),
        (
            serde_json::json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}),
            false,
        ),
    ];
    for (i, (m, accepted)) in cases.into_iter().enumerate() {
        let mut b = Bundle::new("true");
        std::os::unix::fs::symlink("/proc/sys", b.rootfs().join("evil")).unwrap();
        b.mount(m.clone());
        for (rt, name) in [
            (runc, "runc"),
            (hull_e2e::hullrt_path().as_path(), "hullrt"),
        ] {
            let id = unique_id(&format!("procmnt{i}-{name}"));
            let (code, out, err) = run_with(rt, &b, &id);
            assert_eq!(code == 0, accepted, "{name} {m}: {out}{err}");
            if name == "hullrt" && !accepted {
                assert!(err.contains("mounts["), "{err}");
                assert!(b.no_state_left(&id));
            }
        }
    }
}

/// `cmd` run as `nobody`, no groups: whether it succeeded, and what it printed.
fn as_nobody(cmd: &str) -> (bool, String) {
    use std::os::unix::process::CommandExt;
    let o = std::process::Command::new("sh")
        .args(["-c", cmd])
        .uid(65534)
        .gid(65534)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status.success(), text)
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The store is root's: another local user can neither read a container's environment (in
/// the database and the bundle) nor list the layers nor run a setuid-root file of a layer
/// or of a container's root filesystem (their paths are in the world-readable mountinfo).
/// A store left with 0755/0644 by an older hull is fixed by the next command.
#[test]
fn store_is_closed_to_other_users() {
    let h = Hull::new();
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(hull_e2e::busybox(), rootfs.join("bin/busybox")).unwrap();
    std::fs::set_permissions(
        rootfs.join("bin/busybox"),
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .unwrap();
    for a in ["sh", "sleep", "id"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    let tar = tmp.path().join("suid.tar");
    hull_e2e::image::tar_dir(&rootfs, &tar);
    h.ok(&["import", tar.to_str().unwrap(), "suid:1"]);
    h.ok(&[
        "run",
        "-d",
        "--name",
        "pw",
        "-e",
        "PASSWORD=hunter2",
        "suid:1",
        "sleep",
        "1000",
    ]);
    let id = h.id("pw");
    let (root, run) = (h.root(), h.runroot());
    let bundle = run.join("containers").join(&id);
    let layer = std::fs::read_dir(root.join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("bin/busybox").exists())
        .expect("the layer");
    let attempts = |when: &str| {
        for cmd in [
            format!("cat {}/config.json", bundle.display()),
            format!(
                "grep -c hunter2 {}/hull.db {}/hull.db-wal",
                root.display(),
                root.display()
            ),
            format!("ls {}/layers", root.display()),
            format!("{}/bin/busybox id", layer.display()),
            format!("{}/rootfs/bin/busybox id", bundle.display()),
            format!("ls {}/containers/{id}/upper", root.display()),
        ] {
            let (ok, out) = as_nobody(&cmd);
            assert!(!ok, "{when}: nobody could `{cmd}`: {out}");
            assert!(
                !out.contains("hunter2") && !out.contains("euid=0"),
                "{when}: {out}"
            );
        }
    };
    attempts("new store");
    assert_eq!(mode(&bundle.join("config.json")), 0o600);
    assert_eq!(mode(&root.join("hull.db")), 0o600);

    // An older hull's store: everything open.
    use std::os::unix::fs::PermissionsExt;
    let open =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for d in [
        root.clone(),
        root.join("layers"),
        root.join("containers"),
        root.join("containers").join(&id),
        run.clone(),
        run.join("containers"),
        bundle.clone(),
    ] {
        open(&d, 0o755);
    }
    for f in ["hull.db", "hull.db-wal", "hull.db-shm"] {
        open(&root.join(f), 0o644);
    }
    open(&bundle.join("config.json"), 0o644);
    assert!(as_nobody(&format!("cat {}/config.json", bundle.display())).0);
    h.ok(&["ps"]);
    attempts("fixed store");
    assert_eq!(mode(&root), 0o711);
    assert_eq!(mode(&root.join("layers")), 0o700);
    assert_eq!(mode(&bundle), 0o700);
    // The container still works.
    assert_eq!(
        h.ok(&["exec", "pw", "sh", "-c", "echo $PASSWORD"]),
        "hunter2\n"
    );
}

/// A static program, built here with gcc, that calls io_uring_setup and prints the result.
fn io_uring_probe(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("iouring.c");
    std::fs::write(
        &src,
        r#"#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char params[120];
    memset(params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 4, params);
    printf("io_uring_setup: %s\n", fd >= 0 ? "allowed" : strerror(errno));
    return 0;
}

"#,
    )
    .unwrap();
    let bin = dir.join("iouring");
    let st = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc (scripts/deps.sh installs it)");
    assert!(st.success());
    bin
}

/// Docker's current default profile blocks io_uring (it performs system calls seccomp never
/// sees): under hull's default profile io_uring_setup fails with EPERM, while unconfined it
/// works on this kernel.
#[test]
fn default_seccomp_profile_blocks_io_uring() {
    let h = Hull::new();
    let tmp = tempfile::tempdir().unwrap();
    let probe = io_uring_probe(tmp.path());
    let vol = format!("{}:/probe:ro", probe.display());
    let default = h.ok(&["run", "--rm", "-v", &vol, "busybox", "/probe"]);
    assert_eq!(default, "io_uring_setup: Operation not permitted\n");
    let unconfined = h.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "-v",
        &vol,
        "busybox",
        "/probe",
    ]);
    assert_eq!(unconfined, "io_uring_setup: allowed\n");
}
