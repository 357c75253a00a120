//! config.json for a set of run configs, compared with golden files captured from the code as
//! it was before the spec became typed (`testdata/<case>.json`): a change in how the spec is
//! built must leave the document the runtime reads the same. Key order aside (the files are
//! compared as JSON values). `HULL_UPDATE_GOLDEN=1 cargo test -p hull-engine golden` rewrites
//! them; a diff in git then shows what changed.
//!
//! Each case is a run config in the shape hull stored it before the state's typed schema
//! (`state::config::upgrade` brings it to today's), so the same inputs hold across that change.
//! Host-dependent strings are replaced before the comparison: the temporary directory by
//! `@T@`, the helper process's pid by `@PID@`, the test binary by `@HULL@`, and a seccomp
//! profile equal to the plain case's by `@PLAIN_SECCOMP@`; capability sets are sorted. Not covered: the block IO device
//! limits (they need a block device, whose numbers differ between machines).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use serde_json::{json, Value};

use super::{generate, Ctx};
use crate::container::{Container, Status};
use crate::pod::store::{self as pods, Pod};
use crate::Paths;

/// The container every case generates for.
const ID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
/// A pod and a running container the cases join (their pid is the helper's).
const POD: &str = "90d0000090d0000090d0000090d0000090d0000090d0000090d0000090d00000";
const TARGET: &str = "7a7e000e7a7e000e7a7e000e7a7e000e7a7e000e7a7e000e7a7e000e7a7e000e";
const ANON: &str = "d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b";

