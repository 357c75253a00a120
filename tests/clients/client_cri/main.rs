//! hullrt under containerd 1.6's CRI plugin, driven as the kubelet drives it: a CRI client
//! (the `k8s-cri` gRPC bindings) on the plugin's socket runs pods with the runtime handler
//! `hullrt` (containerd-shim-runc-v2 with `BinaryName` = hullrt) and, as the control, the
//! handler `runc`. Every scenario runs under both handlers and their transcripts must be equal.
//!
//! One containerd serves the file: its own root, state, socket and config, `SystemdCgroup =
//! false`, pods under a cgroup parent of its own, network namespaces under its state dir, a
//! CNI bridge with a bridge name and subnet of its own (Debian's containernetworking-plugins),
//! and the sandbox image made here from hull-pause (crates/pause) and imported with `ctr -n
//! k8s.io images import`: nothing is pulled. When the test binary exits, containerd is
//! stopped, the bridge deleted, and anything left (shims, mounts, netns, cgroups) fails the run.

mod kubelet;
mod stream;

use hull_e2e::client_support::{out_text, transcript_diff};
use hull_e2e::unmount_under;
use k8s_cri::v1::{LinuxContainerResources, Mount};
use kubelet::{cri, Pod, PROPAGATION};

/// Runs `scenario` under both handlers; fails on a failed check or differing transcripts.
fn both(scenario: impl Fn(&'static str) -> (Vec<String>, Vec<String>)) {
    cri();
    let (h_log, mut fails) = scenario("hullrt");
    let (r_log, r_fails) = scenario("runc");
    fails.extend(r_fails);
    let diff = transcript_diff(&h_log, &r_log);
    if !diff.is_empty() {
        fails.push(format!("hullrt and runc differ:{diff}"));
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

/// The pod lifecycle as the kubelet runs it, with two containers sharing the pod's net, ipc,
/// uts and (shareProcessNamespace) pid namespaces.
#[test]
fn cri_pod_lifecycle_and_shared_namespaces() {
    both(|handler| {
        let mut p = Pod::run(handler, "life", true, false);
        if p.sandbox.is_empty() {
            return p.finish(&[]);
        }
        let one = p.container(
            "one",
            "echo started; echo to-stderr >&2; exec sleep 1000",
            |_| {},
        );
        let two = p.container("two", "exec sleep 1001", |_| {});
        let (code, out) = p.exec(&one, "echo in-exec; exit 3");
        p.check("ExecSync", (code, out.as_str()), (3, "in-exec"));
        let script = "for n in net ipc uts pid mnt; do readlink /proc/self/ns/$n; done";
        let (a, b) = (p.exec(&one, script).1, p.exec(&two, script).1);
        let same: Vec<bool> = a.lines().zip(b.lines()).map(|(x, y)| x == y).collect();
        p.check(
            "net ipc uts pid shared, mnt not",
            same,
            vec![true, true, true, true, false],
        );
        let (_, ps) = p.exec(&two, "ps -o args | grep -v -e ps -e grep");
        p.check(
            "processes seen from two",
            ps.lines().skip(1).collect::<Vec<_>>().join(","),
            "/pause,sleep 1000,sleep 1001".into(),
        );
        p.update(
            &one,
            LinuxContainerResources {
                memory_limit_in_bytes: 64 << 20,
                cpu_period: 100_000,
                cpu_quota: 50_000,
                ..Default::default()
            },
        );
        let limits =
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
        let (_, seen) = p.exec(&one, limits);
        p.check(
            "limits after UpdateContainerResources",
            seen,
            "67108864\n50000".into(),
        );
        let (_, host) = p.exec(&one, "hostname");
        p.check("hostname", host == format!("life-{handler}"), true);
        // The container's log, in the CRI format the kubelet reads: TIME STREAM TAG LINE.
        let log = std::fs::read_to_string(
            cri()
                .dir
                .join("logs")
                .join(format!("life-{handler}"))
                .join("one.log"),
        )
        .unwrap_or_default();
        // The two streams are copied apart: their order in the file may vary.
        let mut lines: Vec<String> = log
            .lines()
            .map(|l| l.split_once(' ').map_or("", |x| x.1).to_string())
            .collect();
        lines.sort();
        p.check(
            "log",
            lines,
            vec!["stderr F to-stderr".into(), "stdout F started".into()],
        );
        // A container that exited by itself: stop and remove must not hang.
        let kill = "kill $(ps -o pid,args | awk '$2 == \"sleep\" && $3 == \"1001\" {print $1}')";
        let (code, _) = p.exec(&one, kill);
        p.check("kill two's process from one", code, 0);
        let exited = p.wait_exit(&two);
        p.check("two's exit code and reason", exited, (143, "Error".into()));
        p.remove("two", &two);
        p.remove("one", &one);
        p.finish(&[one, two])
    });
}

/// Mount propagation as the kubelet asks for it (Mount.propagation private, rslave =
/// HostToContainer, rshared = Bidirectional) from host shared mounts: a mount made on the host
/// reaches the container with rslave and rshared; one made in the container reaches the host
/// only with rshared.
#[test]
fn cri_mount_propagation_both_ways() {
    both(|handler| {
        let base = cri().dir.join(format!("prop-{handler}"));
        for (mode, _) in PROPAGATION {
            let d = base.join(mode);
            std::fs::create_dir_all(&d).unwrap();
            sh(&format!(
                "mount --bind {0} {0} && mount --make-shared {0}",
                d.display()
            ));
        }
        let mut p = Pod::run(handler, "prop", false, true);
        if p.sandbox.is_empty() {
            unmount_under(&base);
            return p.finish(&[]);
        }
        let id = p.container("c", "exec sleep 1000", |c| {
            for (mode, propagation) in PROPAGATION {
                c.mounts.push(Mount {
                    container_path: format!("/p/{mode}"),
                    host_path: base.join(mode).to_string_lossy().into_owned(),
                    propagation,
                    ..Default::default()
                });
            }
            let sc = c
                .linux
                .as_mut()
                .and_then(|l| l.security_context.as_mut())
                .unwrap();
            sc.privileged = true;
        });
        for (mode, _) in PROPAGATION {
            let d = base.join(mode).join("fromhost");
            std::fs::create_dir_all(&d).unwrap();
            sh(&format!("mount -t tmpfs hull-fromhost {}", d.display()));
        }
        let (_, seen) = p.exec(
            &id,
            "for m in private rslave rshared; do grep -q \" /p/$m/fromhost \" /proc/self/mountinfo && echo $m; done",
        );
        p.check(
            "host mounts seen in the container",
            seen,
            "rslave\nrshared".into(),
        );
        let (code, _) = p.exec(
            &id,
            "for m in private rslave rshared; do mkdir -p /p/$m/fromctr && mount -t tmpfs hull-fromctr /p/$m/fromctr || exit 1; done",
        );
        p.check("mounts made in the container", code, 0);
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let seen: Vec<&str> = PROPAGATION
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| {
                let point = format!(" {} ", base.join(m).join("fromctr").display());
                mountinfo.lines().any(|l| l.contains(&point))
            })
            .collect();
        p.check("container mounts seen on the host", seen, vec!["rshared"]);
        p.remove("c", &id);
        let out = p.finish(&[id]);
        unmount_under(&base);
        out
    });
}

/// A container over its memory limit: OOM-killed, exit code 137 and reason OOMKilled in its
/// status, as the kubelet reads it.
#[test]
fn cri_oom_killed() {
    both(|handler| {
        let mut p = Pod::run(handler, "oom", false, false);
        if p.sandbox.is_empty() {
            return p.finish(&[]);
        }
        let hog = "a=$(head -c 100000000 /dev/zero | tr '\\0' x); echo kept ${#a}";
        let id = p.container("hog", hog, |c| {
            c.linux.as_mut().unwrap().resources = Some(LinuxContainerResources {
                memory_limit_in_bytes: 32 << 20,
                ..Default::default()
            });
        });
        let st = p.wait_exit(&id);
        p.check("exit code and reason", st, (137, "OOMKilled".into()));
        p.remove("hog", &id);
        p.finish(&[id])
    });
}

/// Attach as the kubelet drives it for `kubectl attach -i` (and `-t`): a container started
/// with `stdin: true` reads a line; the Attach URL is opened over WebSocket, the line sent on
/// stdin, the answer read on stdout and stderr (one terminal with `tty: true`), the call's
/// status read at the end, and the container's own exit code seen in its status.
#[test]
fn cri_attach_stdin_stdout() {
    both(|handler| {
        let mut p = Pod::run(handler, "attach", false, false);
        if p.sandbox.is_empty() {
            return p.finish(&[]);
        }
        let mut ids = Vec::new();
        for tty in [false, true] {
            let name = if tty { "tty" } else { "pipes" };
            // A second before the exit: containerd can end the attach stream as soon as it
            // sees the exit, before the last output is copied (containerd#5741; once in CI
            // the stdout line was lost while stderr's came through).
            let script = "read line; echo got:$line; echo err:$line >&2; sleep 1; exit 3";
            let id = p.container(name, script, |c| {
                c.stdin = true;
                c.tty = tty;
            });
            let url = p.attach(&id, tty).unwrap_or_default();
            let got = stream::Stream::open(&url).and_then(|mut s| {
                p.check(
                    &format!("{name} subprotocol"),
                    s.protocol.as_str(),
                    stream::PROTOCOL,
                );
                s.send(stream::STDIN, b"hello\n")?;
                s.receive_all()
            });
            let got = got.unwrap_or_else(|e| {
                p.check(&format!("{name} stream"), e.as_str(), "");
                Default::default()
            });
            let status: serde_json::Value = serde_json::from_str(&got.status).unwrap_or_default();
            let want = if tty {
                ("hello\r\ngot:hello\r\nerr:hello\r\n", "")
            } else {
                ("got:hello\n", "err:hello\n")
            };
            p.check(
                &format!("{name} stdout, stderr"),
                (got.stdout.as_str(), got.stderr.as_str()),
                want,
            );
            p.check(
                &format!("{name} attach status"),
                status["status"].as_str(),
                Some("Success"),
            );
            let exited = p.wait_exit(&id);
            p.check(
                &format!("{name} exit code and reason"),
                exited,
                (3, "Error".into()),
            );
            p.remove(name, &id);
            ids.push(id);
        }
        p.finish(&ids)
    });
}

/// `sh -c script` on the host, which must succeed.
fn sh(script: &str) {
    let o = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{script}: {}", out_text(&o));
}
