#!/bin/bash
# hull at many containers beside podman and docker, in one run (issue 23): for each N, start N
# idle containers one after another (`run -d busybox sleep 1d`), then time the verbs on them
# and remove them all. Prints per N and engine: start ms per container, MemAvailable drop
# and monitor PSS (hull-monitor, conmon, containerd-shim) per container in KiB (and, on a
# second line, where that memory went: /proc/meminfo's parts and the slab caches that grew
# most, per container), `ps`,
# `inspect` and `exec true` of one (median of 5), `stats --no-stream` of one and of all, and
# `rm -f` of all. A benchmark, not a test: exits 0 whatever the figures.
#
#   sudo bash bench/scale.sh                                  # release build, every size
#   sudo SCALE_RUNS="10:none 100:none" ENGINES=hull HULL=target/release/hull bash bench/scale.sh
#
# SCALE_RUNS: N:NET pairs; NET none (--network none) or port (the default network, one
# published port each). ENGINES: any of hull podman docker. SCALE_MAX_PODMAN/SCALE_MAX_DOCKER
# (default 1000) skip larger sizes for those two, with the reason printed. podman gets a
# private --root/--runroot with the cgroupfs manager and runc; docker a private dockerd (its own
# containerd, --bridge=none, so no port runs for it). Everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
((EUID == 0)) || { echo "scale: must run as root" >&2; exit 1; }
runs=${SCALE_RUNS:-"10:none 100:none 1000:none 1000:port 10000:none"}
engines=${ENGINES:-"hull podman docker"}
if [[ -z ${HULL:-} ]]; then
  cargo build --release -q -p hull && bash scripts/build-hullrt.sh --release && cargo build-monitor --release -q
  HULL=$PWD/target/release/hull
fi
HULL=$(realpath "$HULL")
# Each container is at least two processes (its init and its monitor): 10,000 of them need
# more pids than the kernel's default pid_max (32768) leaves beside the host's own. Raised
# for the run, put back on exit.
pid_max0=$(cat /proc/sys/kernel/pid_max)
most=0
for r in $runs; do ((${r%%:*} > most)) && most=${r%%:*}; done
((most * 4 > pid_max0)) && echo $((most * 4 + 32768)) >/proc/sys/kernel/pid_max
tmp=$(mktemp -d /var/tmp/hull-bench-scale.XXXXXX)
run=$(mktemp -d /run/hull-bench-scale.XXXXXX)
cleanup() {
  set +e
  [[ -f $tmp/dockerd.pid ]] && kill "$(cat "$tmp/dockerd.pid")" 2>/dev/null && sleep 3
  "$HULL" --root "$tmp/hull" --runroot "$run/hull" ps -aq 2>/dev/null |
    xargs -r "$HULL" --root "$tmp/hull" --runroot "$run/hull" rm -f >/dev/null 2>&1
  podman --root "$tmp/podman" --runroot "$run/podman" rm -af -t 0 >/dev/null 2>&1
  podman --root "$tmp/podman" --runroot "$run/podman" system reset -f >/dev/null 2>&1
  grep -oE " ($tmp|$run)[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$tmp" "$run"
  echo "$pid_max0" >/proc/sys/kernel/pid_max
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One busybox image for all three, from the host's static busybox (as hull seeds its own).
mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp"
cp "$(command -v busybox)" "$tmp/rootfs/bin/busybox"
for a in sh true sleep cat; do ln -s busybox "$tmp/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/rootfs/etc/passwd"
tar -C "$tmp/rootfs" -cf "$tmp/busybox.tar" .
cat >"$tmp/containers.conf" <<'C'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
C
export CONTAINERS_CONF=$tmp/containers.conf

cli=()
for e in $engines; do
  case $e in
    hull) cli+=("hull=$HULL --root $tmp/hull --runroot $run/hull") ;;
    podman)
      if ! command -v podman >/dev/null; then echo "podman: not installed, skipped"; continue; fi
      # runc: crun 1.8 refuses this host's hybrid cgroups.
      p="podman --root $tmp/podman --runroot $run/podman --cgroup-manager cgroupfs --events-backend file --runtime runc"
      $p import -q "$tmp/busybox.tar" localhost/busybox >/dev/null
      cli+=("podman=$p") ;;
    docker)
      if ! command -v dockerd >/dev/null; then echo "docker: not installed, skipped"; continue; fi
      mkdir -p "$tmp/docker"
      dockerd -H "unix://$tmp/docker/d.sock" --data-root "$tmp/docker/data" \
        --exec-root "$run/docker" --pidfile "$tmp/dockerd.pid" --bridge=none \
        --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
        >"$tmp/docker/log" 2>&1 &
      d="docker -H unix://$tmp/docker/d.sock"
      for _ in $(seq 60); do $d version >/dev/null 2>&1 && break; sleep 0.5; done
      if ! $d version >/dev/null 2>&1; then echo "docker: private dockerd did not start, skipped"; continue; fi
      $d import "$tmp/busybox.tar" busybox:latest >/dev/null
      cli+=("docker=$d") ;;
    *) echo "scale: unknown engine $e" >&2; exit 1 ;;
  esac
done

