//! The fault-injection harness (issue 16): hull commands run against one private state while
//! `hull`, a container's `hull-monitor` or `hullrt` is killed with SIGKILL at a random instant;
//! after each kill the invariants are checked:
//! - every container's recorded state matches reality (its init and its cgroup);
//! - after `hull system check --repair`, `system check` finds nothing, and a second
//!   `--repair` changes nothing; no mount, bundle, runtime state, pinned namespace or cgroup
//!   of a container that does not run is left, nor a bridge claim of a network that does not
//!   exist (leases, ports, veths and nft rules: system check's own report);
//! - `PRAGMA integrity_check` is ok; the data in a volume is never lost;
//! - every container can still be stopped, started and removed (every 10 kills, and at the end).
//! - the image `pull` fetches (from a private registry on loopback) is listed whole or not at
//!   all; after a kill during `pull`, a pull again succeeds, and once the image is removed
//!   the content store holds no blob or layer it did not hold before the first pull.
//!
//! The instant of a kill is meant to fall while the command runs: one step in three of a
//! command that passes fault points (hull_sys::fault_point) stops the command, its monitor
//! or its hullrt at one of them, drawn by the seed, and kills that process there; the others
//! kill after a delay drawn from [0, the last measured duration of that kind of command).
//! Each kill's line says whether it landed while the command ran; the last line counts them.
//!
//! Seeded and reproducible in what it runs and where it stops: the seed is printed, and
//! `HULL_FAULTS_SEED=N` runs the same sequence (delays scale with measured durations, so a
//! delayed kill lands near, not exactly on, the same instruction). `HULL_FAULTS_KILLS` sets
//! the number of steps (CI: 20; scripts/fault-inject.sh runs thousands), and
//! `HULL_FAULTS_MINUTES` ends a long run after that long.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hull_e2e::hull::Hull;
use hull_e2e::{cgroup_procs, kill9, proc_state};

/// xorshift64*: small, seeded, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn name(&mut self, prefix: &str, n: u64) -> String {
        format!("{prefix}{}", self.below(n))
    }
}

const KUBE: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME}\nspec:\n  containers:\n  \
    - name: main\n    image: busybox\n    command: [sleep, '1000']\n";

/// The command of one step, chosen by the seed.
fn pick_op(r: &mut Rng, dir: &Path, archive: &str, pulled: &str) -> Vec<String> {
    let c = r.name("c", 4);
    let n = r.name("n", 3);
    let p = r.name("p", 2);
    let v = r.name("v", 3);
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match r.below(18) {
        0 | 1 => s(&[
            "run",
            "-d",
            "--name",
            &c,
            "-v",
            "keep:/data",
            "busybox",
            "sleep",
            "1000",
        ]),
        2 => s(&["run", "--rm", "busybox", "true"]),
        3 => s(&["rm", "-f", &c]),
        4 => s(&["start", &c]),
        5 => s(&["stop", "-t", "1", &c]),
        6 => s(&["network", "create", &n]),
        7 => s(&["network", "rm", &n]),
        8 => s(&["network", "connect", &n, &c]),
        9 => s(&["pod", "create", "--name", &p]),
        10 => s(&["pod", "rm", "-f", &p]),
        11 | 12 => {
            let k = r.name("k", 2);
            let f = dir.join(format!("{k}.yaml"));
            std::fs::write(&f, KUBE.replace("NAME", &k)).unwrap();
            let verb = if r.below(2) == 0 { "play" } else { "down" };
            s(&["kube", verb, &f.display().to_string()])
        }
        13 => s(&["load", "-i", archive]),
        14 => s(&["volume", "create", &v]),
        15 => s(&["volume", "rm", &v]),
        16 => s(&["pull", "-q", "--tls-verify=false", pulled]),
        _ => s(&[
            "run",
            "-d",
            "--pod",
            &p,
            "--name",
            &format!("p{c}"),
            "busybox",
            "sleep",
            "1000",
        ]),
    }
}

/// Processes whose command line names this state (hull, its hooks, monitors, hullrt).
fn ours(h: &Hull, exe: &str) -> Vec<i32> {
    let root = h.dir.path().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            let first = cmd.split('\0').next().unwrap_or("");
            first.ends_with(exe) && cmd.contains(&root) && proc_state(*pid) != Some('Z')
        })
        .collect()
}

