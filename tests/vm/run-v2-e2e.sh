#!/bin/bash
# Build hullrt and the end-to-end cgroup tests (tests/runtime/cgroups.rs) on the host and run them as
# root inside a QEMU guest whose only hierarchy is cgroup v2 (tests/vm/guest.sh). Prints
# "SKIPPED: ..." and exits 0 when the guest cannot be started.
#
# The guest sees a copy laid out like target/debug (DIR/target/hullrt beside
# DIR/target/deps/cgroups-*), so the tests find hullrt exactly as they do on the host.
# Extra arguments go to the test binary (a test name filter, --nocapture...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VM=${HULL_VM_SCRIPT:-$ROOT/tests/vm/guest.sh}

skip() { echo "SKIPPED: e2e cgroup v2 guest tests: $*"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
[ -x "$VM" ] || skip "VM runner $VM not found"
[ "$(id -u)" = 0 ] || skip "the VM runner needs root"

cd "$ROOT"
# hullrt optimised, in a target dir of its own (no LTO: a quick build, and target/release is
# left alone): under software emulation a debug hullrt spends seconds per call.
CARGO_TARGET_DIR=target/vm-e2e cargo build --release -p hullrt \
  --config 'profile.release.lto=false' --config 'profile.release.codegen-units=16'
out=$(cargo test -p hull-e2e --test cgroups --no-run 2>&1) || { echo "$out"; exit 1; }
bin=$(echo "$out" | sed -n 's/.*Executable runtime\/cgroups\.rs (\(.*\))$/\1/p' | tail -1)
[ -n "$bin" ] && [ -x "$bin" ] || { echo "$out"; echo "cannot find the runtime/cgroups.rs test binary" >&2; exit 1; }

dir=$(mktemp -d /tmp/hull-e2e-vm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/target/deps"
cp target/vm-e2e/release/hullrt "$dir/target/hullrt"
strip --strip-debug -o "$dir/target/deps/cgroups" "$bin"
cp "$HERE/test.sh" "$dir/test.sh"
printf '%q ' "$@" > "$dir/args"
echo "running $bin against target/vm-e2e/release/hullrt in a cgroup v2 guest ($dir)"
"$VM" "$dir"