echo "host: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r), $(date -u +%FT%TZ)"
python3 - "$runs" "$run" "${SCALE_MAX_PODMAN:-1000}" "${SCALE_MAX_DOCKER:-1000}" "${cli[@]}" <<'PY'
import os, shlex, statistics, subprocess, sys, time

runs = [(int(n), net) for n, net in (r.split(":") for r in sys.argv[1].split())]
runroot, max_podman, max_docker = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
engines = dict(a.split("=", 1) for a in sys.argv[5:])
limit = {"podman": max_podman, "docker": max_docker}
image = {"hull": "busybox", "podman": "localhost/busybox", "docker": "busybox"}
monitor = {"hull": "hull-monitor", "podman": "conmon", "docker": "containerd-shim"}


def sh(cmd, *args):
    t0 = time.perf_counter()
    p = subprocess.run([*shlex.split(cmd), *args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}: exit {p.returncode}: {p.stderr.strip()[:200]}")
    return dt, p.stdout


def meminfo():
    return {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/meminfo")}


def mem_available_kib():
    return meminfo()["MemAvailable"]


def slabs():
    """Bytes in each slab cache (/proc/slabinfo: active objects times object size)."""
    out = {}
    try:
        for line in open("/proc/slabinfo").readlines()[2:]:
            f = line.split()
            out[f[0]] = int(f[1]) * int(f[3])
    except OSError:
        pass
    return out


# Where a container's memory goes, per container: /proc/meminfo's kernel and user parts,
# and the slab caches that grew most.
PARTS = ["AnonPages", "Shmem", "Slab", "SUnreclaim", "KernelStack", "PageTables", "Percpu"]


def breakdown(name, n, before, after, slab0, slab1):
    parts = " ".join(f"{k} {(after.get(k, 0) - before.get(k, 0)) / n:.0f}" for k in PARTS)
    grew = sorted(((slab1.get(k, 0) - v) / n / 1024, k) for k, v in slab0.items())[-8:]
    top = ", ".join(f"{k} {d:.1f}" for d, k in reversed(grew))
    print(f"{name:7} {n:>6} KiB/ctr: {parts}; slab caches: {top}", flush=True)


def monitor_pss_kib(engine):
    """PSS of this run's monitors: processes of that name whose command line names this
    run's runroot (hull's and podman's state, the private dockerd's containerd socket)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
            if not comm.startswith(monitor[engine][:15]):
                continue
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            if runroot not in cmdline:
                continue
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def med(f, k=5):
    return statistics.median(f() for _ in range(k)) * 1000


print(f"{'engine':7} {'N':>6} {'net':5} {'start ms/ctr':>12} {'MemAvail KiB/ctr':>16} "
      f"{'monitor PSS KiB/ctr':>19} {'ps ms':>8} {'inspect ms':>10} {'exec ms':>8} "
      f"{'stats 1 s':>9} {'stats all s':>11} {'rm -f all s':>11}", flush=True)
for n, net in runs:
    for name, cmd in engines.items():
        if n > limit.get(name, n):
            print(f"{name:7} {n:>6} {net:5} skipped: above SCALE_MAX_{name.upper()}", flush=True)
            continue
        if net == "port" and name == "docker":
            print(f"{name:7} {n:>6} {net:5} skipped: the private dockerd runs with --bridge=none",
                  flush=True)
            continue
        flags = ["--network", "none"] if net == "none" else ["-p", "127.0.0.1::80"]
        mem0 = mem_available_kib()
        info0, slab0 = meminfo(), slabs()
        ids = []
        t0 = time.perf_counter()
        try:
            for _ in range(n):
                ids.append(sh(cmd, "run", "-d", *flags, image[name], "sleep", "1d")[1].strip())
        except RuntimeError as e:
            print(f"{name:7} {n:>6} {net:5} failed after {len(ids)}: {e}", flush=True)
        start = (time.perf_counter() - t0) * 1000 / max(len(ids), 1)
        if ids:
            time.sleep(2)
            k = len(ids)
            mem = (mem0 - mem_available_kib()) / k
            parts = (meminfo(), slabs())
            pss = monitor_pss_kib(name) / k
            one = ids[len(ids) // 2]
            try:
                ps = med(lambda: sh(cmd, "ps")[0], 3)
                insp = med(lambda: sh(cmd, "inspect", one)[0])
                ex = med(lambda: sh(cmd, "exec", one, "true")[0])
                st1 = sh(cmd, "stats", "--no-stream", one)[0]
                stall = sh(cmd, "stats", "--no-stream")[0]
                verbs = (f"{ps:8.1f} {insp:10.1f} {ex:8.1f} {st1:9.2f} {stall:11.2f}")
            except RuntimeError as e:
                verbs = f"verbs failed: {e}"
            rm = 0.0
            for i in range(0, len(ids), 500):  # argv stays short
                rm += sh(cmd, "rm", "-f", *ids[i:i + 500])[0]
            print(f"{name:7} {k:>6} {net:5} {start:12.1f} {mem:16.0f} {pss:19.0f} {verbs} "
                  f"{rm:11.2f}", flush=True)
            breakdown(name, k, info0, parts[0], slab0, parts[1])
PY