fn cases() -> Vec<(&'static str, Value)> {
    let cgroupfs = json!({"cgroup": {"manager": "cgroupfs", "ns": "host"}});
    vec![
        (
            "plain",
            json!({"cmd": ["sh"], "env": ["PATH=/usr/bin:/bin"], "extra": cgroupfs}),
        ),
        (
            "privileged",
            json!({"cmd": ["sh"], "privileged": true, "extra": cgroupfs}),
        ),
        (
            "user_caps_init_tty",
            json!({"entrypoint": ["/bin/app"], "cmd": ["--serve"], "user": "app",
                   "working_dir": "/srv", "tty": true, "init": true, "hostname": "web",
                   "domainname": "example.org", "cap_add": ["NET_ADMIN"], "cap_drop": ["MKNOD"],
                   "no_new_privileges": true, "extra": cgroupfs}),
        ),
        (
            "userns_maps",
            json!({"cmd": ["id"], "uidmap": ["0:100000:65536"], "gidmap": ["0:200000:65536"],
                   "network_mode": "none", "extra": cgroupfs}),
        ),
        (
            "userns_uid_only_bridge",
            json!({"cmd": ["id"], "userns": "private", "uidmap": ["0:100000:1000", "1000:1000:1"],
                   "extra": cgroupfs}),
        ),
        (
            "volumes_each_kind",
            json!({"cmd": ["ls"], "mounts": [
                {"kind": "volume", "source": "data", "target": "/data", "read_only": false,
                 "propagation": null, "options": []},
                {"kind": "volume", "source": ANON, "target": "/anon", "read_only": false,
                 "propagation": null, "options": []},
                {"kind": "bind", "source": "/srv/host", "target": "/host", "read_only": true,
                 "propagation": null, "options": []},
                {"kind": "bind", "source": "/mnt", "target": "/mnt", "read_only": false,
                 "propagation": "rshared", "options": []},
                {"kind": "tmpfs", "source": "", "target": "/scratch", "read_only": false,
                 "propagation": null, "options": ["size=64m", "exec"]},
                {"kind": "tmpfs", "source": "", "target": "/ro", "read_only": true,
                 "propagation": null, "options": ["mode=0700"]}
            ], "extra": cgroupfs}),
        ),
        (
            "read_only_tmpfs_etc_files",
            json!({"cmd": ["sh"], "read_only": true, "mounts": [
                {"kind": "tmpfs", "source": "", "target": "/tmp", "read_only": false,
                 "propagation": null, "options": []}
            ], "extra": cgroupfs}),
        ),
        (
            "network_host_ipc_host_pid_host_uts_host",
            json!({"cmd": ["sh"], "network_mode": "host", "ipc_mode": "host", "pid_mode": "host",
                   "uts_mode": "host", "extra": cgroupfs}),
        ),
        (
            "network_none",
            json!({"cmd": ["sh"], "network_mode": "none", "extra": cgroupfs}),
        ),
        (
            "network_user_bridge",
            json!({"cmd": ["sh"], "network_mode": "appnet", "extra": {
                "cgroup": {"manager": "cgroupfs", "ns": "host"},
                "net": {"add_hosts": [], "aliases": ["web"], "dns": [], "dns_options": [],
                        "dns_search": [], "exposed": [], "hostname": "", "ip": null, "mac": null,
                        "networks": ["appnet"], "publish": [], "publish_all": false}}}),
        ),
        (
            "container_modes",
            json!({"cmd": ["sh"], "network_mode": format!("container:{TARGET}"),
                   "ipc_mode": format!("container:{TARGET}"),
                   "pid_mode": format!("container:{TARGET}"),
                   "uts_mode": format!("container:{TARGET}"), "extra": cgroupfs}),
        ),
        (
            "pod_member",
            json!({"cmd": ["sleep", "1000"], "hostname": "shophost",
                   "ipc_mode": format!("pod:{POD}"), "uts_mode": format!("pod:{POD}"),
                   "network_mode": format!("pod:{POD}"),
                   "extra": {"cgroup": {"manager": "cgroupfs", "ns": "host",
                                        "parent": format!("/hull/pod-{POD}")},
                             "pod": {"id": POD, "name": "shop"}}}),
        ),
        (
            "faketime",
            json!({"cmd": ["date"], "extra": {"Clock": {"Faketime": "@2020-12-24 20:30:00"},
                                              "cgroup": {"manager": "cgroupfs", "ns": "host"}}}),
        ),
        (
            "tuning_limits",
            json!({"cmd": ["sh"], "memory": 67108864, "memory_swap": 134217728,
                   "nano_cpus": 1500000000, "cpu_shares": 512, "cpuset_cpus": "0",
                   "pids_limit": 50,
                   "ulimits": [{"name": "nofile", "soft": 100, "hard": 200}],
                   "sysctls": {"net.ipv4.ip_forward": "1", "kernel.msgmax": "65536"},
                   "tuning": {"oom_score_adj": 100, "group_add": ["2000", "wheel"],
                              "shm_size": 33554432, "memory_reservation": 33554432,
                              "oom_kill_disable": true, "cpu_quota": 50000,
                              "cpu_period": 100000, "cpu_rt_runtime": 0, "cpu_rt_period": 0,
                              "blkio_weight": 300,
                              "device_read_bps": [], "device_write_bps": [],
                              "device_read_iops": [], "device_write_iops": []},
                   "extra": {"cgroup": {"manager": "systemd", "ns": "private",
                                        "parent": "app.slice"}}}),
        ),
        (
            "devices_seccomp_unconfined",
            json!({"cmd": ["sh"], "seccomp": "unconfined", "devices": [
                {"host": "/dev/null", "container": "/dev/mynull", "permissions": "rw"},
                {"host": "/dev/zero", "container": "/dev/zero", "permissions": "rwm"}
            ], "extra": cgroupfs}),
        ),
        (
            "restart_stop_log",
            json!({"cmd": ["sh"], "restart": {"name": "on-failure", "max_retries": 3},
                   "stop_signal": "SIGINT", "stop_timeout": 3, "log_driver": "none",
                   "auto_remove": false, "extra": cgroupfs}),
        ),
    ]
}

