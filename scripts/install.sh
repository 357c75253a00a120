#!/bin/bash
# Builds hull in release mode, installs hullrt to /usr/local/bin, and runs a first container
# from a busybox rootfs made on the spot (no registry, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release -p hullrt
install -m 0755 target/release/hullrt /usr/local/bin/hullrt
b=$(mktemp -d /tmp/hull-first.XXXXXX)
trap 'rm -rf "$b"' EXIT
mkdir -p "$b/rootfs/bin"
cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
for a in sh echo hostname cat id; do ln -s busybox "$b/rootfs/bin/$a"; done
cd "$b"
hullrt spec
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sh", "-c", "echo hello from $(hostname), pid $$, uid $(id -u)"/' config.json
hullrt run "first-$$"
