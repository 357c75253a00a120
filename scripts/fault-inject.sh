#!/bin/bash
# The long run of the fault-injection harness (tests/crash/faults/, issue 16): KILLS steps, each
# a hull command killed (hull, its monitor or hullrt, with SIGKILL) while it runs, at a fault
# point or after a delay within its measured duration; the invariants checked after each.
# Seeded: the seed is printed, and passing it again repeats the run. MINUTES, if given, ends
# the run after that long (the invariants are still checked at the end).
#   scripts/fault-inject.sh [KILLS] [SEED] [MINUTES]  (as root; default 1000 kills, a new seed)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-1000}
seed=${2:-$(date +%s%N)}
cargo build -q -p hull -p hullrt -p hull-pause
cargo build-monitor -q
HULL_FAULTS_KILLS=$kills HULL_FAULTS_SEED=$seed HULL_FAULTS_MINUTES=${3:-} \
  cargo test -q -p hull-e2e --test faults -- --nocapture