/// Kills the victim of this step, the command still running: hull itself, one of our
/// monitors, or hullrt.
fn kill_victim(h: &Hull, victim: u64, pick: u64, child: &mut Child) -> &'static str {
    let kill_one = |exe: &str| {
        let v = ours(h, exe);
        if v.is_empty() {
            return false;
        }
        kill9(v[(pick % v.len() as u64) as usize]);
        true
    };
    // hullrt lives a few milliseconds: the first one of this state that runs while the
    // command does (if any, within 500 ms) is the victim.
    let rt = victim == 1 && {
        let end = Instant::now() + Duration::from_millis(500);
        loop {
            if kill_one("/hullrt") {
                break true;
            }
            if Instant::now() > end || child.try_wait().is_ok_and(|s| s.is_some()) {
                break false;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    };
    match victim {
        _ if rt => "hullrt",
        0 if kill_one("/hull-monitor") => "hull-monitor",
        _ => {
            if child.try_wait().is_ok_and(|s| s.is_none()) {
                kill9(child.id() as i32);
            }
            "hull"
        }
    }
}

/// The kind of a command, for its measured duration: the verb, and the sub-verb or the
/// flag that changes what it does.
fn kind(args: &[String]) -> String {
    match args[0].as_str() {
        "network" | "pod" | "kube" | "volume" | "run" => format!("{} {}", args[0], args[1]),
        v => v.to_string(),
    }
}

/// A start's points (`hull-start-created` is only passed with a terminal, which no step has).
const START: [&str; 3] = [
    "hull-start-prepare",
    "hull-start-started",
    "hullrt-create-ready",
];

/// The fault points (hull_sys::fault_point) a command of this kind can pass.
fn points(args: &[String]) -> Vec<&'static str> {
    let more: &[&str] = match (args[0].as_str(), args[1].as_str()) {
        ("run", "--rm") => &["hull-rm-files"],
        ("run", _) | ("start", _) => &[],
        ("rm", _) | ("pod", "rm") | ("kube", "down") => return vec!["hull-rm-files"],
        ("stop", _) => return vec!["hull-stop-signalled"],
        ("load", _) | ("pull", _) => return vec!["hull-layer-renamed"],
        ("network", "create") => {
            return vec!["hull-network-create-up", "hull-network-create-commit"]
        }
        ("network", "rm") => return vec!["hull-network-rm-down"],
        ("pod", "create") => return vec!["hull-pod-infra-created", "hullrt-create-ready"],
        ("kube", "play") => &["hull-pod-infra-created"],
        _ => return Vec::new(),
    };
    START.iter().chain(more).copied().collect()
}

/// The process of this step stopped at its fault point, if one did before the command ended.
fn stopped_at_point(point: &str, tag: &str, child: &mut Child) -> Option<i32> {
    let want = [
        format!("HULL_FAULT_STOP={point}"),
        format!("HULL_FAULT_TAG={tag}"),
    ];
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(pid) = tagged(&want)
            .into_iter()
            .find(|p| proc_state(*p) == Some('T'))
        {
            return Some(pid);
        }
        if child.try_wait().is_ok_and(|s| s.is_some()) || Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Processes whose environment holds every one of `want`.
fn tagged(want: &[String]) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
                want.iter().all(|w| vars.contains(&w.as_bytes()))
            })
        })
        .collect()
}

/// What a process is, by its program's name.
fn exe_name(pid: i32) -> &'static str {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let first = String::from_utf8_lossy(cmd.split(|&b| b == 0).next().unwrap_or(&[])).into_owned();
    if first.ends_with("/hullrt") {
        "hullrt"
    } else if first.ends_with("/hull-monitor") {
        "hull-monitor"
    } else {
        "hull"
    }
}

/// How one step's kill went.
struct Kill {
    victim: &'static str,
    /// Where: a fault point, or the delay after the command started.
    at: String,
    /// Whether the command still ran when the victim was killed.
    landed: bool,
}

