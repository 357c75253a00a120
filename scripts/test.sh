#!/bin/bash
# Runs every test as root on this machine's kernel: unit tests, the end-to-end tests that run
# the real binaries, and (when qemu is usable) the cgroup v2 tests inside a cgroup2-only guest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (tests create real containers)" >&2; exit 1; }
bash scripts/deps.sh
cargo build --workspace --all-targets
cargo build-monitor   # hull-monitor: its own workspace (crates/monitor-bin), into target/debug
cargo test --workspace -- --test-threads="${TEST_THREADS:-4}"
# The cgroup v2 guest (tests/vm/guest.sh, QEMU): each script prints SKIPPED with its reason
# where the guest cannot run.
bash crates/cgroups/tests/run-v2-vm.sh
bash tests/vm/run-v2-e2e.sh
# hullrt's systemd cgroup driver beside runc, in a guest booting systemd on cgroup v2.
bash tests/vm/run-systemd.sh
