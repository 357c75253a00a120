#!/bin/bash
# Builds hull in release mode, installs hull, hull-monitor, hull-pause (the pods' infra) and
# hullrt to /usr/local/bin, and
# runs a first container: `hull run --rm busybox echo hello`. The busybox image is seeded from
# Debian's static busybox on first use (no registry, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release -p hull -p hull-monitor -p hull-pause -p hullrt
# The monitor (one per container) linked statically (no libc.so pages mapped in each one)
# and not position-independent: no self-relocation at start, fewer pages of code and data.
# With opt-level "z" (root Cargo.toml) it keeps ~1.1 MiB RSS; bench/monitor-rss.sh measures it.
cargo rustc --release -p hull-monitor --bin hull-monitor -- \
  -C target-feature=+crt-static -C relocation-model=static -C strip=symbols
for b in hull hull-monitor hull-pause hullrt; do
  # Through a new file and a rename: a running monitor keeps its binary busy.
  install -m 0755 "target/release/$b" "/usr/local/bin/$b.new"
  mv "/usr/local/bin/$b.new" "/usr/local/bin/$b"
done
/usr/local/bin/hull run --rm busybox echo hello
