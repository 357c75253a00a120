//! The invariants checked after each kill: recorded states match reality, `system check`
//! repairs everything and then finds nothing, nothing is left behind, the database is whole,
//! every container can still be stopped, started and removed, a pulled image is whole or
//! absent.

use std::path::Path;
use std::time::{Duration, Instant};

use hull_e2e::hull::Hull;
use hull_e2e::{cgroup_procs, proc_state};

use crate::kill::ours;

/// Waits until no hull or hullrt process of this state runs (monitors, the networks' DNS
/// responders, containers and created containers' inits aside).
pub fn quiesce(h: &Hull) -> Result<(), String> {
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
pub fn describe(pid: i32) -> String {
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
pub fn containers(h: &Hull) -> Vec<(String, String, i32)> {
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
pub fn states_match(h: &Hull) -> Result<Vec<String>, String> {
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

pub fn states_match_now(h: &Hull) -> Result<Vec<String>, String> {
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

pub fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// After repair: nothing of a container that does not run, nothing of a network gone.
pub fn nothing_left(h: &Hull, running: &[String]) -> Result<(), String> {
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

pub fn integrity(h: &Hull) -> Result<(), String> {
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

pub fn check(h: &Hull, repair: bool) -> (bool, String) {
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
pub fn lifecycle(h: &Hull, remove: bool) -> Result<(), String> {
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
pub fn whole_or_absent(h: &Hull, pulled: &str) -> Result<(), String> {
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
pub fn store_files(h: &Hull) -> Vec<String> {
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
pub fn pull_again(h: &Hull, pulled: &str, before: &[String]) -> Result<(), String> {
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

pub fn invariants(h: &Hull) -> Result<(), String> {
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