/// Runs one step: the command, and a kill while it runs. With a fault point, the process
/// that stops there is killed; else, after a delay drawn from [0, the last measured
/// duration of this kind of command), so that the kill lands while the command runs.
fn step(
    h: &Hull,
    r: &mut Rng,
    args: &[String],
    took: &mut std::collections::HashMap<String, Duration>,
) -> Kill {
    let pts = points(args);
    let point =
        (!pts.is_empty() && r.below(3) == 0).then(|| pts[r.below(pts.len() as u64) as usize]);
    let frac = r.below(1000) as u32;
    let victim = r.below(4);
    let pick = r.next();
    let tag = format!("faults-{}", r.next());
    let mut cmd = h.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    if let Some(p) = point {
        cmd.env("HULL_FAULT_STOP", p).env("HULL_FAULT_TAG", &tag);
    }
    let begun = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let k = kind(args);
    let kill = if let Some(p) = point {
        match stopped_at_point(p, &tag, &mut child) {
            Some(pid) => {
                let victim = exe_name(pid);
                kill9(pid);
                Kill {
                    victim,
                    at: format!("at {p}"),
                    landed: true,
                }
            }
            None => Kill {
                victim: "nothing",
                at: format!("at {p} (not reached)"),
                landed: false,
            },
        }
    } else {
        let est = *took.get(&k).unwrap_or(&Duration::from_millis(400));
        let delay = est * frac / 1000;
        let until = begun + delay;
        let mut ended = None;
        while Instant::now() < until {
            if child.try_wait().is_ok_and(|s| s.is_some()) {
                ended = Some(begun.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        match ended {
            Some(d) => Kill {
                victim: "nothing",
                at: format!("after {delay:?} (it had ended after {d:?})"),
                landed: false,
            },
            None => {
                let victim = kill_victim(h, victim, pick, &mut child);
                let landed = child.try_wait().is_ok_and(|s| {
                    s.is_none_or(|s| std::os::unix::process::ExitStatusExt::signal(&s) == Some(9))
                });
                Kill {
                    victim,
                    at: format!("after {delay:?}"),
                    landed,
                }
            }
        }
    };
    let st = child.wait();
    let killed = st.is_ok_and(|s| std::os::unix::process::ExitStatusExt::signal(&s) == Some(9));
    if point.is_none() && !killed {
        // The command ran to its end (its monitor or hullrt killed, or not): how long it took.
        took.insert(k, begun.elapsed().min(Duration::from_secs(30)));
    }
    // A process of this step that reached its fault point after the kill (a monitor's exit
    // hook, a second pass) is let go.
    if point.is_some() {
        for pid in tagged(&[format!("HULL_FAULT_TAG={tag}")]) {
            if proc_state(pid) == Some('T') {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGCONT,
                );
            }
        }
    }
    kill
}

/// Waits until no hull or hullrt process of this state runs (monitors, the networks' DNS
/// responders, containers and created containers' inits aside).
fn quiesce(h: &Hull) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let mut busy: Vec<i32> = ours(h, "/hull")
            .into_iter()
            .filter(|p| {
                !std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("dns-serve"))
            })
            .collect();
        // A created container's init (a pod's infra whose start was killed) is a clone of
        // hullrt waiting on its exec fifo: a container, not a running command.
        busy.extend(ours(h, "/hullrt").into_iter().filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() != "hull:[init]")
        }));
        if busy.is_empty() {
            return Ok(());
        }
        // A process of an earlier step's that reached its fault point after the kill (a
        // monitor's exit hook inherits the point) goes on.
        for p in &busy {
            let env = std::fs::read(format!("/proc/{p}/environ")).unwrap_or_default();
            if proc_state(*p) == Some('T')
                && env
                    .split(|&b| b == 0)
                    .any(|v| v.starts_with(b"HULL_FAULT_STOP="))
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*p),
                    nix::sys::signal::Signal::SIGCONT,
                );
            }
        }
        if Instant::now() > end {
            let what: Vec<String> = busy.iter().map(|p| describe(*p)).collect();
            return Err(format!(
                "hull processes still running after 90 s:\n{}",
                what.join("\n")
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A stuck process: its command line, state, and where the kernel has it waiting.
fn describe(pid: i32) -> String {
    let read = |f: &str| {
        std::fs::read(format!("/proc/{pid}/{f}"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default()
    };
    format!(
        "{pid} [{}] {} wchan={} stack:\n{}",
        proc_state(pid).unwrap_or('?'),
        read("cmdline"),
        read("wchan"),
        read("stack")
    )
}

/// (id, status, pid) of every container, as inspect reports it.
fn containers(h: &Hull) -> Vec<(String, String, i32)> {
    let ids = h.ok(&["ps", "-aq", "--no-trunc"]);
    ids.split_whitespace()
        .filter_map(|id| {
            let o = h.run(&[
                "inspect",
                "--format",
                "{{.Id}} {{.State.Status}} {{.State.Pid}}",
                id,
            ]);
            let v: Vec<String> = o.stdout.split_whitespace().map(String::from).collect();
            (v.len() == 3).then(|| (v[0].clone(), v[1].clone(), v[2].parse().unwrap_or(0)))
        })
        .collect()
}

/// The recorded state of each container is what the kernel says, once settled: a monitor
/// that saw its init die records the exit a moment later (its exit hook is then a hull
/// process, which `quiesce` waits for, but the moment before it is not).
fn states_match(h: &Hull) -> Result<Vec<String>, String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match states_match_now(h) {
            Err(_) if Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(100));
            }
            r => return r,
        }
    }
}

fn states_match_now(h: &Hull) -> Result<Vec<String>, String> {
    let mut running = Vec::new();
    for (id, status, pid) in containers(h) {
        let short = &id[..12];
        match status.as_str() {
            "running" | "paused" => {
                let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
                if pid <= 0 || !cg.contains(&id) || proc_state(pid).is_none_or(|s| s == 'Z') {
                    return Err(format!(
                        "{short} recorded {status} with pid {pid}, not alive"
                    ));
                }
                running.push(id);
            }
            "restarting" => running.push(id),
            _ => {
                let left = cgroup_procs(&id);
                if !left.is_empty() {
                    return Err(format!("{short} recorded {status}, processes {left:?} run"));
                }
            }
        }
    }
    Ok(running)
}

fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// After repair: nothing of a container that does not run, nothing of a network gone.
fn nothing_left(h: &Hull, running: &[String]) -> Result<(), String> {
    let pods = h.ok(&["pod", "ps", "-q"]);
    let ours =
        |id: &String| running.contains(id) || pods.split_whitespace().any(|p| id.starts_with(p));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let cdir = format!("{}/", h.runroot().join("containers").display());
    for m in mounts.lines().filter_map(|l| l.split(' ').nth(4)) {
        if let Some(rest) = m.strip_prefix(&cdir) {
            let id = rest.split('/').next().unwrap_or("").to_string();
            if !ours(&id) {
                return Err(format!("mount {m} of a container that does not run"));
            }
        }
    }
    for id in names_in(&h.runroot().join("containers")) {
        if !ours(&id) {
            return Err(format!("bundle of {id}, which does not run"));
        }
    }
    for id in names_in(&h.runroot().join("runtime")) {
        if !ours(&id) {
            return Err(format!("runtime state of {id}, which does not run"));
        }
    }
    let all: Vec<String> = containers(h).into_iter().map(|c| c.0).collect();
    for id in names_in(&h.root().join("containers")) {
        if !all.contains(&id) {
            return Err(format!("directory of {id}, which has no row"));
        }
    }
    for id in names_in(&h.runroot().join("netns")) {
        if !ours(&id) {
            return Err(format!(
                "pinned network namespace of {id}, which does not run"
            ));
        }
    }
    for (id, status, _) in containers(h) {
        if !running.contains(&id) && !hull_e2e::cgroup_dirs_named(&id).is_empty() {
            return Err(format!("cgroup of {} ({status})", &id[..12]));
        }
    }
    let nets = h.ok(&["network", "ls", "--format", "{{.Name}}"]);
    for b in names_in(&h.runroot().join("network/bridges")) {
        let claim = std::fs::read(h.runroot().join("network/bridges").join(&b)).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&claim).unwrap_or_default();
        let name = v["name"].as_str().unwrap_or("");
        if !nets.lines().any(|n| n == name) {
            return Err(format!(
                "bridge {b} claimed by network {name:?}, which does not exist"
            ));
        }
    }
    Ok(())
}

