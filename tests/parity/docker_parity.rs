//! hull beside docker 20.10 (Debian's docker.io): each scenario runs the same command lines
//! through a private dockerd and through hull (tests/docker_pair) and compares what a script
//! would read: exit codes, `--format` output, inspect key sets, and what the container sees
//! from inside. One dockerd serves the whole file.

use hull_e2e::docker_pair::{Parity, IMAGE};

#[test]
fn exit_codes_of_runs_and_bad_input() {
    let mut p = Parity::new();
    p.same(&["run", "--rm", IMAGE, "sh", "-c", "echo hi; exit 3"]);
    // The runtime's words decide: 127 for a missing command, 126 for a directory.
    p.same_code(&["run", "--rm", IMAGE, "/no/such"]);
    p.same_code(&["run", "--rm", IMAGE, "/tmp"]);
    // Usage errors: 125, an unknown flag before the image named as a flag.
    let [_, h] = p.same_code(&["run", "--nmae", "x", IMAGE, "true"]);
    let said = hull_e2e::docker_pair::stderr(&h);
    p.check(
        "unknown flag named",
        said.contains("unknown flag: --nmae"),
        true,
    );
    p.same_code(&["create", "--bogus", IMAGE]);
    p.same_code(&["run", "--rm", "--memory", "abc", IMAGE, "true"]);
    p.same_code(&["ps", "--bogus"]);
    p.same_code(&["inspect", "no-such-container"]);
    p.same_code(&["rm", "no-such-container"]);
    p.same_code(&["start", "no-such-container"]);
    // After the image every word is the command's, flags included.
    p.same(&["run", "--rm", IMAGE, "ls", "-d", "-a", "/"]);
    p.same(&["create", "--name", "nocmd-{e}", IMAGE, "/no/such"]);
    p.same_code(&["start", "nocmd-{e}"]);
    p.same(&["rm", "nocmd-{e}"]);
    p.done();
}

/// `run --rm FLAGS IMAGE sh -c SCRIPT` on both: the same exit code and output, read from
/// inside the container.
fn inside(p: &mut Parity, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
    p.same(&args)
}

