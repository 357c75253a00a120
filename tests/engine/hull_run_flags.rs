//! `hull run`'s flags observed from inside the container: process, capabilities, resources,
//! filesystem, namespaces and init, seccomp and no-new-privileges, --ipc container:, --uidmap.
//! (The first container end to end, exit codes and bad input: tests/engine/hull_run.rs.)

use hull_e2e::hull::{cgroup_exists, Hull};

#[test]
fn process_flags_seen_from_inside() {
    let h = Hull::new();
    let envf = h.dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROM_FILE=yes\n").unwrap();
    let out = h.sh(
        &[
            "--hostname",
            "box1",
            "-e",
            "A=1",
            "--env-file",
            envf.to_str().unwrap(),
            "-w",
            "/tmp",
            "-u",
            "1234:5678",
        ],
        "hostname; echo $A $FROM_FILE; pwd; id -u; id -g; cat /etc/hostname",
    );
    assert_eq!(out, "box1\n1 yes\n/tmp\n1234\n5678\nbox1\n");
    let out = h.ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "busybox",
        "from",
        "entrypoint",
    ]);
    assert_eq!(out, "from entrypoint\n");
}

fn cap_eff(h: &Hull, flags: &[&str]) -> u64 {
    let out = h.sh(flags, "grep CapEff /proc/self/status");
    u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn capabilities_default_add_drop_privileged() {
    let h = Hull::new();
    // docker's 14: chown dac_override fowner fsetid kill setgid setuid setpcap
    // net_bind_service net_raw sys_chroot mknod audit_write setfcap.
    assert_eq!(cap_eff(&h, &[]), 0xa80425fb);
    let with_admin = cap_eff(&h, &["--cap-add", "SYS_ADMIN"]);
    assert_eq!(with_admin & (1 << 21), 1 << 21);
    assert_eq!(cap_eff(&h, &["--cap-drop", "CHOWN"]) & 1, 0);
    assert_eq!(cap_eff(&h, &["--cap-drop", "ALL"]), 0);
    assert!(cap_eff(&h, &["--privileged"]).count_ones() > 30);
    let devs = h.sh(&["--privileged"], "ls /dev | wc -l");
    let plain = h.sh(&[], "ls /dev | wc -l");
    assert!(devs.trim().parse::<u32>().unwrap() > plain.trim().parse::<u32>().unwrap() + 5);
}

#[test]
fn resources_seen_from_inside() {
    let h = Hull::new();
    let out = h.sh(
        &[
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "--cpu-shares",
            "512",
        ],
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
         /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares",
    );
    assert_eq!(out, "67108864\n50000\n50\n512\n");
    let out = h.sh(&["--ulimit", "nofile=512:1024"], "ulimit -n; ulimit -Hn");
    assert_eq!(out, "512\n1024\n");
    let out = h.sh(
        &["--cpuset-cpus", "0"],
        "cat /sys/fs/cgroup/cpuset/cpuset.cpus",
    );
    assert_eq!(out.trim(), "0");
    let out = h.sh(
        &["--sysctl", "net.ipv4.ip_forward=1"],
        "cat /proc/sys/net/ipv4/ip_forward",
    );
    assert_eq!(out.trim(), "1");
}

#[test]
fn filesystem_flags_seen_from_inside() {
    let h = Hull::new();
    let out = h.sh(&["--read-only", "--tmpfs", "/scratch"], "touch /x 2>/dev/null && echo wrote || echo ro; touch /scratch/y && echo tmp; grep ' /scratch ' /proc/mounts | cut -d' ' -f3");
    assert_eq!(out, "ro\ntmp\ntmpfs\n");
    let out = h.sh(&[], "grep ' /dev/shm ' /proc/mounts");
    assert!(out.contains("size=65536k"), "{out}");
    let host = h.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("from-host"), "hi\n").unwrap();
    let v = format!("{}:/data", host.display());
    let out = h.sh(
        &["-v", &v],
        "cat /data/from-host; echo back > /data/from-container",
    );
    assert_eq!(out, "hi\n");
    assert_eq!(
        std::fs::read_to_string(host.join("from-container")).unwrap(),
        "back\n"
    );
    let ro = format!("{}:/data:ro", host.display());
    assert_eq!(
        h.sh(
            &["-v", &ro],
            "touch /data/z 2>/dev/null && echo rw || echo ro"
        ),
        "ro\n"
    );
    h.sh(&["-v", "keep:/vol"], "echo persisted > /vol/f");
    assert_eq!(h.sh(&["-v", "keep:/vol"], "cat /vol/f"), "persisted\n");
    let m = format!("type=bind,source={},target=/m,readonly", host.display());
    assert_eq!(h.sh(&["--mount", &m], "cat /m/from-host"), "hi\n");
}

