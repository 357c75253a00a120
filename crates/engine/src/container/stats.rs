//! `hull stats` and `hull top`: a running container's usage from its cgroup (CPU, memory,
//! block I/O, pids), its network counters from its network namespace, and its processes.

use std::time::Instant;

use crate::container::Container;
use crate::sysinfo;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("container {id}: cgroup: {source}")]
    Cgroup {
        id: String,
        source: hull_cgroups::Error,
    },
    #[error("ps: {0}")]
    Ps(String),
}

fn manager(c: &Container) -> Result<Box<dyn hull_cgroups::Manager>, StatsError> {
    let path = crate::container::cgroup::cgroups_path(c);
    crate::container::cgroup::manager(&path, &c.id).map_err(|source| StatsError::Cgroup {
        id: c.id.clone(),
        source,
    })
}

/// Every process of the container, as host pids.
pub fn pids(c: &Container) -> Result<Vec<i32>, StatsError> {
    manager(c)?.pids().map_err(|source| StatsError::Cgroup {
        id: c.id.clone(),
        source,
    })
}

/// One reading of a container's counters.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub at: Option<Instant>,
    /// CPU time, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, less the inactive page cache (docker's figure).
    pub mem_usage: u64,
    pub mem_limit: u64,
    pub blk_read: u64,
    pub blk_write: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub pids: u64,
    /// The host's CPU time when the reading was taken (docker's `system_cpu_usage`): set by
    /// the `stats_readings` verb, once per reading of all its containers.
    pub system_ns: u64,
    /// The wall-clock time of that reading (docker's `read`).
    pub read: Option<std::time::SystemTime>,
}

/// Reads the container's counters now (the handful of cgroup files a row shows, see
/// [`hull_cgroups::Manager::usage`]); its init's network namespace gives the network
/// counters while it runs.
pub fn sample(c: &Container) -> Result<Sample, StatsError> {
    let id = &c.id;
    let pid = if c.status.is_live() { c.pid } else { 0 };
    let u = manager(c)?.usage().map_err(|source| StatsError::Cgroup {
        id: id.to_string(),
        source,
    })?;
    let host = host_memory();
    let limit = match u.memory_limit {
        0 => host,
        l => l.min(host),
    };
    let (net_rx, net_tx) = if pid > 0 { net_dev(pid) } else { (0, 0) };
    Ok(Sample {
        at: Some(Instant::now()),
        cpu_ns: u.cpu_ns,
        mem_usage: if u.inactive_file < u.memory {
            u.memory - u.inactive_file
        } else {
            u.memory
        },
        mem_limit: limit,
        blk_read: u.blk_read,
        blk_write: u.blk_write,
        net_rx,
        net_tx,
        pids: u.pids,
        system_ns: 0,
        read: None,
    })
}

/// Only the CPU time (one file), with its time: the reading before the one a row shows,
/// which needs nothing else (the CPU % is the difference of the two).
pub fn cpu_sample(c: &Container) -> Result<Sample, StatsError> {
    let cpu_ns = manager(c)?.cpu_ns().map_err(|source| StatsError::Cgroup {
        id: c.id.clone(),
        source,
    })?;
    Ok(Sample {
        at: Some(Instant::now()),
        cpu_ns,
        ..Sample::default()
    })
}

/// The host's memory, read once per process (every container's row shows it as the limit
/// when it has none).
fn host_memory() -> u64 {
    static TOTAL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(sysinfo::mem_total)
}

/// Threads that read containers' counters at once.
const READERS: usize = 4;

/// [`sample`] of each of `targets` that runs, keyed by id; containers whose cgroup cannot be
/// read are left out. Each reading is a few small files in /sys/fs/cgroup and /proc,
/// independent of the others, so they are read on a few threads at once.
pub fn sample_all(targets: &[Container]) -> std::collections::BTreeMap<String, Sample> {
    each_live(targets, sample)
}

