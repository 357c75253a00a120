#!/bin/bash
# Builds hull in release mode, installs hull, hull-monitor and hullrt to /usr/local/bin, and
# runs a first container: `hull run --rm busybox echo hello`. The busybox image is seeded from
# Debian's static busybox on first use (no registry, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release -p hull -p hull-monitor -p hullrt
for b in hull hull-monitor hullrt; do
  install -m 0755 "target/release/$b" "/usr/local/bin/$b"
done
/usr/local/bin/hull run --rm busybox echo hello