/// A temporary state with the rows and files the cases refer to: a pod whose infra is the
/// helper process (a copy of sleep named hull-pause, as `pod::infra::pid` checks), a running
/// container `TARGET`, a rootfs with users and groups, /etc files in the container's dir.
struct World {
    dir: tempfile::TempDir,
    paths: Paths,
    conn: rusqlite::Connection,
    helper: Child,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        let conn = crate::state::open(&paths.db()).unwrap();
        let pause = dir.path().join("hull-pause");
        std::fs::copy(sleep_binary(), &pause).unwrap();
        let helper = Command::new(&pause).arg("1000").spawn().unwrap();
        let pid = helper.id() as i32;
        let infra = crate::pod::infra::dir(&paths, POD);
        std::fs::create_dir_all(&infra).unwrap();
        std::fs::write(infra.join("infra.pid"), pid.to_string()).unwrap();
        pods::insert(&conn, &pod()).unwrap();
        let mut target = container(TARGET, "target", Value::Null);
        target.status = Status::Running;
        target.pid = pid;
        // A donor of its ipc namespace must be shareable, as docker's.
        target.config.ipc_mode = crate::container::config::NsMode::Shareable;
        crate::container::insert(&conn, &target).unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            rootfs.join("etc/group"),
            "root:x:0:\nwheel:x:10:root,app\napp:x:1000:\nextra:x:2000:app\n",
        )
        .unwrap();
        World {
            dir,
            paths,
            conn,
            helper,
        }
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn generate(&self, case: &str, cfg: Value) -> Value {
        let c = container(ID, "golden", cfg);
        let cdir = self.paths.container_dir(ID);
        let _ = std::fs::remove_dir_all(&cdir);
        if case == "read_only_tmpfs_etc_files" {
            std::fs::create_dir_all(&cdir).unwrap();
            for f in ["hostname", "hosts", "resolv.conf"] {
                std::fs::write(cdir.join(f), "").unwrap();
            }
        }
        let ctx = Ctx {
            paths: &self.paths,
            conn: &self.conn,
            c: &c,
            rootfs: self.rootfs(),
            init: Some(PathBuf::from("/usr/libexec/hull/init")),
        };
        let spec = generate(&ctx).unwrap_or_else(|e| panic!("{case}: {e}"));
        let text = serde_json::to_string(&spec).unwrap();
        let exe = std::env::current_exe().unwrap();
        let text = text
            .replace(&self.dir.path().display().to_string(), "@T@")
            .replace(&exe.display().to_string(), "@HULL@")
            .replace(&format!("/proc/{}/", self.helper.id()), "/proc/@PID@/");
        let mut spec: Value = serde_json::from_str(&text).unwrap();
        // Capability sets have no order (the privileged set comes out of a hash set).
        if let Some(caps) = spec["process"]["capabilities"].as_object_mut() {
            for set in caps.values_mut().filter_map(Value::as_array_mut) {
                set.sort_by_key(|c| c.as_str().unwrap_or_default().to_string());
            }
        }
        spec
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.helper.kill();
        let _ = self.helper.wait();
    }
}

fn sleep_binary() -> &'static Path {
    ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("sleep")
}

fn pod() -> Pod {
    let plan: crate::pod::plan::PodPlan = serde_json::from_value(json!({
        "name": "shop", "hostname": "shophost",
        "share": {"uts": true, "ipc": true, "net": true, "pid": false}
    }))
    .unwrap();
    Pod {
        id: POD.into(),
        name: "shop".into(),
        hostname: "shophost".into(),
        share: plan.share,
        infra_id: String::new(),
        cgroup_parent: format!("/hull/pod-{POD}"),
        labels: BTreeMap::new(),
        created: "2026-12-02T05:03:45.459312301Z".into(),
        plan,
        kube_source: String::new(),
    }
}

fn container(id: &str, name: &str, stored_config: Value) -> Container {
    let config = if stored_config.is_null() {
        Default::default()
    } else {
        serde_json::from_value(crate::state::config::upgrade(stored_config)).unwrap()
    };
    let mut c = Container::new(
        id.into(),
        name.into(),
        "sha256:1".into(),
        "busybox".into(),
        config,
    );
    // Fixed, as the golden files were written with it (new() says now).
    c.created = "2026-12-02T05:03:46.178550782Z".into();
    c
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bundle/spec/testdata")
}

