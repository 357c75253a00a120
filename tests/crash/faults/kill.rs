//! One step of the harness: a command run against the state, and a kill (of `hull`, the
//! container's `hull-monitor` or `hullrt`) at a fault point or after a drawn delay.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hull_e2e::hull::Hull;
use hull_e2e::{kill9, proc_state};

use crate::Rng;

/// Processes whose command line names this state (hull, its hooks, monitors, hullrt).
pub fn ours(h: &Hull, exe: &str) -> Vec<i32> {
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
pub fn kill_victim(h: &Hull, victim: u64, pick: u64, child: &mut Child) -> &'static str {
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
pub fn kind(args: &[String]) -> String {
    match args[0].as_str() {
        "network" | "pod" | "kube" | "volume" | "run" => format!("{} {}", args[0], args[1]),
        v => v.to_string(),
    }
}

/// A start's points (`hull-start-created` is only passed with a terminal, which no step has).
pub const START: [&str; 3] = [
    "hull-start-prepare",
    "hull-start-started",
    "hullrt-create-ready",
];

/// The fault points (hull_sys::fault_point) a command of this kind can pass.
pub fn points(args: &[String]) -> Vec<&'static str> {
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
pub fn stopped_at_point(point: &str, tag: &str, child: &mut Child) -> Option<i32> {
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
pub fn tagged(want: &[String]) -> Vec<i32> {
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
pub fn exe_name(pid: i32) -> &'static str {
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
pub struct Kill {
    pub victim: &'static str,
    /// Where: a fault point, or the delay after the command started.
    pub at: String,
    /// Whether the command still ran when the victim was killed.
    pub landed: bool,
}

/// Runs one step: the command, and a kill while it runs. With a fault point, the process
/// that stops there is killed; else, after a delay drawn from [0, the last measured
/// duration of this kind of command), so that the kill lands while the command runs.
pub fn step(
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