fn integrity(h: &Hull) -> Result<(), String> {
    let out = std::process::Command::new("sqlite3")
        .arg(h.root().join("hull.db"))
        .arg("PRAGMA integrity_check")
        .output()
        .map_err(|e| format!("sqlite3: {e} (bash scripts/deps.sh)"))?;
    let s = String::from_utf8_lossy(&out.stdout);
    if s.trim() != "ok" {
        return Err(format!("integrity_check: {s}"));
    }
    Ok(())
}

fn check(h: &Hull, repair: bool) -> (bool, String) {
    let mut args = vec!["system", "check"];
    if repair {
        args.push("--repair");
    }
    let o = h.run(&args);
    (
        o.code == 0 && o.stdout.trim() == "no leftovers",
        o.stdout + &o.stderr,
    )
}

/// Every container can still be stopped, started and removed (the last at the end only).
fn lifecycle(h: &Hull, remove: bool) -> Result<(), String> {
    for (id, _, _) in containers(h) {
        for verb in [&["stop", "-t", "1"][..], &["start"][..]] {
            let mut args = verb.to_vec();
            args.push(&id);
            let o = h.run(&args);
            // A pod's container cannot start without its pod's infra (pod rm killed).
            if o.code != 0 && !o.stderr.contains("pod") {
                return Err(format!("{args:?}: {}", o.stderr.trim()));
            }
        }
        if remove {
            let o = h.run(&["rm", "-f", &id]);
            if o.code != 0 {
                return Err(format!("rm -f {}: {}", &id[..12], o.stderr.trim()));
            }
        }
    }
    Ok(())
}

