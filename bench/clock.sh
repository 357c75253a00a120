#!/bin/bash
# clock_gettime calls per second: the real clock against hull's --faketime and libfaketime.
#   sudo bash bench/clock.sh                 # hull from target/debug (cargo build -p hull -p hullrt)
#   sudo HULL=target/release/hull CLOCK_N=500000 bash bench/clock.sh
# Needs gcc, musl-gcc (musl-tools), libfaketime, busybox-static: scripts/deps.sh.
# A benchmark, not a test: it exits 0 whatever the figures.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
HULL=${HULL:-$root/target/debug/hull}
N=${CLOCK_N:-200000}
lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 | head -1)
tmp=$(mktemp -d /tmp/hull-bench-clock.XXXXXX)
H=("$HULL" --root "$tmp/root" --runroot "$tmp/run")
cleanup() {
  for c in $("${H[@]}" ps -aq 2>/dev/null); do "${H[@]}" rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

src=$root/tests/testdata/faketime/probe.c
gcc -O2 -o "$tmp/probe-glibc" "$src"
musl-gcc -O2 -static -o "$tmp/probe-musl" "$src"
mkdir -p "$tmp/rootfs/bin"
cp "$(command -v busybox)" "$tmp/probe-musl" "$tmp/rootfs/bin/"
tar -C "$tmp/rootfs" -cf "$tmp/img.tar" .
"${H[@]}" import "$tmp/img.tar" bench-clock >/dev/null

row() { printf '%-52s %12s\n' "$1" "$2"; }
in_hull() { "${H[@]}" run --rm "$@" 2>/dev/null | tail -1; }
echo "clock_gettime calls per second (N=$N; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
row "real clock, host, glibc (vDSO)" "$("$tmp/probe-glibc" bench "$N")"
row "real clock, hull container, musl (vDSO)" "$(in_hull bench-clock probe-musl bench "$N")"
row "libfaketime, host, glibc (LD_PRELOAD, FAKETIME=+1d)" \
  "$(LD_PRELOAD=$lib FAKETIME=+1d "$tmp/probe-glibc" bench "$N")"
row "hull --faketime +1d, musl: CLOCK_REALTIME" \
  "$(in_hull --faketime +1d bench-clock probe-musl bench "$N")"
row "hull --faketime +1d, musl: CLOCK_MONOTONIC" \
  "$(in_hull --faketime +1d bench-clock probe-musl bench-mono "$N")"
