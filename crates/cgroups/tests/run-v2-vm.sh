#!/bin/bash
# Build crates/cgroups/tests/real.rs on the host and run it as root inside a QEMU guest whose
# only hierarchy is cgroup v2 (tests/vm/guest.sh).
# Prints "SKIPPED: ..." and exits 0 when the guest cannot be started here.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
VM=${HULL_VM_SCRIPT:-$ROOT/tests/vm/guest.sh}

skip() { echo "SKIPPED: $*"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
[ -x "$VM" ] || skip "VM runner $VM not found"
[ "$(id -u)" = 0 ] || skip "the VM runner needs root"

cd "$ROOT"
out=$(cargo test -p hull-cgroups --test real --no-run 2>&1) || { echo "$out"; exit 1; }
bin=$(echo "$out" | sed -n 's/.*Executable tests\/real.rs (\(.*\))$/\1/p' | tail -1)
[ -n "$bin" ] && [ -x "$bin" ] || { echo "$out"; echo "cannot find the real.rs test binary" >&2; exit 1; }

dir=$(mktemp -d /tmp/hull-cgroups-vm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$bin" "$dir/real"
cp "$HERE/vm/test.sh" "$dir/test.sh"
echo "running $bin in a cgroup v2 guest ($dir)"
"$VM" "$dir"