/// The pulled image is listed whole or not at all: if `hull images` shows it, every blob of
/// it is there (`save` reads them all).
fn whole_or_absent(h: &Hull, pulled: &str) -> Result<(), String> {
    let list = h.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    if !list.lines().any(|l| l == pulled) {
        return Ok(());
    }
    let out = h.dir.path().join("pulled.tar");
    let o = h.run(&["save", "-o", &out.display().to_string(), pulled]);
    let _ = std::fs::remove_file(&out);
    if o.code != 0 {
        return Err(format!(
            "{pulled} listed, but not whole: {}",
            o.stderr.trim()
        ));
    }
    Ok(())
}

/// The names in the content store (blobs and unpacked layers).
fn store_files(h: &Hull) -> Vec<String> {
    let mut v: Vec<String> = ["blobs/sha256", "layers"]
        .iter()
        .flat_map(|d| {
            names_in(&h.root().join(d))
                .into_iter()
                .map(move |n| format!("{d}/{n}"))
        })
        .collect();
    v.sort();
    v
}

/// After a kill during `pull`: the pull again succeeds, and once the image is removed the
/// content store holds exactly what it held before the first pull (no orphan blob or layer).
fn pull_again(h: &Hull, pulled: &str, before: &[String]) -> Result<(), String> {
    let o = h.run(&["pull", "-q", "--tls-verify=false", pulled]);
    if o.code != 0 {
        return Err(format!("pull again: {}", o.stderr.trim()));
    }
    whole_or_absent(h, pulled)?;
    let o = h.run(&["rmi", pulled]);
    if o.code != 0 {
        return Err(format!("rmi {pulled}: {}", o.stderr.trim()));
    }
    let after = store_files(h);
    let extra: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
    if !extra.is_empty() {
        return Err(format!("orphans in the content store: {extra:?}"));
    }
    Ok(())
}

fn invariants(h: &Hull) -> Result<(), String> {
    quiesce(h)?;
    states_match(h)?;
    let (_, out) = check(h, true);
    let (clean, again) = check(h, true);
    if !clean {
        return Err(format!(
            "--repair changed something the second time:\n{out}\n{again}"
        ));
    }
    let (clean, after) = check(h, false);
    if !clean {
        return Err(format!("left after --repair:\n{after}"));
    }
    let running = states_match(h)?;
    nothing_left(h, &running)?;
    integrity(h)?;
    let data = std::fs::read_to_string(h.root().join("volumes/keep/_data/f")).unwrap_or_default();
    if data != "precious\n" {
        return Err(format!("volume data lost: {data:?}"));
    }
    Ok(())
}

