//! Running one corpus config under a runtime: the config made runnable here (each change is a
//! normalisation listed in docs/runc-differences.md), a fresh rootfs with the probe, create +
//! start, the probe's report read back, then what only the host can see (namespace sharing,
//! cgroup limits) added to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use hull_e2e::{busybox, wait_for};

/// A runtime under test: its binary and a private state root.
pub struct Runtime {
    pub name: &'static str,
    pub bin: PathBuf,
    pub root: PathBuf,
}

/// What a runtime command gave: exit code, stdout, stderr.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Runtime {
    /// `BIN --root ROOT ARGS...` in `cwd`, its output in files (a created container would
    /// keep a pipe open).
    pub fn run(&self, cwd: &Path, args: &[&str]) -> Out {
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        self.run_to(cwd, args, &out, &err)
    }

    fn run_to(&self, cwd: &Path, args: &[&str], out: &std::fs::File, err: &std::fs::File) -> Out {
        let status = Command::new(&self.bin)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.bin.display()));
        Out {
            code: status.code().unwrap_or(-1),
            stdout: read(out),
            stderr: read(err),
        }
    }
}

/// A test that fails half-way must not leave containers behind: whatever is still in the
/// state root is force-deleted (the root is in the test's temporary directory, which goes
/// next, and a created container's init would be left waiting).
impl Drop for Runtime {
    fn drop(&mut self) {
        for e in std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = Command::new(&self.bin)
                .arg("--root")
                .arg(&self.root)
                .args(["delete", "--force"])
                .arg(e.file_name())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn read(f: &std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut f = f.try_clone().unwrap();
    let mut s = String::new();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_string(&mut s).unwrap();
    s
}

/// A process holding a network, ipc, uts and pid namespace of its own: configs that join a
/// namespace by path (another container's, `/proc/PID/ns/TYPE`) join this one instead.
pub struct Holder {
    unshare: std::process::Child,
    pub pid: u32,
}

impl Holder {
    pub fn start() -> Holder {
        let unshare = Command::new("unshare")
            .args([
                "--net", "--ipc", "--uts", "--pid", "--fork", "sleep", "100000",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare (util-linux)");
        let children = format!("/proc/{0}/task/{0}/children", unshare.id());
        let mut pid = 0;
        assert!(
            wait_for(10, || {
                pid = std::fs::read_to_string(&children)
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0);
                pid != 0
            }),
            "the namespace holder's child did not appear"
        );
        Holder { unshare, pid }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// A directory bind-mounted on itself and made shared, unmounted again by `unmount_all`.
pub struct SharedMount;

impl SharedMount {
    fn make(dir: &Path) {
        use nix::mount::{mount, MsFlags};
        mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .unwrap_or_else(|e| panic!("bind {}: {e}", dir.display()));
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("make-shared {}: {e}", dir.display()));
    }

    /// Detaches every mount under `dir` (the shared sources of a bundle).
    pub fn unmount_all(dir: &Path) {
        let dir = dir.to_str().unwrap();
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mut points: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(dir))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Destinations that clients bind a file (not a directory) onto.
const FILE_DESTINATIONS: &[&str] = &["hosts", "hostname", "resolv.conf", ".containerenv"];

/// The corpus config made runnable on this machine, and the sysctl keys the probe reads.
/// Every change here is a normalisation named in docs/runc-differences.md.
pub fn normalise(config: &Value, bundle: &Path, cgroup: &str, holder: &Holder) -> Value {
    let mut c = config.clone();
    // The harness's rootfs, with the client's read-only flag.
    c["root"]["path"] = json!("rootfs");
    // The probe instead of the client's command; no terminal (no console socket here).
    let keys: Vec<Value> = c["linux"]["sysctl"]
        .as_object()
        .map(|m| m.keys().map(|k| json!(k)).collect())
        .unwrap_or_default();
    let mut args = vec![json!("/probe")];
    args.extend(keys);
    c["process"]["args"] = Value::Array(args);
    c["process"]["terminal"] = json!(false);
    if let Some(p) = c["process"].as_object_mut() {
        p.remove("consoleSize");
    }
    // Hooks name the client's binaries: /bin/true keeps each hook and its kind.
    if let Some(hooks) = c["hooks"].as_object_mut() {
        for list in hooks.values_mut() {
            for h in list.as_array_mut().into_iter().flatten() {
                h["path"] = json!("/bin/true");
                h["args"] = json!(["true"]);
            }
        }
    }
    // Bind sources in the client's own directories: a file or directory in the bundle.
    let srcs = bundle.join("srcs");
    for (i, m) in c["mounts"].as_array_mut().into_iter().flatten().enumerate() {
        let Some(src) = m["source"].as_str() else {
            continue;
        };
        let bind = m["type"] == "bind"
            || m["options"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x == "bind" || x == "rbind"));
        if !bind || (!src.starts_with("/CAPTURE") && Path::new(src).exists()) {
            continue;
        }
        let dest = m["destination"].as_str().unwrap_or_default();
        let name = Path::new(dest).file_name().unwrap_or_default();
        let local = srcs.join(format!("{i}"));
        std::fs::create_dir_all(&srcs).unwrap();
        if FILE_DESTINATIONS.iter().any(|f| name == *f) {
            std::fs::write(&local, format!("{dest}\n")).unwrap();
        } else {
            std::fs::create_dir_all(&local).unwrap();
        }
        // A source that must propagate (docker insists on a shared mount for rshared and
        // rslave) is made a shared mount of its own, as the capture's was.
        let propagates = m["options"].as_array().is_some_and(|o| {
            o.iter().any(|x| {
                ["shared", "rshared", "slave", "rslave"].contains(&x.as_str().unwrap_or(""))
            })
        });
        if propagates {
            SharedMount::make(&local);
        }
        m["source"] = json!(local);
    }
    // A cgroup of the test's own instead of the client's parent.
    c["linux"]["cgroupsPath"] = json!(cgroup);
    // Namespaces joined by path (another container's) join the holder's.
    for ns in c["linux"]["namespaces"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if ns.get("path").is_some() {
            let kind = match ns["type"].as_str().unwrap_or_default() {
                "network" => "net",
                "mount" => "mnt",
                other => other,
            };
            ns["path"] = json!(format!("/proc/{}/ns/{kind}", holder.pid));
        }
    }
    // Limits above this machine's hard limit (raising it needs CAP_SYS_RESOURCE).
    let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(_, h)| h)
        .unwrap_or(u64::MAX);
    for r in c["process"]["rlimits"].as_array_mut().into_iter().flatten() {
        if r["type"] == "RLIMIT_NOFILE" && r["hard"].as_u64().is_some_and(|h| h > hard) {
            let soft = r["soft"].as_u64().unwrap_or(hard).min(hard);
            r["hard"] = json!(hard);
            r["soft"] = json!(soft);
        }
    }
    // Capabilities outside this process's bounding set (a sandbox may lack some).
    let bounding = own_bounding_set();
    if let Some(caps) = c["process"]["capabilities"].as_object_mut() {
        for set in caps.values_mut() {
            if let Some(list) = set.as_array_mut() {
                list.retain(|cap| {
                    cap.as_str()
                        .is_none_or(|n| bounding.contains(&n.to_string()))
                });
            }
        }
    }
    c
}

/// The capability names in this process's bounding set (CAP_CHOWN...).
fn own_bounding_set() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim();
    let mask = u64::from_str_radix(hex, 16).unwrap();
    CAP_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// The capability names by number, as the kernel numbers them.
const CAP_NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const APPLETS: &[&str] = &["sh", "true", "sleep", "cat", "ls", "id"];

/// A fresh rootfs at `bundle/rootfs`: busybox, a passwd with root and uid 1000, the probe;
/// owned by `owner` (the host ids of the container's root, as podman chowns its storage for
/// `--uidmap`).
pub fn fresh_rootfs(bundle: &Path, probe: &Path, owner: Option<(u32, u32)>) {
    let root = bundle.join("rootfs");
    let _ = std::fs::remove_dir_all(&root);
    for d in [
        "bin",
        "etc",
        "tmp",
        "proc",
        "sys",
        "dev",
        "root",
        "home/user",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(busybox(), root.join("bin/busybox")).unwrap();
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).unwrap();
    }
    std::fs::copy(probe, root.join("probe")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\nuser:x:1000:\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(&root, open.clone()).unwrap();
    std::fs::set_permissions(bundle, open).unwrap();
    if let Some((uid, gid)) = owner {
        chown_tree(&root, uid, gid);
    }
}

fn chown_tree(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
    if p.is_symlink() || !p.is_dir() {
        return;
    }
    for e in std::fs::read_dir(p).unwrap().flatten() {
        chown_tree(&e.path(), uid, gid);
    }
}

/// The host uid and gid that the config maps the container's root to, if it has a user
/// namespace with mappings.
pub fn mapped_root(config: &Value) -> Option<(u32, u32)> {
    let host = |key: &str| -> Option<u32> {
        config["linux"][key]
            .as_array()?
            .iter()
            .find(|m| m["containerID"] == 0)?["hostID"]
            .as_u64()
            .map(|h| h as u32)
    };
    Some((host("uidMappings")?, host("gidMappings")?))
}

/// `gcc -static` of probe.c into `dir/probe`.
pub fn build_probe(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/runc_diff/probe.c");
    let out = dir.join("probe");
    let o = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("gcc (scripts/deps.sh installs gcc and libc6-dev)");
    assert!(o.status.success(), "gcc -static probe.c: {o:?}");
    out
}

/// What one runtime made of one config: the probe's lines and the host's view, or the
/// failing step's exit code and message.
pub enum Report {
    Seen(Vec<String>),
    Failed {
        step: &'static str,
        code: i32,
        stderr: String,
    },
}

/// Creates and starts `id` from `bundle` under `rt`, reads the probe's report and the host's
/// view of the process, and deletes it.
pub fn replay(rt: &Runtime, bundle: &Path, id: &str, holder: &Holder) -> Report {
    // The same file names for both runtimes: the probe lists its fds.
    let out_path = bundle.join("probe.out");
    let out = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&out_path)
        .unwrap();
    let err = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(bundle.join("probe.err"))
        .unwrap();
    let b = bundle.to_str().unwrap();
    let create = rt.run_to(bundle, &["create", "--bundle", b, id], &out, &err);
    if create.code != 0 {
        rt.run(bundle, &["delete", "--force", id]);
        return Report::Failed {
            step: "create",
            code: create.code,
            stderr: create.stderr,
        };
    }
    let start = rt.run(bundle, &["start", id]);
    let done = wait_for(30, || {
        std::fs::read_to_string(&out_path).is_ok_and(|s| s.ends_with("END\n"))
    });
    let state = rt.run(bundle, &["state", id]);
    let pid = serde_json::from_str::<Value>(&state.stdout)
        .ok()
        .and_then(|s| s["pid"].as_i64())
        .unwrap_or(0);
    let mut lines: Vec<String> = std::fs::read_to_string(&out_path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    if done && pid > 0 {
        lines.extend(host_view(pid, holder));
        lines.extend(exec_view(rt, bundle, id));
    }
    rt.run(bundle, &["delete", "--force", id]);
    if start.code != 0 || !done {
        return Report::Failed {
            step: "start",
            code: start.code,
            stderr: format!("{}\nprobe said: {}", start.stderr, lines.join("\n")),
        };
    }
    Report::Seen(lines)
}

/// The probe once more, as `exec` runs it in the running container (the container's process
/// settings: user, capabilities, env, rlimits, seccomp...): its lines prefixed `exec `.
fn exec_view(rt: &Runtime, bundle: &Path, id: &str) -> Vec<String> {
    let mut args = vec!["exec", id, "/probe", "--once"];
    let config: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    let keys: Vec<String> = config["process"]["args"]
        .as_array()
        .into_iter()
        .flatten()
        .skip(1)
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    args.extend(keys.iter().map(String::as_str));
    // Its output in files of the same names for both runtimes: the probe lists its fds.
    let file = |name: &str| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(bundle.join(name))
            .unwrap()
    };
    let o = rt.run_to(bundle, &args, &file("exec.out"), &file("exec.err"));
    let mut v: Vec<String> = o.stdout.lines().map(|l| format!("exec {l}")).collect();
    if o.code != 0 {
        v.push(format!("exec failed: exit {}", o.code));
    }
    v
}

const NAMESPACES: &[&str] = &[
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// `ns: TYPE host|holder|new` for each namespace, and `cglimit: FILE=VALUE` for the limits
/// of the process's v1 cgroups (and its unified path), read from the host.
fn host_view(pid: i64, holder: &Holder) -> Vec<String> {
    let mut v = Vec::new();
    for ns in NAMESPACES {
        let of = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/{ns}")).ok();
        let theirs = of(&pid.to_string());
        let label = if theirs == of("self") {
            "host"
        } else if theirs == of(&holder.pid.to_string()) {
            "holder"
        } else {
            "new"
        };
        v.push(format!("ns: {ns} {label}"));
    }
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    for line in cgroups.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        let files: &[&str] = match ctrl {
            "memory" => &[
                "memory.limit_in_bytes",
                "memory.memsw.limit_in_bytes",
                "memory.soft_limit_in_bytes",
                "memory.swappiness",
            ],
            "pids" => &["pids.max"],
            "cpu" | "cpu,cpuacct" => &["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
            "cpuset" => &["cpuset.cpus", "cpuset.mems"],
            "devices" => &["devices.list"],
            // The unified hierarchy: a v2 host's limits (on a hybrid host it has no
            // controllers, and both runtimes show the files missing).
            "" => &[
                "memory.max",
                "memory.swap.max",
                "pids.max",
                "cpu.max",
                "cpu.weight",
            ],
            _ => &[],
        };
        let unified = Path::new("/sys/fs/cgroup/unified");
        let base = if ctrl.is_empty() && unified.exists() {
            unified.to_path_buf()
        } else {
            Path::new("/sys/fs/cgroup").join(ctrl)
        };
        for file in files {
            let p = base.join(path.trim_start_matches('/'));
            // devices.list in the order the rules were added: the set is what counts.
            let value = std::fs::read_to_string(p.join(file))
                .map(|s| {
                    let mut rules: Vec<&str> = s.lines().collect();
                    rules.sort();
                    rules.join(",")
                })
                .unwrap_or_else(|e| format!("<{e}>"));
            v.push(format!("cglimit: {file}={value}"));
        }
    }
    v
}
