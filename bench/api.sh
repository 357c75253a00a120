#!/bin/bash
# `docker run --rm --network none busybox true` through hull's API service (`hull system
# service`) beside the same command through a private dockerd, in one run, with hyperfine; then
# the idle service's memory (VmRSS) before the runs, 1 s after them, and 4 s after them (once
# the service has started over as a fresh process: crates/api/src/fresh.rs).
#
#   sudo bash bench/api.sh                  # builds release binaries, N=30
#   sudo BENCH_N=50 HULL=/usr/local/bin/hull DOCKER=/usr/local/bin/docker bash bench/api.sh
#
# The client is the same docker CLI for both. dockerd gets its own data root, exec root,
# socket and containerd, --bridge=none and no iptables; hull its own --root/--runroot. One
# busybox image for both, from the host's static busybox (as hull seeds its own).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${BENCH_N:-30}
DOCKER=${DOCKER:-/usr/local/bin/docker}
for tool in hyperfine dockerd busybox "$DOCKER"; do
  command -v "$tool" >/dev/null || { echo "api: $tool is missing: bash scripts/deps.sh" >&2; exit 1; }
done
if [[ -z ${HULL:-} ]]; then
  cargo build --release -q -p hull && bash scripts/build-hullrt.sh --release && cargo build-monitor --release -q
  HULL=$PWD/target/release/hull
fi
HULL=$(realpath "$HULL")
tmp=$(mktemp -d /var/tmp/hull-bench-api.XXXXXX)
run=$(mktemp -d /run/hull-bench-api.XXXXXX)
svc=
cleanup() {
  set +e
  [[ -n $svc ]] && kill "$svc" 2>/dev/null
  [[ -f $tmp/dockerd.pid ]] && kill "$(cat "$tmp/dockerd.pid")" 2>/dev/null && sleep 3
  "$HULL" --root "$tmp/hull" --runroot "$run/hull" ps -aq 2>/dev/null |
    xargs -r "$HULL" --root "$tmp/hull" --runroot "$run/hull" rm -f >/dev/null 2>&1
  grep -oE " ($tmp|$run)[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$tmp" "$run"
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp"
cp "$(command -v busybox)" "$tmp/rootfs/bin/busybox"
for a in sh true sleep cat; do ln -s busybox "$tmp/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/rootfs/etc/passwd"
tar -C "$tmp/rootfs" -cf "$tmp/busybox.tar" .

"$HULL" --root "$tmp/hull" --runroot "$run/hull" system service \
  --socket "unix://$run/hull.sock" >"$tmp/service.log" 2>&1 &
svc=$!
h="$DOCKER -H unix://$run/hull.sock"
for _ in $(seq 60); do $h version >/dev/null 2>&1 && break; sleep 0.2; done
"$HULL" --root "$tmp/hull" --runroot "$run/hull" import "$tmp/busybox.tar" busybox >/dev/null

mkdir -p "$tmp/docker"
dockerd -H "unix://$tmp/docker/d.sock" --data-root "$tmp/docker/data" \
  --exec-root "$run/docker" --pidfile "$tmp/dockerd.pid" --bridge=none \
  --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
  >"$tmp/docker/log" 2>&1 &
d="$DOCKER -H unix://$tmp/docker/d.sock"
for _ in $(seq 60); do $d version >/dev/null 2>&1 && break; sleep 0.5; done
$d version >/dev/null 2>&1 || { echo "api: the private dockerd did not start" >&2; exit 1; }
$d import "$tmp/busybox.tar" busybox:latest >/dev/null

rss() { awk '/^VmRSS/ {print $2 " KiB"}' "/proc/$1/status"; }
echo "hull service idle RSS before: $(rss "$svc")"
hyperfine -N -w 3 -r "$n" \
  -n "hull API" "$h run --rm --network none busybox true" \
  -n "dockerd" "$d run --rm --network none busybox true"
# hyperfine ran dockerd's runs after hull's: the service has been idle since. Three more runs,
# then its RSS at once and once it has started over (2 s after its last connection:
# crates/api/src/fresh.rs).
for _ in 1 2 3; do $h run --rm --network none busybox true; done
echo "hull service RSS just after them: $(rss "$svc")"
sleep 3
echo "hull service idle RSS 3 s later: $(rss "$svc")"
# What starting over costs the next client: each run after 3 s of idleness.
hyperfine -N -r 5 --prepare "sleep 3" \
  -n "hull API, each run after a fresh start" "$h run --rm --network none busybox true"
echo "dockerd idle RSS: $(rss "$(cat "$tmp/dockerd.pid")")"
