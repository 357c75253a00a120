#!/bin/bash
# clock_gettime calls per second: the real clock against hull's --faketime and libfaketime.
#   sudo bash bench/clock.sh                 # hull from target/debug (cargo build -p hull -p hullrt)
#   sudo HULL=target/release/hull CLOCK_N=5000000 bash bench/clock.sh
# Needs gcc, musl-gcc (musl-tools), libfaketime, busybox-static: scripts/deps.sh.
# A benchmark, not a test: it exits 0 whatever the figures.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
HULL=${HULL:-$root/target/debug/hull}
N=${CLOCK_N:-2000000}
lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 | head -1)
tmp=$(mktemp -d /tmp/hull-bench-clock.XXXXXX)
H=("$HULL" --root "$tmp/root" --runroot "$tmp/run")
cleanup() {
  for c in $("${H[@]}" ps -aq 2>/dev/null); do "${H[@]}" rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

src=$root/tests/testdata/faketime
gcc -O2 -o "$tmp/probe-glibc" "$src/probe.c"
musl-gcc -O2 -static -o "$tmp/probe-musl" "$src/probe.c"
musl-gcc -O2 -static -o "$tmp/vdso-musl" "$src/vdso.c"
mkdir -p "$tmp/rootfs/bin"
cp "$(command -v busybox)" "$tmp/probe-musl" "$tmp/vdso-musl" "$tmp/rootfs/bin/"
tar -C "$tmp/rootfs" -cf "$tmp/img.tar" .
"${H[@]}" import "$tmp/img.tar" bench-clock >/dev/null

row() { printf '%-60s %12s\n' "$1" "$2"; }
in_hull() { "${H[@]}" run --rm "$@" 2>/dev/null | tail -1; }
echo "clock_gettime calls per second (N=$N; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
row "real clock, host, glibc (vDSO): CLOCK_REALTIME" "$("$tmp/probe-glibc" bench "$N")"
row "real clock, host, glibc (vDSO): CLOCK_MONOTONIC" "$("$tmp/probe-glibc" bench-mono "$N")"
row "real clock, hull container, musl (vDSO): CLOCK_REALTIME" \
  "$(in_hull bench-clock probe-musl bench "$N")"
row "real clock, hull container, musl: system call" \
  "$(in_hull bench-clock vdso-musl syscall "$((N / 10))")"
row "libfaketime +1d, host, glibc: CLOCK_REALTIME" \
  "$(LD_PRELOAD=$lib FAKETIME=+1d "$tmp/probe-glibc" bench "$N")"
row "libfaketime +1d, host, glibc: CLOCK_MONOTONIC" \
  "$(LD_PRELOAD=$lib FAKETIME=+1d "$tmp/probe-glibc" bench-mono "$N")"
row "hull --faketime +1d, musl (patched vDSO): CLOCK_REALTIME" \
  "$(in_hull --faketime +1d bench-clock probe-musl bench "$N")"
row "hull --faketime +1d, musl (patched vDSO): CLOCK_MONOTONIC" \
  "$(in_hull --faketime +1d bench-clock probe-musl bench-mono "$N")"
# The system call path (programs that make the call themselves): a round trip to the
# supervisor each; fewer calls (N/100; N/10 for the real system call), or it takes minutes.
row "hull --faketime +1d, musl: system call (supervisor)" \
  "$(in_hull --faketime +1d bench-clock vdso-musl syscall "$((N / 100))")"
