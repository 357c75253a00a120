#!/bin/bash
# Times `RUNTIME run` of a /bin/true container for hullrt, runc and crun side by side:
# N single runs each (median, p90), one loop of 100 runs in sequence each, and the peak RSS
# of one run each; then a table with hullrt's ratios against the targets. See bench/README.md.
#
#   sudo bash bench/run-bench.sh                 # builds target/release/hullrt first
#   sudo BENCH_N=30 HULLRT=/usr/local/bin/hullrt bash bench/run-bench.sh
#
# Environment: HULLRT (a hullrt binary; default: scripts/build-hullrt.sh --release),
# BENCH_N (single runs per runtime, default 50), BENCH_SEQ (runs in the sequence loop,
# default 100), BENCH_MEM_N (runs measured for peak RSS, default 3; the median is shown).
# Exits 0 whether or not hullrt meets the targets: this is a benchmark, not a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
N=${BENCH_N:-50}
SEQ=${BENCH_SEQ:-100}
MEM_N=${BENCH_MEM_N:-3}
# Every container id starts with this, so cleanup touches only what this run made.
prefix="hb$$"
# Every invocation of every runtime goes through this wrapper. crun 1.8 refuses hybrid
# cgroups ("cgroups in hybrid mode not supported"); in a private mount namespace without
# the v2 mount it sees plain v1. hullrt and runc get the same wrapper so its cost (one
# unshare, one sh, one umount: a few ms) is in all three numbers alike.
unified=/sys/fs/cgroup/unified
wrap=(unshare -m sh -c "umount $unified 2>/dev/null; exec \"\$@\"" wrap)

die() { echo "run-bench: $*" >&2; exit 1; }
((EUID == 0)) || die "must run as root (containers need it)"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_N: must be a positive integer, got '$N'"
[[ $SEQ =~ ^[1-9][0-9]*$ ]] || die "BENCH_SEQ: must be a positive integer, got '$SEQ'"
[[ $MEM_N =~ ^[1-9][0-9]*$ ]] || die "BENCH_MEM_N: must be a positive integer, got '$MEM_N'"
for tool in runc crun unshare python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool not found (install with: bash scripts/deps.sh)"
done
[[ -x /bin/busybox ]] && file_is_static=$(ldd /bin/busybox 2>&1 || true)
[[ ${file_is_static:-} == *"not a dynamic executable"* ]] ||
  die "/bin/busybox: missing or not static (install busybox-static)"

if [[ -n ${HULLRT:-} ]]; then
  hullrt=$(realpath "$HULLRT")
else
  echo "building hullrt (scripts/build-hullrt.sh --release)..."
  bash "$repo/scripts/build-hullrt.sh" --release || die "scripts/build-hullrt.sh --release failed"
  hullrt=$repo/target/release/hullrt
fi
[[ -x $hullrt ]] || die "$hullrt: not an executable"

tmp=$(mktemp -d /tmp/hull-bench.XXXXXX)
bundle=$tmp/bundle
declare -A bin=([hullrt]=$hullrt [runc]=$(command -v runc) [crun]=$(command -v crun))
declare -A root=([hullrt]=$tmp/root/hullrt [runc]=$tmp/root/runc [crun]=$tmp/root/crun)
runtimes=(hullrt runc crun)

cleanup() {
  local rc=$? r id
  trap - EXIT INT TERM
  for r in "${runtimes[@]}"; do
    [[ -d ${root[$r]} ]] || continue
    # State dirs are one per container under --root; delete --force kills and removes each
    # (and its cgroup), through the wrapper since crun needs it for the cgroup part.
    for id in $(ls "${root[$r]}" 2>/dev/null); do
      "${wrap[@]}" "${bin[$r]}" --root "${root[$r]}" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  # Anything a runtime left behind in the cgroup trees with our prefix (only empty dirs).
  find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -depth -type d -name "$prefix-*" \
    -exec rmdir {} + 2>/dev/null || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the bundle: one for all three runtimes --------------------------------------------
mkdir -p "${root[@]}"
. "$(dirname "${BASH_SOURCE[0]}")/busybox-bundle.sh"
busybox_bundle "$bundle" /bin/true

# --- check that each runtime runs it, through the wrapper ------------------------------
check() {  # check RUNTIME -> 0 if `run` exits 0; prints the error otherwise
  local r=$1 out
  if out=$(cd "$bundle" && "${wrap[@]}" "${bin[$r]}" --root "${root[$r]}" run "$prefix-check-$r" 2>&1); then
    return 0
  fi
  echo "  $r: run failed: ${out:-exit status $?}"
  "${wrap[@]}" "${bin[$r]}" --root "${root[$r]}" delete --force "$prefix-check-$r" >/dev/null 2>&1 || true
  return 1
}
config_note="config.json: runc spec, terminal false, args [/bin/true] (identical for all three)"
echo "checking each runtime runs the bundle inside the wrapper..."
active=()
failed=()
for r in "${runtimes[@]}"; do
  if check "$r"; then active+=("$r"); else failed+=("$r"); fi
done
if [[ " ${failed[*]} " == *" hullrt "* ]]; then
  # runc spec's default lists CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE as ambient but
  # not as inheritable; the kernel refuses PR_CAP_AMBIENT_RAISE for those, and runc and crun
  # ignore that error. If hullrt stops there, give all three runtimes the same config with the
  # ambient set also in inheritable (what the config means), so there is something to time.
  echo "  hullrt fails with runc spec's standard config; retrying all three with"
  echo "  process.capabilities.inheritable = the ambient set (a deviation from the standard config)"
  python3 - "$bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    c = json.load(f)
caps = c["process"]["capabilities"]
caps["inheritable"] = sorted(set(caps.get("inheritable", [])) | set(caps.get("ambient", [])))
with open(path, "w") as f:
    json.dump(c, f, indent=2)
EOF
  config_note="config.json: runc spec, terminal false, args [/bin/true], PLUS inheritable caps = ambient caps
  (hullrt rejects the standard config; identical modified config for all three)"
  active=()
  failed=()
  for r in "${runtimes[@]}"; do
    if check "$r"; then active+=("$r"); else failed+=("$r"); fi
  done
fi
[[ " ${active[*]} " == *" hullrt "* ]] || die "hullrt cannot run the bundle; nothing to compare"
((${#failed[@]} == 0)) || echo "skipping: ${failed[*]} (see the error above)"

echo
echo "$config_note"
echo "every invocation of every runtime (hullrt, runc and crun alike) runs as:"
echo "  unshare -m sh -c 'umount $unified; exec RUNTIME --root DIR run ID'"
echo "  (crun 1.8 refuses hybrid cgroups; the same wrapper for all three keeps it fair:"
echo "   inside it all three see cgroup v1 only)"
echo "hullrt: $hullrt"
echo "runc:   $(runc --version | head -1)"
echo "crun:   $(crun --version | head -1)"
echo "host:   $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

args=()
for r in "${active[@]}"; do args+=("$r=${bin[$r]}"); done
cd "$bundle"
python3 "$here/timing.py" --n "$N" --seq "$SEQ" --mem-n "$MEM_N" --tmp "$tmp" \
  --root-dir "$tmp/root" --prefix "$prefix" --unified "$unified" "${args[@]}"
