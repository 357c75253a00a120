#!/bin/bash
# Memory of hull's per-container monitor beside podman's conmon, in the same run.
# Starts one `busybox sleep 100` container with each engine and prints the RSS and PSS of its
# monitor (hull-monitor, conmon), then N containers of each and the mean RSS and PSS per
# monitor. Both engines use private state directories under a temporary dir and no network.
# Usage: bash bench/monitor-rss.sh [BIN_DIR] (hull, hullrt and hull-monitor; default
# target/release, built as scripts/install.sh does: `cargo build --release -p hull`, `bash scripts/build-hullrt.sh --release`
# and `cargo build-monitor --release`, the monitor being its own no_std workspace in
# crates/monitor-bin). N=10 by default (env N).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release}")
N=${N:-10}
tmp=$(mktemp -d /tmp/monitor-rss.XXXXXX)
hull() { "$BIN/hull" --root "$tmp/hroot" --runroot "$tmp/hrun" "$@"; }
pod() { podman --runtime runc --root "$tmp/proot" --runroot "$tmp/prun" --cgroup-manager cgroupfs "$@"; }
cleanup() {
  hull rm -f $(hull ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  pod rm -af -t 0 >/dev/null 2>&1 || true
  pod system reset -f >/dev/null 2>&1 || true
  umount -R "$tmp/proot" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# This run's monitors only: hull's monitor works in its bundle under our runroot; conmon
# names our runroot on its command line.
hull_pids() {
  for p in $(pgrep -x hull-monitor); do
    [[ $(readlink "/proc/$p/cwd" 2>/dev/null) == "$tmp/hrun"* ]] && echo "$p"
  done
}
conmon_pids() {
  for p in $(pgrep -x conmon); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "$tmp/prun" && echo "$p"
  done
}
# Mean Rss and Pss (KiB) of the given pids, from smaps_rollup.
mem() {
  local n=0 rss=0 pss=0 p
  for p in "$@"; do
    rss=$((rss + $(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup")))
    pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
    n=$((n + 1))
  done
  ((n > 0)) || { echo "no monitor found" >&2; exit 1; }
  echo "$n monitor(s): RSS $((rss / n)) KiB, PSS $((pss / n)) KiB per monitor"
}

# podman's image: a busybox rootfs tar, imported.
mkdir -p "$tmp/rootfs/bin"
cp /bin/busybox "$tmp/rootfs/bin/busybox"
for a in sh sleep; do ln -s busybox "$tmp/rootfs/bin/$a"; done
tar -C "$tmp/rootfs" -cf "$tmp/busybox.tar" .
pod import -q "$tmp/busybox.tar" localhost/busybox >/dev/null

start() {
  local i
  for i in $(seq "$1" "$2"); do
    hull run -d --network none --name "rss$i" busybox sleep 100 >/dev/null
    pod run -d --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none --name "rss$i" localhost/busybox sleep 100 >/dev/null
  done
}

echo "hull-monitor: $BIN/hull-monitor ($(stat -c %s "$BIN/hull-monitor") bytes)"
echo "conmon: $(command -v conmon) ($(conmon --version | head -1))"
start 1 1
echo "1 container:"
echo "  hull-monitor $(mem $(hull_pids))"
echo "  conmon       $(mem $(conmon_pids))"
start 2 "$N"
echo "$N containers:"
echo "  hull-monitor $(mem $(hull_pids))"
echo "  conmon       $(mem $(conmon_pids))"