#[test]
fn namespaces_and_init() {
    let h = Hull::new();
    let own = h.sh(&[], "ps -o pid | wc -l");
    let host = h.sh(&["--pid", "host"], "ps -o pid | wc -l");
    assert!(
        host.trim().parse::<u32>().unwrap() > own.trim().parse::<u32>().unwrap() + 5,
        "{own} {host}"
    );
    let out = h.sh(&["--init"], "cat /proc/1/cmdline | tr '\\0' ' '");
    assert!(out.starts_with("/dev/init -- sh"), "{out}");
    let out = h.sh(&["--uts", "host"], "hostname");
    assert_eq!(
        out.trim(),
        nix::unistd::gethostname().unwrap().to_str().unwrap()
    );
    let out = h.sh(&["--network", "none"], "ls /sys/class/net");
    assert_eq!(out.trim(), "lo");
    let out = h.sh(
        &["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
        "cat /proc/self/uid_map",
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
}

#[test]
fn seccomp_default_unconfined_and_no_new_privileges() {
    let h = Hull::new();
    // unshare(CLONE_NEWUSER) is denied by docker's profile (without CAP_SYS_ADMIN).
    let o = h.run(&["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert_ne!(o.code, 0);
    let o = h.run(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "unshare",
        "-U",
        "true",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out = h.sh(
        &["--security-opt", "no-new-privileges"],
        "grep NoNewPrivs /proc/self/status",
    );
    assert!(out.contains('1'), "{out}");
    assert!(h.sh(&[], "grep Seccomp: /proc/self/status").contains('2'));
    assert!(h
        .sh(
            &["--security-opt", "seccomp=unconfined"],
            "grep Seccomp: /proc/self/status"
        )
        .contains('0'));
    let _ = cgroup_exists("");
}

/// `--ipc container:NAME` shares POSIX shared memory too, as docker's does: /dev/shm is the
/// other container's, which must be `--ipc shareable` (only its /dev/shm lives on the host);
/// joining a private one fails as docker's does. A container of its own ipc gets its own
/// /dev/shm of --shm-size, made inside its own mount namespace: no mount of it on the host.
/// Nothing of any is left after removal.
#[test]
fn ipc_container_shares_dev_shm() {
    let h = Hull::new();
    let on_host = |id: &str| {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains(id) && l.contains("/shm "))
            .count()
    };
    h.ok(&["run", "-d", "--name", "shm-p", "busybox", "sleep", "1000"]);
    h.ok(&["exec", "shm-p", "sh", "-c", "echo private > /dev/shm/seg"]);
    let (code, err) = h.fails(&["run", "--rm", "--ipc", "container:shm-p", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("can't join IPC of container shm-p: non-shareable IPC"),
        "{err}"
    );
    assert_eq!(
        h.ok(&["inspect", "-f", "{{.HostConfig.IpcMode}}", "shm-p"]),
        "private\n"
    );
    assert_eq!(
        on_host(&h.id("shm-p")),
        0,
        "a private /dev/shm is not the host's"
    );

    h.ok(&[
        "run",
        "-d",
        "--name",
        "shm-a",
        "--ipc",
        "shareable",
        "busybox",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        on_host(&h.id("shm-a")),
        1,
        "a shareable /dev/shm is on the host"
    );
    assert_eq!(
        h.ok(&["inspect", "-f", "{{.HostConfig.IpcMode}}", "shm-a"]),
        "shareable\n"
    );
    h.ok(&["exec", "shm-a", "sh", "-c", "echo from-a > /dev/shm/seg"]);
    let o = h.ok(&[
        "run",
        "--rm",
        "--ipc",
        "container:shm-a",
        "busybox",
        "sh",
        "-c",
        "cat /dev/shm/seg; echo from-b > /dev/shm/seg2",
    ]);
    assert_eq!(o, "from-a\n");
    assert_eq!(h.ok(&["exec", "shm-a", "cat", "/dev/shm/seg2"]), "from-b\n");
    let o = h.ok(&[
        "run",
        "--rm",
        "--shm-size",
        "8m",
        "busybox",
        "sh",
        "-c",
        "ls /dev/shm; df -k /dev/shm | tail -1; grep ' /dev/shm ' /proc/mounts",
    ]);
    assert!(
        !o.contains("seg"),
        "a private ipc namespace sees another /dev/shm: {o}"
    );
    assert!(o.contains(" 8192 "), "8m /dev/shm expected: {o}");
    assert!(
        o.contains("tmpfs rw,nosuid,nodev,noexec,relatime,size=8192k"),
        "{o}"
    );
    let (code, err) = h.fails(&["run", "--rm", "--pid", "shareable", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    h.ok(&["rm", "-f", "shm-a", "shm-p"]);
    h.assert_empty();
}

/// A remapped container's root owns the image's files (idmapped views of the layers under
/// its overlay): it can change /etc/passwd and write anywhere, its new files belong on the
/// host to the uid its root maps to, and the image's layers are untouched.
#[test]
fn uidmap_root_owns_the_image_files() {
    let h = Hull::new();
    let script = "ls -ln /etc/passwd | awk '{print $3\":\"$4}'; \
                  echo 'x:x:5:5::/:/bin/sh' >> /etc/passwd && tail -1 /etc/passwd; \
                  touch /bin/made && stat -c '%u:%g' /bin/made";
    let out = h.ok(&[
        "run",
        "--name",
        "mapped",
        "--uidmap",
        "0:100000:65536",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out, "0:0\nx:x:5:5::/:/bin/sh\n0:0\n");
    let id = h.id("mapped");
    let upper = h.root().join("containers").join(&id).join("upper");
    let md = std::fs::metadata(upper.join("bin/made")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((md.uid(), md.gid()), (100000, 100000));
    // The image itself is unchanged: an unmapped container sees the original file.
    let out = h.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "grep -c ^x: /etc/passwd; true",
    ]);
    assert_eq!(out.trim(), "0");
    // Its own network namespace, made in its user namespace: only lo, up.
    let out = h.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--uidmap",
        "0:100000:65536",
        "busybox",
        "sh",
        "-c",
        "ls /sys/class/net; cat /sys/class/net/lo/flags",
    ]);
    assert_eq!(out, "lo\n0x9\n");
    h.ok(&["rm", "mapped"]);
    h.assert_empty();
}