/// [`cpu_sample`] of each of `targets` that runs, as [`sample_all`].
pub fn cpu_sample_all(targets: &[Container]) -> std::collections::BTreeMap<String, Sample> {
    each_live(targets, cpu_sample)
}

fn each_live(
    targets: &[Container],
    read_one: fn(&Container) -> Result<Sample, StatsError>,
) -> std::collections::BTreeMap<String, Sample> {
    let live: Vec<&Container> = targets
        .iter()
        .filter(|c| c.status.is_live() && c.pid > 0)
        .collect();
    let read = |part: &[&Container]| -> Vec<(String, Sample)> {
        part.iter()
            .filter_map(|c| read_one(c).ok().map(|s| (c.id.clone(), s)))
            .collect()
    };
    if live.len() < 2 * READERS {
        return read(&live).into_iter().collect();
    }
    let per = live.len().div_ceil(READERS);
    std::thread::scope(|s| {
        let parts: Vec<_> = live.chunks(per).map(|p| s.spawn(move || read(p))).collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Bytes received and sent on every interface but lo, from the namespace of `pid`.
fn net_dev(pid: i32) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/dev")) else {
        return (0, 0);
    };
    let mut rx = 0;
    let mut tx = 0;
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// CPU use between two samples as a percentage of one CPU (docker's figure: the container's
/// CPU time over the host's, times the number of CPUs).
pub fn cpu_percent(prev: &Sample, cur: &Sample) -> f64 {
    let (Some(a), Some(b)) = (prev.at, cur.at) else {
        return 0.0;
    };
    let wall = b.duration_since(a).as_nanos() as f64;
    if wall <= 0.0 || cur.cpu_ns < prev.cpu_ns {
        return 0.0;
    }
    (cur.cpu_ns - prev.cpu_ns) as f64 / wall * 100.0
}

/// `docker top`: runs the host's `ps ARGS` (default `-ef`) and keeps the header and the lines
/// whose PID column is one of `pids`. Returns rows of fields (the last field, the command,
/// keeps its spaces).
pub fn top(pids: &[i32], ps_args: &[String]) -> Result<Vec<Vec<String>>, StatsError> {
    let default = ["-ef".to_string()];
    let args: &[String] = if ps_args.is_empty() {
        &default
    } else {
        ps_args
    };
    let out = std::process::Command::new("ps")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| StatsError::Ps(e.to_string()))?;
    if !out.status.success() {
        return Err(StatsError::Ps(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    filter_ps(&text, pids).map_err(StatsError::Ps)
}

/// The header and the lines of `ps` output whose PID is in `pids`.
pub fn filter_ps(text: &str, pids: &[i32]) -> Result<Vec<Vec<String>>, String> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .ok_or("no output")?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let col = header
        .iter()
        .position(|h| h == "PID")
        .ok_or("no PID column in ps's output: give ps options that print one")?;
    let n = header.len();
    let mut rows = vec![header];
    for line in lines {
        let fields = split_fields(line, n);
        let Some(pid) = fields.get(col).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pids.contains(&pid) {
            rows.push(fields);
        }
    }
    Ok(rows)
}

/// `n` whitespace-separated fields, the last one holding the rest of the line.
fn split_fields(line: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut rest = line.trim_start();
    while out.len() + 1 < n {
        let Some(end) = rest.find(char::is_whitespace) else {
            break;
        };
        out.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `stats_readings` through the fakes (no cgroup is read: the containers do not run):
    /// which rows each reading gives, the reading before each, and when it ends.
    #[test]
    fn readings_give_a_row_per_target_and_end_as_asked() {
        let rig = crate::ocirt::fake::Rig::new();
        let a = rig.container("a", |_| {});
        let b = rig.container("b", |_| {});
        let q = |names: &[&str], all: bool, stream: bool, first: bool| StatsQuery {
            containers: names.iter().map(|n| n.to_string()).collect(),
            all,
            stream,
            first,
            interval: std::time::Duration::ZERO,
        };
        // Each reading's rows as (name, a reading before, pids); the caller stops at the third.
        type Seen = Vec<Vec<(String, bool, u64)>>;
        let run = |query: StatsQuery| -> (crate::Result<()>, Seen) {
            let mut seen = Seen::new();
            let res = rig.eng.stats_readings(&query, |rows| {
                seen.push(
                    rows.iter()
                        .map(|r| (r.container.name.clone(), r.prev.is_some(), r.cur.pids))
                        .collect(),
                );
                seen.len() < 3
            });
            (res, seen)
        };
        // Named ones in their order; one reading, the first not shown; zeros (not running).
        let (res, seen) = run(q(&["b", "a"], false, false, false));
        res.unwrap();
        assert_eq!(
            seen,
            [[("b".to_string(), false, 0), ("a".to_string(), false, 0)]]
        );
        // Without names: running ones only (none here); with all, every one.
        let (res, seen) = run(q(&[], false, false, false));
        res.unwrap();
        assert_eq!(seen, [Vec::new()]);
        let (res, seen) = run(q(&[], true, false, true));
        res.unwrap();
        assert_eq!(seen.len(), 1, "one reading: {seen:?}");
        assert_eq!(seen[0].len(), 2, "{seen:?}");
        // A stream goes on until the caller says stop (the third reading here).
        let (res, seen) = run(q(&[&a.id], false, true, true));
        res.unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(!seen[0][0].1 && seen[1][0].1 == seen[2][0].1, "{seen:?}");
        // An unknown name fails before any reading.
        let (res, seen) = run(q(&["nosuch"], false, true, false));
        assert!(matches!(res, Err(crate::Error::NotFound(_))), "{res:?}");
        assert!(seen.is_empty());
        assert_eq!(b.name, "b");
    }

    #[test]
    fn ps_lines_of_the_container_only() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                  root           1       0  0 10:00 ?        00:00:01 /sbin/init\n\
                  root        4242       1  0 10:01 ?        00:00:00 sleep 1000\n\
                  root        4243    4242  0 10:01 ?        00:00:00 sh -c echo a  b\n";
        let rows = filter_ps(ps, &[4242, 4243]).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][1], "PID");
        assert_eq!(rows[1][1], "4242");
        assert_eq!(rows[1][7], "sleep 1000");
        assert_eq!(rows[2][7], "sh -c echo a  b");
        assert!(filter_ps("USER COMMAND\nroot x\n", &[1]).is_err());
    }

    #[test]
    fn cpu_percent_is_of_one_cpu() {
        let t = Instant::now();
        let a = Sample {
            at: Some(t),
            cpu_ns: 1_000_000_000,
            ..Default::default()
        };
        let b = Sample {
            at: Some(t + std::time::Duration::from_secs(2)),
            cpu_ns: 2_000_000_000,
            ..Default::default()
        };
        assert!((cpu_percent(&a, &b) - 50.0).abs() < 0.01);
    }
}

/// `top`'s answer: ps's column titles and one row per process of the container.
#[derive(Debug, Clone)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

impl crate::Engine {
    /// `top`: the host's `ps ps_args` (default `-ef`), the container's processes only.
    pub fn top(&self, key: &str, ps_args: &[String]) -> crate::Result<Top> {
        let c = self.lookup(key)?;
        if !c.status.is_live() {
            return Err(crate::Error::NotRunning(format!(
                "container {} is not running",
                c.name
            )));
        }
        let mut rows = top(&pids(&c)?, ps_args)?;
        crate::events::container(&self.paths, &c, "top", &[]);
        let titles = if rows.is_empty() {
            Vec::new()
        } else {
            rows.remove(0)
        };
        Ok(Top {
            titles,
            processes: rows,
        })
    }

    /// `stats`: one reading of the running container `key`'s counters.
    pub fn stats(&self, key: &str) -> crate::Result<(Container, Sample)> {
        let c = self.lookup(key)?;
        let s = sample(&c)?;
        Ok((c, s))
    }

    /// The containers `query` names, looked up (statuses checked): the named ones in their
    /// order, else every running one, or every one with `all`.
    pub fn stats_targets(&self, query: &StatsQuery) -> crate::Result<Vec<Container>> {
        if query.containers.is_empty() {
            return Ok(self
                .list()?
                .into_iter()
                .filter(|c| query.all || c.status.is_live())
                .collect());
        }
        Ok(query
            .containers
            .iter()
            .map(|n| self.lookup(n))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// `stats` of the containers `query` names, as docker's client and daemon read them:
    /// a first reading, then one every `query.interval`, each handed to `each` as one row per
    /// container with the reading before it (for the CPU %); it ends when `each` returns
    /// false, or after the first row given when `query.stream` is false.
    ///
    /// The first reading is shown only with `query.first` (the API's stream and `one-shot`);
    /// otherwise it is taken only for the CPU % (the CPU time, one file per container), and
    /// the first rows given are the next reading's. A stream looks the containers up again
    /// before each reading, so containers started since appear (a row's `container.status`
    /// is the one at that reading); a single reading keeps the list the first was taken of.
    /// A container that does not run, or whose cgroup cannot be read, gets zero counters.
    pub fn stats_readings(
        &self,
        query: &StatsQuery,
        mut each: impl FnMut(&[StatsRow]) -> bool,
    ) -> crate::Result<()> {
        let mut targets = self.stats_targets(query)?;
        let mut prev = if query.first {
            read_all(&targets, sample_all)
        } else {
            read_all(&targets, cpu_sample_all)
        };
        if query.first {
            let rows = rows(&targets, None, &prev);
            if !each(&rows) || !query.stream {
                return Ok(());
            }
        }
        loop {
            std::thread::sleep(query.interval);
            if query.stream {
                targets = self.stats_targets(query)?;
            }
            let cur = read_all(&targets, sample_all);
            let rows = rows(&targets, Some(&prev), &cur);
            if !each(&rows) || !query.stream {
                return Ok(());
            }
            prev = cur;
        }
    }
}

/// Which containers `stats_readings` reads, and how.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Names or ids (empty: every running container, or every one with `all`).
    pub containers: Vec<String>,
    pub all: bool,
    /// A reading every `interval` until the caller stops (false: one reading).
    pub stream: bool,
    /// The first reading is shown, without a reading before it.
    pub first: bool,
    /// docker's is one second.
    pub interval: std::time::Duration,
}

impl Default for StatsQuery {
    fn default() -> StatsQuery {
        StatsQuery {
            containers: Vec::new(),
            all: false,
            stream: false,
            first: false,
            interval: std::time::Duration::from_secs(1),
        }
    }
}

/// One container's row of a `stats` reading.
#[derive(Debug, Clone)]
pub struct StatsRow {
    pub container: Container,
    /// The reading before (None for a first reading shown, or a container not read then).
    pub prev: Option<Sample>,
    pub cur: Sample,
}

type Readings = std::collections::BTreeMap<String, Sample>;

/// One reading of every target, stamped with the host's CPU time and the time.
fn read_all(targets: &[Container], read: fn(&[Container]) -> Readings) -> Readings {
    let mut all = read(targets);
    let system_ns = system_cpu_ns();
    let at = std::time::SystemTime::now();
    for s in all.values_mut() {
        s.system_ns = system_ns;
        s.read = Some(at);
    }
    all
}

fn rows(targets: &[Container], prev: Option<&Readings>, cur: &Readings) -> Vec<StatsRow> {
    targets
        .iter()
        .map(|c| StatsRow {
            container: c.clone(),
            prev: prev.and_then(|p| p.get(&c.id)).cloned(),
            cur: cur.get(&c.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The host's CPU time since boot in nanoseconds, all CPUs (/proc/stat's first line, in
/// USER_HZ ticks of 10 ms): docker's `system_cpu_usage`, against which a container's CPU
/// time is a share.
pub fn system_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks * 10_000_000
}