/// The first block device of the host, for the throttles.
fn block_device() -> String {
    let o = std::process::Command::new("lsblk")
        .args(["-dnpo", "NAME,TYPE"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.ends_with(" disk"))
        .and_then(|l| l.split_whitespace().next())
        .expect("a block device")
        .to_string()
}

#[test]
fn run_flags_take_effect_inside() {
    let mut p = Parity::new();
    let got = inside(
        &mut p,
        &["--oom-score-adj", "432"],
        "cat /proc/self/oom_score_adj",
    );
    p.check("oom_score_adj", got.as_str(), "432");
    // Root's groups from the image's /etc/group, then --group-add's (a name or a number).
    let got = inside(&mut p, &[], "id -G");
    p.check("id -G", got.as_str(), "0 10 29");
    let got = inside(
        &mut p,
        &["--group-add", "user", "--group-add", "4242"],
        "id -G",
    );
    p.check("id -G with --group-add", got.as_str(), "0 10 29 1000 4242");
    let got = inside(&mut p, &["-u", "user"], "id -G");
    p.check("id -G of user", got.as_str(), "1000 29");
    let got = inside(
        &mut p,
        &["--shm-size", "8m"],
        "df -k /dev/shm | awk 'NR==2 {print $2}'",
    );
    p.check("/dev/shm size", got.as_str(), "8192");
    inside(
        &mut p,
        &["--domainname", "example.org"],
        "cat /proc/sys/kernel/domainname",
    );
    let mem = "/sys/fs/cgroup/memory";
    let got = inside(
        &mut p,
        &[
            "-m",
            "64m",
            "--memory-reservation",
            "32m",
            "--oom-kill-disable",
        ],
        &format!("cat {mem}/memory.soft_limit_in_bytes; head -1 {mem}/memory.oom_control"),
    );
    p.check("reservation", got.as_str(), "33554432\noom_kill_disable 1");
    let got = inside(
        &mut p,
        &["--cpu-quota", "50000", "--cpu-period", "200000"],
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
    );
    p.check("cfs", got.as_str(), "50000\n200000");
    let dev = block_device();
    let bps = format!("{dev}:1mb");
    let iops = format!("{dev}:300");
    let blkio = "/sys/fs/cgroup/blkio";
    inside(
        &mut p,
        &["--device-read-bps", &bps, "--device-write-iops", &iops],
        &format!(
            "cat {blkio}/blkio.throttle.read_bps_device {blkio}/blkio.throttle.write_iops_device"
        ),
    );
    // docker's --tmpfs defaults: noexec, nosuid, nodev; `exec` lifts noexec.
    let mounts = "grep ' /t' /proc/mounts | cut -d' ' -f2,4";
    inside(&mut p, &["--tmpfs", "/t"], mounts);
    inside(&mut p, &["--tmpfs", "/t:exec,size=1m"], mounts);
    inside(&mut p, &["--mount", "type=tmpfs,target=/t"], mounts);
    // Refused alike: out-of-range values, a GPU request.
    p.same_code(&["run", "--rm", "--oom-score-adj", "1001", IMAGE, "true"]);
    p.same_code(&["run", "--rm", "--blkio-weight", "5", IMAGE, "true"]);
    p.same_code(&["run", "--rm", "--cpu-period", "10", IMAGE, "true"]);
    p.same_code(&["run", "--rm", "--gpus", "all", IMAGE, "true"]);
    p.same_code(&["run", "--rm", "--platform", "linux/s390x", IMAGE, "true"]);
    p.done();
}

#[test]
fn inspect_shapes_and_formats() {
    let mut p = Parity::new();
    let labels = p.p.dir.join("labels");
    std::fs::write(&labels, "# a comment\ntier=front\nteam=core\n").unwrap();
    let labels = labels.to_str().unwrap();
    p.ok(&[
        "create",
        "--name",
        "shape-{e}",
        "-m",
        "64m",
        "--expose",
        "8080",
        "--expose",
        "9000-9001/udp",
        "--label-file",
        labels,
        "--dns",
        "10.9.9.9",
        "--add-host",
        "db:10.1.2.3",
        "--shm-size",
        "16m",
        "--oom-score-adj",
        "-200",
        "--stop-signal",
        "SIGUSR1",
        IMAGE,
        "true",
    ]);
    let fmt = |t: &str| ["inspect", "--format", t, "shape-{e}"].map(String::from);
    for t in [
        "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.ShmSize}}",
        "{{.HostConfig.OomScoreAdj}} {{.Config.StopSignal}}",
        "{{json .Config.ExposedPorts}}",
        "{{json .Config.Labels}}",
        "{{json .HostConfig.Dns}} {{json .HostConfig.ExtraHosts}}",
        "{{json .HostConfig.PortBindings}}",
        "{{.Config.Labels.nosuchkey}}",
    ] {
        let args = fmt(t);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        p.same(&args);
    }
    // Every key docker's inspect shows, hull's shows too. Network details are helper
    // net's (DnsOptions with --dns-option), the cgroup keys helper v2engine's
    // (--cgroupns, --cgroup-parent); GraphDriver is docker's storage.
    p.same_keys(
        "container inspect",
        &["inspect", "shape-{e}"],
        &[
            "NetworkSettings",
            "GraphDriver",
            "HostConfig.LogConfig.Config",
            "HostConfig.Cgroup",
            "HostConfig.DnsOptions",
        ],
    );
    p.same(&["rm", "shape-{e}"]);
    p.done();
}

#[test]
fn exec_gets_the_users_groups() {
    let mut p = Parity::new();
    p.ok(&["run", "-d", "--name", "groups-{e}", IMAGE, "sleep", "600"]);
    let got = p.same(&["exec", "groups-{e}", "id", "-G"]);
    p.check("exec id -G", got.as_str(), "0 10 29");
    let got = p.same(&["exec", "-u", "user", "groups-{e}", "id", "-G"]);
    p.check("exec -u user id -G", got.as_str(), "1000 29");
    p.same_code(&["rm", "-f", "groups-{e}"]);
    p.done();
}

#[test]
fn run_pulls_a_missing_image() {
    let mut p = Parity::new();
    let dir = tempfile::tempdir().unwrap();
    let reg = hull_e2e::registry::Registry::start(dir.path(), "");
    let name = reg.name("parity/app:1");
    // docker pushes the image (a loopback registry is plain http to both), then forgets it.
    let d = |args: &[&str]| {
        let o = p.p.run("docker", args);
        assert!(o.status.success(), "docker {args:?}: {o:?}");
    };
    d(&["tag", IMAGE, &name]);
    d(&["push", &name]);
    d(&["rmi", &name]);
    p.same_code(&["run", "--rm", "--pull", "never", &name, "true"]);
    p.same_code(&["run", "--rm", "--pull", "sometimes", &name, "true"]);
    let [d, h] = p.same_code(&["run", "--rm", &name, "echo", "pulled"]);
    for (e, o) in [("docker", &d), ("hull", &h)] {
        let err = hull_e2e::docker_pair::stderr(o);
        p.check(
            &format!("{e} says it pulls"),
            err.contains("Unable to find image") && err.contains("Downloaded newer image"),
            true,
        );
        p.check(
            &format!("{e}'s output"),
            hull_e2e::docker_pair::stdout(o),
            "pulled".into(),
        );
    }
    // Present now: no pull; -q keeps a pull quiet.
    let [d, h] = p.same_code(&["run", "--rm", &name, "true"]);
    p.check("no pull", (d.stderr.len(), h.stderr.len()), (0, 0));
    // -q (newer docker's; 20.10 has none) keeps a pull quiet.
    let h = p.p.run(
        "hull",
        &["run", "--rm", "-q", "--pull", "always", &name, "true"],
    );
    p.check(
        "hull run -q --pull always",
        (h.status.code(), h.stderr.len()),
        (Some(0), 0),
    );
    // --cidfile: the id written; an existing file refused before anything is made.
    let cid = |e: &str| format!("{}/cid-{e}", dir.path().display());
    p.same(&[
        "create",
        "--cidfile",
        &cid("{e}"),
        "--name",
        "cid-{e}",
        IMAGE,
    ]);
    let ids = p.ok(&["inspect", "--format", "{{.Id}}", "cid-{e}"]);
    for (e, id) in ["docker", "hull"].iter().zip(ids) {
        p.check(
            &format!("{e}'s cidfile"),
            std::fs::read_to_string(cid(e)).unwrap(),
            id,
        );
    }
    p.same_code(&["create", "--cidfile", &cid("{e}"), IMAGE]);
    p.same(&["rm", "cid-{e}"]);
    // docker also prints the pulled digest's Untagged line (hull's rmi does not yet).
    p.same_code(&["rmi", &name]);
    p.done();
}

#[test]
fn load_over_a_tag_and_volume_create_again() {
    let mut p = Parity::new();
    let dir = tempfile::tempdir().unwrap();
    // Two images of one name: the second load re-points the tag.
    for (i, cmd) in ["sh", "true"].iter().enumerate() {
        let d = dir.path().join(i.to_string());
        std::fs::create_dir(&d).unwrap();
        let root = hull_e2e::image::rootfs(&d);
        let config = serde_json::json!({"Env": ["PATH=/bin"], "Cmd": [cmd]});
        let archive = hull_e2e::image::image_archive(&d, "hull.test/retag:1", &root, config);
        p.same(&["load", "-i", archive.to_str().unwrap()]);
    }
    p.same(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Cmd}}",
        "hull.test/retag:1",
    ]);
    p.same_code(&["rmi", "hull.test/retag:1"]);
    // A volume created again: the same, or with other options.
    p.same(&["volume", "create", "again-{e}"]);
    p.same(&["volume", "create", "again-{e}"]);
    p.same_code(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "again-{e}",
    ]);
    p.same_code(&["volume", "create", "--label", "a=b", "again-{e}"]);
    p.same(&["volume", "rm", "again-{e}"]);
    p.done();
}

