#!/bin/bash
# Runs every test as root on this machine's kernel: unit tests, the end-to-end tests that run
# the real binaries, and (when qemu is usable) the cgroup v2 tests inside a cgroup2-only guest.
#
# The end-to-end test binaries (every [[test]] of tests/Cargo.toml, listed by cargo itself)
# are independent: each has private state, so E2E_JOBS of them (default 2) run at once, each
# with TEST_THREADS threads (default 2). A binary's output is printed when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (tests create real containers)" >&2; exit 1; }
bash scripts/deps.sh
cargo build --workspace --all-targets
cargo build-monitor   # hull-monitor: its own workspace (crates/monitor-bin), into target/debug
cargo test --workspace --exclude hull-e2e -- --test-threads="${TEST_THREADS:-4}"
# The end-to-end tests run hullrt as it is installed: one static executable.
bash scripts/build-hullrt.sh

# name<TAB>executable of each end-to-end test binary, as cargo built them.
bins=$(cargo test -p hull-e2e --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["test"] and m.get("executable"):
        print(m["target"]["name"] + "\t" + m["executable"])')
want=$(grep -c '^\[\[test\]\]' tests/Cargo.toml)
got=$(printf '%s\n' "$bins" | grep -c .)
[ "$got" = "$want" ] || { echo "test.sh: $got e2e binaries built, tests/Cargo.toml has $want" >&2; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export logs TEST_THREADS="${TEST_THREADS:-2}"
# Like cargo test: the working directory is the package's (tests/).
# Binaries that change a host-wide setting for a while (hull_net_dockerd_iptables sets the
# FORWARD policy to DROP, as a dockerd with iptables does) run alone, after the others.
alone='^hull_net_dockerd_iptables	'
run_e2e() {
  xargs -P "$1" -L 1 bash -c '
  cd tests
  if "$1" --test-threads="$TEST_THREADS" >"$logs/$0.log" 2>&1; then r=ok; else r=FAILED; fi
  { flock 9; echo "== e2e $0: $r"; cat "$logs/$0.log"; } 9>"$logs/print.lock"
  [ "$r" = ok ]'
}
status=0
printf '%s\n' "$bins" | grep -v -P "$alone" | run_e2e "${E2E_JOBS:-2}" || status=1
printf '%s\n' "$bins" | grep -P "$alone" | run_e2e 1 || status=1
[ "$status" = 0 ] || { echo "test.sh: end-to-end tests failed (the binaries marked FAILED above)" >&2; exit 1; }

# The cgroup v2 guest (tests/vm/guest.sh, QEMU): each script prints SKIPPED with its reason
# where the guest cannot run.
bash crates/cgroups/tests/run-v2-vm.sh
bash tests/vm/run-v2-e2e.sh
# hullrt's systemd cgroup driver beside runc, in a guest booting systemd on cgroup v2.
bash tests/vm/run-systemd.sh
