#!/bin/bash
# The long run of the fault-injection harness (tests/faults.rs, issue 16): KILLS kills with
# SIGKILL of hull, a monitor or hullrt at random instants, the invariants checked after each.
# Seeded: the seed is printed, and passing it again repeats the run.
#   scripts/fault-inject.sh [KILLS] [SEED]      (as root; default 1000 kills, a new seed)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-1000}
seed=${2:-$(date +%s%N)}
cargo build -q -p hull -p hullrt -p hull-pause
cargo build-monitor -q
HULL_FAULTS_KILLS=$kills HULL_FAULTS_SEED=$seed \
  cargo test -q -p hull-e2e --test faults -- --nocapture
