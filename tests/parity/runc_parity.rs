//! hullrt beside runc (/usr/sbin/runc) on the same bundle, for mounts and cgroups: what the
//! container sees, and what the host sees of it, must be the same under both.
//! (Processes, seccomp, hooks and exec: runc_parity_process.rs.)

use std::path::Path;
use std::process::Command;

use hull_e2e::runc_pair::*;
use hull_e2e::unique_id;
use serde_json::json;

/// A mount made in the container under an `rshared` bind of a host directory reaches the
/// host exactly when runc's does: with rootfsPropagation shared/rshared (the container's
/// mounts are peers of the host's), not with the default rslave or with rprivate. The
/// container's own view of `/` and the bind's propagation are the same as runc's too.
#[test]
fn rshared_bind_propagates_to_the_host_as_with_runc() {
    for root_prop in [
        Some("rshared"),
        Some("shared"),
        None,
        Some("rprivate"),
        Some("rslave"),
    ] {
        let mut seen = Vec::new();
        for rt in BOTH {
            let host = SharedDir::new();
            std::fs::create_dir(host.path().join("sub")).unwrap();
            let mut c = Case::new(
                "mount -t tmpfs inner /mnt/sub && echo made && \
                 grep -E ' / | /mnt ' /proc/self/mountinfo",
            );
            c.add_caps(&["CAP_SYS_ADMIN"]);
            if let Some(p) = root_prop {
                c.b.config["linux"]["rootfsPropagation"] = json!(p);
            }
            c.b.mount(json!({
                "destination": "/mnt", "type": "bind",
                "source": host.path(), "options": ["rbind", "rshared"],
            }));
            let out = c.run_ok(rt, &unique_id(&format!("prop-{rt:?}")));
            assert!(out.starts_with("made\n"), "{rt:?}: {out}");
            let sub = host.path().join("sub");
            let on_host = propagation_of(&host_mountinfo(), sub.to_str().unwrap()).is_some();
            let view = (
                on_host,
                propagation_of(&out, "/"),
                propagation_of(&out, "/mnt"),
            );
            seen.push(view);
        }
        assert_eq!(
            seen[0], seen[1],
            "rootfsPropagation {root_prop:?}: hullrt (left) differs from runc (right)"
        );
        let want_on_host = matches!(root_prop, Some("rshared") | Some("shared"));
        assert_eq!(seen[0].0, want_on_host, "rootfsPropagation {root_prop:?}");
    }
}

