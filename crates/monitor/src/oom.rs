//! The OOM watch's pure parts. On cgroup v2 the monitor watches the container's
//! `memory.events` while it runs and leaves a file `oom` in the bundle when the kernel has
//! OOM-killed in it: under systemd the scope's cgroup (and the file) is gone as soon as its
//! last process is, before hull's exit hook could read it (as conmon and containerd's shim,
//! which watch the file too).

/// The container's cgroup v2 path (`0::PATH` in /proc/PID/cgroup), if it has one.
pub fn cgroup2_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .filter(|p| p.starts_with('/'))
}

/// The `oom_kill` count in a `memory.events` file (0 when it has none).
pub fn oom_kills(memory_events: &str) -> u64 {
    memory_events
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_v2_path_in_a_hybrid_and_a_v2_layout() {
        let hybrid = "12:memory:/hull/x\n1:name=systemd:/x\n0::/machine.slice/hull-x.scope\n";
        assert_eq!(cgroup2_path(hybrid), Some("/machine.slice/hull-x.scope"));
        assert_eq!(cgroup2_path("0::/\n"), Some("/"));
        assert_eq!(cgroup2_path("4:memory:/a\n"), None);
    }

    #[test]
    fn reads_oom_kill_not_oom_or_oom_group_kill() {
        let ev = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(oom_kills(ev), 1);
        assert_eq!(oom_kills("low 0\nmax 3\noom 2\noom_kill 0\n"), 0);
        assert_eq!(oom_kills(""), 0);
    }
}