/// `--ipc`: a container's own ipc namespace is private unless asked `shareable`; joining a
/// private one fails (at start, exit 125), a shareable one shares its /dev/shm; `shareable`
/// is for `--ipc` alone.
#[test]
fn ipc_modes_private_and_shareable() {
    let mut p = Parity::new();
    p.ok(&["run", "-d", "--name", "ipc-p-{e}", IMAGE, "sleep", "1000"]);
    p.ok(&[
        "run",
        "-d",
        "--name",
        "ipc-s-{e}",
        "--ipc",
        "shareable",
        IMAGE,
        "sleep",
        "1000",
    ]);
    p.same(&[
        "inspect",
        "-f",
        "{{.HostConfig.IpcMode}}",
        "ipc-p-{e}",
        "ipc-s-{e}",
    ]);
    p.same(&["exec", "ipc-s-{e}", "sh", "-c", "echo seg > /dev/shm/seg"]);
    inside(
        &mut p,
        &["--ipc", "container:ipc-s-{e}"],
        "cat /dev/shm/seg",
    );
    p.same_code(&["run", "--rm", "--ipc", "container:ipc-p-{e}", IMAGE, "true"]);
    p.same_code(&["run", "--rm", "--pid", "shareable", IMAGE, "true"]);
    // The private one's /dev/shm as the container sees it.
    inside(
        &mut p,
        &["--shm-size", "8m"],
        "grep ' /dev/shm ' /proc/mounts; df -k /dev/shm | awk 'NR==2 {print $2}'",
    );
    p.same(&["rm", "-f", "ipc-p-{e}", "ipc-s-{e}"]);
    p.done();
}

/// `--network none`: a namespace of the container's own with only `lo`, up, as docker's
/// (hull has the runtime make it; nothing of it is mounted on the host).
#[test]
fn network_none_has_only_lo_up() {
    let mut p = Parity::new();
    let got = inside(
        &mut p,
        &["--network", "none"],
        "ls /sys/class/net; cat /sys/class/net/lo/flags",
    );
    p.check("--network none", got.as_str(), "lo\n0x9");
    p.ok(&[
        "run",
        "-d",
        "--name",
        "none-{e}",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "100",
    ]);
    let [_, hull_id] = p.ok(&["inspect", "-f", "{{.Id}}", "none-{e}"]);
    let pinned = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(hull_id.trim()) && l.contains(" nsfs "));
    p.check("a pinned namespace on the host", pinned, false);
    p.same(&["rm", "-f", "none-{e}"]);
    p.done();
}