/// podman's `--read-only` / `--tmpfs` mounts: a tmpfs with `tmpcopyup` starts with a copy of
/// the directory it covers (modes, owners, symlinks), and any tmpfs over a directory takes
/// that directory's mode, as under runc. `ro` applies after the copy.
#[test]
fn tmpfs_tmpcopyup_copies_what_it_covers_as_with_runc() {
    let mut c = Case::new(
        "stat -c '%n %a %u %g %F' /data /data/* /data/sub/* /plain /roc /roc/*; \
         cat /data/sub/f; touch /roc/x 2>/dev/null && echo roc-writable; \
         grep -E ' /(data|plain|roc) ' /proc/self/mountinfo | cut -d' ' -f5-",
    );
    let r = c.b.rootfs();
    for d in ["data/sub", "plain", "roc"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("data/sub/f"), "copied\n").unwrap();
    std::fs::write(r.join("roc/y"), "y\n").unwrap();
    std::os::unix::fs::symlink("sub/f", r.join("data/link")).unwrap();
    let chown = |p: &str, id: u32| {
        std::os::unix::fs::lchown(r.join(p), Some(id), Some(id + 1)).unwrap();
    };
    chown("data", 1000);
    chown("data/sub/f", 1001);
    chown("data/link", 1002);
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &str, m: u32| {
        std::fs::set_permissions(r.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    };
    chmod("data", 0o750);
    chmod("data/sub/f", 0o4755);
    chmod("plain", 0o711);
    for (dest, opts) in [
        ("/data", json!(["tmpcopyup", "nosuid"])),
        ("/plain", json!(["nosuid", "nodev"])),
        ("/roc", json!(["tmpcopyup", "ro"])),
    ] {
        c.b.mount(
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts}),
        );
    }
    let seen: Vec<String> = BOTH
        .iter()
        .map(|rt| c.run_ok(*rt, &unique_id(&format!("copyup-{rt:?}"))))
        .collect();
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    assert!(
        seen[0].contains("/data/sub/f 4755 1001 1002 regular file\n")
            && seen[0].contains("\ncopied\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains("/roc/y 644 0 0"), "{}", seen[0]);
    assert!(!seen[0].contains("roc-writable"), "{}", seen[0]);
}

/// runc's recursive options (mount_setattr with AT_RECURSIVE) reach a mount nested under an
/// rbind, where the plain forms change the top mount only; `nosymfollow` and words runc
/// does not know (passed on as data, which a bind mount ignores) are accepted alike.
#[test]
fn recursive_mount_options_reach_submounts_as_with_runc() {
    let host = SharedDir::new();
    let sub = host.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "nested"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = Case::new("cat /proc/self/mountinfo");
    let cases: &[(&str, &[&str])] = &[
        (
            "/rec",
            &["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"],
        ),
        ("/plain", &["rbind", "ro", "nosuid", "noexec"]),
        (
            "/mixed",
            &[
                "rbind",
                "rro",
                "rrw",
                "rnosymfollow",
                "nosymfollow",
                "bogus-word",
            ],
        ),
        ("/times", &["rbind", "rstrictatime", "rnodiratime"]),
    ];
    for (dest, opts) in cases {
        c.b.mount(json!({
            "destination": dest, "type": "bind", "source": host.path(), "options": opts,
        }));
    }
    let seen: Vec<Vec<Option<String>>> = BOTH
        .iter()
        .map(|rt| {
            let out = c.run_ok(*rt, &unique_id(&format!("recopt-{rt:?}")));
            cases
                .iter()
                .flat_map(|(d, _)| [d.to_string(), format!("{d}/sub")])
                .map(|p| options_of(&out, &p))
                .collect()
        })
        .collect();
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    let rec_sub = seen[0][1].as_deref().unwrap_or_default();
    assert!(
        rec_sub.starts_with("ro,nosuid,nodev,noexec,noatime "),
        "{rec_sub}"
    );
    let plain_sub = seen[0][3].as_deref().unwrap_or_default();
    assert!(plain_sub.starts_with("rw,"), "{plain_sub}");
}

/// The container's cgroups as it sees them: /proc/self/cgroup and the mounts under
/// /sys/fs/cgroup. On a hybrid host (v1 + unified at /sys/fs/cgroup/unified) it joins the
/// unified hierarchy too (`0::/PATH`), and /sys/fs/cgroup is a read-write tmpfs with the
/// hierarchies read-only, as under runc. Nothing is left in the unified hierarchy after.
#[test]
fn cgroups_seen_from_inside_as_with_runc() {
    let hybrid = host_mountinfo()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup/unified ") && l.contains(" - cgroup2 "));
    for cgroupns in [false, true] {
        let mut c = Case::new(
            "cat /proc/self/cgroup; grep ' /sys/fs/cgroup' /proc/self/mountinfo | cut -d' ' -f4-",
        );
        let mut ns = vec!["pid", "network", "ipc", "uts", "mount"];
        if cgroupns {
            ns.push("cgroup");
        }
        c.b.namespaces(&ns);
        let seen: Vec<String> = BOTH
            .iter()
            .map(|rt| {
                let path = format!("/hull-parity-{}-{rt:?}", std::process::id());
                c.b.config["linux"]["cgroupsPath"] = json!(path);
                let out = c.run_ok(*rt, &unique_id(&format!("cg-{rt:?}")));
                assert!(
                    !Path::new("/sys/fs/cgroup/unified")
                        .join(&path[1..])
                        .exists(),
                    "{rt:?} left its unified cgroup"
                );
                out.replace(&path, "/PATH")
            })
            .collect();
        assert_eq!(seen[0], seen[1], "cgroupns {cgroupns}: hullrt, runc");
        if hybrid && !cgroupns {
            assert!(seen[0].contains("\n0::/PATH\n"), "{}", seen[0]);
            assert!(seen[0].contains("/ /sys/fs/cgroup rw,"), "{}", seen[0]);
        }
    }
}

/// `update` with zeros (pids.limit, memory.limit, cpu.shares, cpu.quota, blockIO.weight)
/// leaves each limit as it was, and -1 lifts the pids limit, as runc's update does; read
/// from inside the container (v1 file names: this project's CI host runs cgroup v1).
#[test]
fn update_with_zeros_changes_nothing_as_with_runc() {
    let mut c = Case::new("sleep 60");
    c.b.namespaces(&["pid", "network", "ipc", "uts", "mount"]);
    c.b.config["linux"]["resources"] = json!({
        "pids": {"limit": 100},
        "memory": {"limit": 64 << 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    });
    let read = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes \
                /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
    let zeros = c.b.path().join("zeros.json");
    std::fs::write(
        &zeros,
        r#"{"pids": {"limit": 0}, "memory": {"limit": 0}, "cpu": {"shares": 0, "quota": 0},
            "blockIO": {"weight": 0}}"#,
    )
    .unwrap();
    let unlimited = c.b.path().join("unlimited.json");
    std::fs::write(&unlimited, r#"{"pids": {"limit": -1}}"#).unwrap();
    let mut seen = Vec::new();
    for rt in BOTH {
        let id = unique_id(&format!("upd-{rt:?}"));
        let o = c.cmd(rt, &["run", "--detach", &id]);
        assert!(o.status.success(), "{rt:?}: {o:?}");
        let inside = || {
            let o = c.cmd(rt, &["exec", &id, "sh", "-c", read]);
            assert!(o.status.success(), "{rt:?}: {o:?}");
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let before = inside();
        let step = |args: &[&str]| {
            let mut a = vec!["update"];
            a.extend(args);
            a.push(&id);
            let o = c.cmd(rt, &a);
            assert!(o.status.success(), "{rt:?} {args:?}: {o:?}");
            inside()
        };
        let after_json = step(&["-r", zeros.to_str().unwrap()]);
        let after_flags = step(&["--pids-limit", "0", "--memory", "0", "--cpu-share", "0"]);
        let after_unlimited = step(&["-r", unlimited.to_str().unwrap()]);
        assert!(c.cmd(rt, &["delete", "--force", &id]).status.success());
        assert_eq!(before, after_json, "{rt:?}");
        assert_eq!(before, after_flags, "{rt:?}");
        seen.push((before, after_unlimited));
    }
    assert_eq!(seen[0], seen[1], "hullrt, runc");
    assert!(seen[0].1.starts_with("max\n"), "{:?}", seen[0]);
}

/// Masked directories look as runc's from inside: empty, read-only, a tmpfs. hullrt binds
/// one tmpfs over all of them (README: where hullrt differs), runc mounts one each.
#[test]
fn masked_directories_are_empty_and_read_only_as_with_runc() {
    let dirs = ["/proc/acpi", "/sys/firmware"];
    if !dirs.iter().all(|d| Path::new(d).is_dir()) {
        eprintln!("SKIPPED: this host lacks {dirs:?}");
        return;
    }
    let script = "for d in /proc/acpi /sys/firmware; do \
         echo \"$d $(ls -A $d | wc -l) $(stat -f -c %T $d)\"; \
         touch $d/x 2>/dev/null && echo written || echo refused; \
         mkdir $d/y 2>/dev/null && echo made || echo refused; done; \
         stat -c %d /proc/acpi /sys/firmware | sort -u | wc -l";
    let mut seen = Vec::new();
    for rt in BOTH {
        let mut c = Case::new(script);
        c.b.config["linux"]["maskedPaths"] = json!(dirs);
        let out = c.run_ok(rt, &unique_id(&format!("mask-{rt:?}")));
        let (view, devs) = out.trim_end().rsplit_once('\n').unwrap();
        seen.push((view.to_string(), devs.to_string()));
    }
    assert_eq!(
        seen[0].0, seen[1].0,
        "hullrt (left) differs from runc (right)"
    );
    assert_eq!(
        seen[0].0,
        "/proc/acpi 0 tmpfs\nrefused\nrefused\n/sys/firmware 0 tmpfs\nrefused\nrefused"
    );
    assert_eq!(
        seen[0].1, "1",
        "hullrt: one tmpfs for every masked directory"
    );
    assert_eq!(seen[1].1, "2", "runc: a tmpfs each");
}

/// A network namespace of the container's own has its `lo` up, as runc's (its loopback
/// strategy), with a user namespace of its own too; a joined one is left as it is. Read from
/// inside: the interface's flags (IFF_UP is 0x1).
#[test]
fn a_new_network_namespace_has_lo_up_as_with_runc() {
    let script = "cat /sys/class/net/lo/flags";
    for userns in [false, true] {
        let mut c = Case::new(script);
        let mut ns = vec!["pid", "network", "ipc", "uts", "mount"];
        if userns {
            ns.push("user");
            let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            c.b.config["linux"]["uidMappings"] = map.clone();
            c.b.config["linux"]["gidMappings"] = map;
        }
        c.b.namespaces(&ns);
        let seen: Vec<String> = BOTH
            .iter()
            .map(|rt| c.run_ok(*rt, &unique_id(&format!("lo-{rt:?}"))))
            .collect();
        assert_eq!(seen[0], seen[1], "userns {userns}: hullrt, runc");
        assert_eq!(
            seen[0].trim(),
            "0x9",
            "userns {userns}: lo up (UP|LOOPBACK)"
        );
    }
    // Joined: the namespace's own state, down here, is kept by both.
    let holder = Command::new("unshare")
        .args(["--net", "sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut c = Case::new(script);
    c.b.namespaces(&["pid", "ipc", "uts", "mount"]);
    c.b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "network", "path": format!("/proc/{}/ns/net", holder.id())}));
    let seen: Vec<String> = BOTH
        .iter()
        .map(|rt| c.run_ok(*rt, &unique_id(&format!("lojoin-{rt:?}"))))
        .collect();
    let mut holder = holder;
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(seen[0], seen[1], "joined: hullrt, runc");
    assert_eq!(seen[0].trim(), "0x8", "joined: left down");
}
