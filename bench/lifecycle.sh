#!/bin/bash
# Times each lifecycle verb of hullrt beside runc and crun, in one run on one bundle:
# `create`, `start`, `delete --force` of a container running `sleep`, and `exec` of /bin/true
# in a running container. Round-robin (the first runtime rotated each iteration) so machine
# noise hits all three alike; prints medians (wall time, CPU, peak RSS) and hullrt's ratios.
# A benchmark, not a test: exits 0 whatever the figures.
#
#   sudo bash bench/lifecycle.sh                    # builds target/release/hullrt, N=40
#   sudo BENCH_N=20 HULLRT=/usr/local/bin/hullrt bash bench/lifecycle.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
N=${BENCH_N:-40}
((EUID == 0)) || { echo "lifecycle: must run as root" >&2; exit 1; }
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "lifecycle: BENCH_N: a positive integer, got '$N'" >&2; exit 1; }
if [[ -n ${HULLRT:-} ]]; then
  hullrt=$(realpath "$HULLRT")
else
  bash "$repo/scripts/build-hullrt.sh" --release
  hullrt=$repo/target/release/hullrt
fi

tmp=$(mktemp -d /tmp/hull-bench-life.XXXXXX)
cleanup() {  # whatever an interrupted run left: each runtime deletes its own containers
  local r id
  for r in hullrt:$hullrt runc:/usr/sbin/runc crun:/usr/bin/crun; do
    for id in $(ls "$tmp/root-${r%%:*}" 2>/dev/null); do
      unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' w \
        "${r#*:}" --root "$tmp/root-${r%%:*}" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "${BASH_SOURCE[0]}")/busybox-bundle.sh"
busybox_bundle "$tmp/bundle" /bin/sleep 1000

python3 - "$tmp" "$hullrt" "$N" <<'EOF'
import ctypes, json, os, statistics, subprocess, sys, time

tmp, hullrt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
bundle = os.path.join(tmp, "bundle")
bins = {"hullrt": hullrt, "runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"}
# crun 1.8 refuses this host's hybrid cgroups; in a private mount namespace without the v2
# mount it sees plain v1. Each runtime is started straight in one (made between fork and exec,
# no wrapper shell), so wait4 reports the runtime's own CPU time (with that of the children it
# waited for). Its peak RSS comes from /usr/bin/time (wait4's would be this Python's, whose
# fork the runtime's process starts as).
libc = ctypes.CDLL(None, use_errno=True)


def private_mounts():
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        raise OSError(ctypes.get_errno(), "unshare")
    if libc.mount(None, b"/", None, 0x4000 | 0x40000, None) != 0:  # MS_REC | MS_PRIVATE
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    libc.umount2(b"/sys/fs/cgroup/unified", 2)  # MNT_DETACH; absent on a v1-only host


usage = os.path.join(tmp, "usage")
verbs = ["create", "start", "exec", "delete"]
times = {r: {v: [] for v in verbs} for r in bins}
cpu = {r: {v: [] for v in verbs} for r in bins}
rss = {r: {v: [] for v in verbs} for r in bins}


def rt(r, *args):
    argv = ["/usr/bin/time", "-f", "%M", "-o", usage,
            bins[r], "--root", os.path.join(tmp, "root-" + r), *args]
    t0 = time.perf_counter()
    # stderr to a file, not a pipe: the container's process inherits create's stdio and
    # would hold a pipe open long after create returned.
    with open(os.path.join(tmp, "err"), "w+") as err:
        p = subprocess.Popen(argv, cwd=bundle, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err, preexec_fn=private_mounts)
        _, status, ru = os.wait4(p.pid, 0)
        dt = (time.perf_counter() - t0) * 1000
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.exit(f"{r} {' '.join(args)}: exit {code}: {err.read().strip()}")
    cpu[r][args[0]].append((ru.ru_utime + ru.ru_stime) * 1000)
    rss[r][args[0]].append(int(open(usage).read().split()[-1]))
    return dt


names = list(bins)
for i in range(n):
    order = names[i % 3:] + names[:i % 3]
    for r in order:
        cid = f"hbl{os.getpid()}-{r}-{i}"
        times[r]["create"].append(rt(r, "create", "--bundle", bundle, cid))
        times[r]["start"].append(rt(r, "start", cid))
        times[r]["exec"].append(rt(r, "exec", cid, "/bin/true"))
        times[r]["delete"].append(rt(r, "delete", "--force", cid))

med = {r: {v: statistics.median(times[r][v]) for v in verbs} for r in bins}
print(f"median ms of {n} runs each (same bundle, each in a private mount ns, round-robin)")
print(f"{'verb':<8}" + "".join(f"{r:>10}" for r in names) + f"{'/runc':>8}{'/crun':>8}")
for v in verbs + ["total"]:
    row = {r: (sum(med[r].values()) if v == "total" else med[r][v]) for r in names}
    print(f"{v:<8}" + "".join(f"{row[r]:>10.1f}" for r in names)
          + f"{row['hullrt'] / row['runc']:>8.2f}{row['hullrt'] / row['crun']:>8.2f}")
for title, data, fmt in (("CPU ms (user+sys)", cpu, ".1f"), ("peak RSS KB", rss, ".0f")):
    print(f"\nmedian {title}")
    print(f"{'verb':<8}" + "".join(f"{r:>10}" for r in names) + f"{'/runc':>8}{'/crun':>8}")
    for v in verbs:
        row = {r: statistics.median(data[r][v]) for r in names}
        print(f"{v:<8}" + "".join(f"{row[r]:>10{fmt}}" for r in names)
              + f"{row['hullrt'] / row['runc']:>8.2f}{row['hullrt'] / row['crun']:>8.2f}")
EOF