#[test]
fn config_json_matches_the_golden_files() {
    let world = World::new();
    let update = std::env::var_os("HULL_UPDATE_GOLDEN").is_some();
    let mut plain_seccomp = Value::Null;
    let mut failures = Vec::new();
    for (case, cfg) in cases() {
        let mut spec = world.generate(case, cfg);
        if case == "plain" {
            plain_seccomp = spec["linux"]["seccomp"].clone();
            assert!(
                plain_seccomp.is_object(),
                "the plain case has docker's profile"
            );
        } else if spec["linux"]["seccomp"] == plain_seccomp {
            spec["linux"]["seccomp"] = json!("@PLAIN_SECCOMP@");
        }
        let file = golden_dir().join(format!("{case}.json"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            let text = serde_json::to_string_pretty(&spec).unwrap() + "\n";
            std::fs::write(&file, text).unwrap();
            continue;
        }
        let mut want: Value = serde_json::from_str(
            &std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        )
        .unwrap();
        if case == "privileged" {
            // A privileged container gets the host's devices: the list is this host's /dev,
            // which the golden file (written on another host) need not match. It is checked
            // against /dev itself, and against the golden file for the devices both have.
            let got = spec["linux"]["devices"].take();
            let old = want["linux"]["devices"].take();
            failures.extend(check_host_devices(&got, &old));
        }
        if spec != want {
            failures.push(format!(
                "{case}: config.json differs from {}:\n{}",
                file.display(),
                serde_json::to_string_pretty(&spec).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A privileged spec's `linux.devices` (`got`) against the host: every entry is a device
/// node at its path with its type and numbers, no device of `/dev`'s top level is missing,
/// and each entry of the golden list (`golden`) still on this host is there.
fn check_host_devices(got: &Value, golden: &Value) -> Vec<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut fails = Vec::new();
    let got = got.as_array().cloned().unwrap_or_default();
    let paths: std::collections::BTreeSet<String> = got
        .iter()
        .filter_map(|d| d["path"].as_str().map(String::from))
        .collect();
    for d in &got {
        let path = d["path"].as_str().unwrap_or_default();
        let Ok(md) = std::fs::symlink_metadata(path) else {
            fails.push(format!("privileged: device {path} is not on the host"));
            continue;
        };
        let ft = md.file_type();
        let typ = if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else {
            fails.push(format!("privileged: {path} is not a device node"));
            continue;
        };
        let (major, minor) = (libc_major(md.rdev()), libc_minor(md.rdev()));
        if d["type"] != typ || d["major"] != major || d["minor"] != minor {
            fails.push(format!(
                "privileged: {path} is {typ} {major}:{minor} on the host, the spec says {d}"
            ));
        }
    }
    for entry in std::fs::read_dir("/dev").unwrap().flatten() {
        let p = entry.path();
        let is_dev = std::fs::symlink_metadata(&p)
            .map(|m| m.file_type().is_char_device() || m.file_type().is_block_device())
            .unwrap_or(false);
        // The terminal devices are the container's own, not the host's.
        let own = ["/dev/console", "/dev/ptmx", "/dev/tty"].contains(&p.to_str().unwrap_or(""));
        if is_dev && !own && !paths.contains(&p.display().to_string()) {
            fails.push(format!(
                "privileged: host device {} is missing",
                p.display()
            ));
        }
    }
    for d in golden.as_array().into_iter().flatten() {
        let path = d["path"].as_str().unwrap_or_default();
        if std::path::Path::new(path).exists() && !got.contains(d) {
            fails.push(format!(
                "privileged: golden device {d} differs or is missing"
            ));
        }
    }
    fails
}

fn libc_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)
}

fn libc_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0xff)
}