/// Pushes an image of its own (not busybox's layers: its pull and rmi write and remove every
/// blob) to the registry as `pulled`: one layer of 8 MiB of seeded bytes, so that a pull
/// takes long enough to be killed in the middle.
fn seed_registry(h: &Hull, r: &mut Rng, pulled: &str) {
    let dir = h.dir.path().join("pulled");
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    let data: Vec<u8> = (0..1 << 20).flat_map(|_| r.next().to_le_bytes()).collect();
    std::fs::write(dir.join("rootfs/data"), data).unwrap();
    let tar = dir.join("rootfs.tar");
    let ok = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(dir.join("rootfs"))
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success(), "tar");
    let tar = tar.display().to_string();
    h.ok(&["import", &tar, "pulled-src:1"]);
    let archive = dir.join("pulled.tar").display().to_string();
    h.ok(&["save", "-o", &archive, "pulled-src:1"]);
    h.ok(&["rmi", "pulled-src:1"]);
    hull_e2e::registry::skopeo_copy(
        &[],
        &format!("docker-archive:{archive}"),
        &format!("docker://{pulled}"),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kill_at_random_instants_and_check_the_invariants() {
    let seed: u64 = std::env::var("HULL_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let kills: u64 = std::env::var("HULL_FAULTS_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    eprintln!("faults: seed {seed}, {kills} kills (HULL_FAULTS_SEED={seed} repeats the run)");
    let mut r = Rng(seed);
    let h = Hull::new();
    h.ok(&["volume", "create", "keep"]);
    h.ok(&[
        "run",
        "--rm",
        "-v",
        "keep:/data",
        "busybox",
        "sh",
        "-c",
        "echo precious > /data/f",
    ]);
    let archive = h.dir.path().join("busybox.tar").display().to_string();
    h.ok(&["save", "-o", &archive, "busybox"]);
    let reg = hull_e2e::registry::Registry::start(h.dir.path(), "");
    let pulled = reg.name("pulled:1");
    seed_registry(&h, &mut Rng(seed), &pulled);
    let before_pull = store_files(&h);
    // Unkilled, a pull then rmi leaves the store as it was.
    if let Err(e) = pull_again(&h, &pulled, &before_pull) {
        panic!("a pull, not killed: {e}");
    }
    let fail = |i: u64, what: &str, e: String| -> ! {
        panic!("faults: seed {seed}, kill {i} ({what}): {e}");
    };
    // HULL_FAULTS_MINUTES: stop taking steps after that long (a long run that must end).
    let stop_at = std::env::var("HULL_FAULTS_MINUTES")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|m| Instant::now() + Duration::from_secs(60 * m));
    let mut took = std::collections::HashMap::new();
    let mut steps = 0;
    let (mut landed, mut at_points) = (0, 0);
    for i in 0..kills {
        if stop_at.is_some_and(|t| Instant::now() > t) {
            break;
        }
        steps += 1;
        let args = pick_op(&mut r, h.dir.path(), &archive, &pulled);
        let kill = step(&h, &mut r, &args, &mut took);
        landed += kill.landed as u64;
        at_points += (kill.landed && kill.at.starts_with("at ")) as u64;
        let when = if kill.landed { "" } else { ", no kill" };
        let what = format!(
            "{} {} during {}{when}",
            kill.victim,
            kill.at,
            args.join(" ")
        );
        eprintln!("faults: kill {i}: {what}");
        if let Err(e) = invariants(&h).and_then(|()| whole_or_absent(&h, &pulled)) {
            fail(i, &what, e);
        }
        if args[0] == "pull" {
            if let Err(e) = pull_again(&h, &pulled, &before_pull).and_then(|()| invariants(&h)) {
                fail(i, "pull again", e);
            }
        }
        if i % 10 == 9 {
            if let Err(e) = lifecycle(&h, false).and_then(|()| invariants(&h)) {
                fail(i, "stop/start of every container", e);
            }
        }
    }
    if let Err(e) = lifecycle(&h, true).and_then(|()| invariants(&h)) {
        fail(steps, "stop/start/rm of every container", e);
    }
    for p in h.ok(&["pod", "ps", "-q"]).split_whitespace() {
        h.ok(&["pod", "rm", "-f", p]);
    }
    for n in ["n0", "n1", "n2"] {
        let _ = h.run(&["network", "rm", n]);
    }
    eprintln!(
        "faults: seed {seed}: {steps} steps survived, {landed} kills landed while the command ran \
         ({at_points} at a fault point)"
    );
}
