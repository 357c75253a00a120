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
use std::time::{Duration, Instant};

use hull_e2e::hull::Hull;

mod invariants;
mod kill;

use invariants::{invariants, lifecycle, pull_again, store_files, whole_or_absent};
use kill::step;

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
