#!/bin/bash
# Builds hull in release mode, installs hull, hull-monitor, hull-pause (the pods' infra) and
# hullrt to /usr/local/bin, and
# runs a first container: `hull run --rm busybox echo hello`. The busybox image is seeded from
# Debian's static busybox on first use (no registry, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release -p hull -p hull-pause
# hullrt: one static executable (glibc and libseccomp linked in), as runc ships.
bash scripts/build-hullrt.sh --release
# The monitor (one per container) is its own no_std workspace, static and not
# position-independent, without libc (crates/monitor-bin); bench/monitor-rss.sh measures it.
cargo build-monitor --release
for b in hull hull-monitor hull-pause hullrt; do
  # Through a new file and a rename: a running monitor keeps its binary busy.
  install -m 0755 "target/release/$b" "/usr/local/bin/$b.new"
  mv "/usr/local/bin/$b.new" "/usr/local/bin/$b"
done
/usr/local/bin/hull run --rm busybox echo hello
