#!/bin/bash
# hullrt's systemd cgroup driver (--systemd-cgroup), side by side with runc, inside a QEMU
# guest that boots systemd on a cgroup v2-only hierarchy (tests/vm/systemd-guest.sh; the
# checks are tests/vm/systemd-test.sh). VM_CGROUP=hybrid runs the same checks on systemd's
# v1 layout. Prints "SKIPPED: ..." and exits 0 when the guest cannot be started.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

skip() { echo "SKIPPED: systemd guest tests: $*"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
command -v debootstrap >/dev/null || skip "debootstrap not installed (scripts/deps.sh installs it)"
[ "$(id -u)" = 0 ] || skip "building and booting the guest needs root"
bb=$(command -v busybox) || skip "busybox-static not installed"

cd "$ROOT"
# hullrt optimised, in the target dir run-v2-e2e.sh uses (no LTO: a quick build): under
# software emulation a debug hullrt spends seconds per call.
CARGO_TARGET_DIR=target/vm-e2e cargo build --release -p hullrt \
  --config 'profile.release.lto=false' --config 'profile.release.codegen-units=16'
# hull itself as the tests build it (debug: it is not where the time goes).
cargo build -p hull -p hull-pause
cargo build-monitor
# The CRI client that plays the kubelet in systemd-cri.sh.
cargo build -p hull-e2e --example cri-guest

dir=$(mktemp -d /tmp/hull-sd-vm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp target/vm-e2e/release/hullrt "$dir/hullrt"
for b in hull hull-monitor hull-pause; do strip --strip-debug -o "$dir/$b" "target/debug/$b"; done
cp "$HERE/systemd-test.sh" "$HERE/systemd-clients.sh" "$HERE/systemd-cri.sh" "$HERE/systemd-hull.sh" "$dir/"
strip --strip-debug -o "$dir/cri-guest" target/debug/examples/cri-guest
"$dir/cri-guest" images "$dir/cri" target/debug/hull-pause
# The driver's own checks, then the clients', the CRI pod's, then hull's engine, in one boot.
# VM_TESTS picks some of them (by hand: VM_TESTS=systemd-hull.sh).
cat >"$dir/test.sh" <<EOF
#!/bin/sh
cd "\$(dirname "\$0")"
rc=0
for t in ${VM_TESTS:-systemd-test.sh systemd-clients.sh systemd-cri.sh systemd-hull.sh}; do
  t0=\$(cut -d. -f1 /proc/uptime)
  sh ./\$t || rc=1
  echo "(\$t: \$((\$(cut -d. -f1 /proc/uptime) - t0)) s)"
done
exit \$rc
EOF
chmod +x "$dir/test.sh"
b="$dir/bundle"
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
cp "$bb" "$b/rootfs/bin/busybox"
for a in sh cat echo sleep tail grep sed true; do ln -s busybox "$b/rootfs/bin/$a"; done
(cd "$b" && "$dir/hullrt" spec)
# What the container reports from inside, then it waits to be updated, paused and killed.
python3 - "$b/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c",
    "echo inside.cgroup=$(cat /proc/self/cgroup); "
    "echo inside.memory.max=$(cat /sys/fs/cgroup/memory.max 2>&1); "
    "echo inside.pids.max=$(cat /sys/fs/cgroup/pids.max 2>&1); "
    "echo inside.end; exec sleep 1000"]
c["root"]["readonly"] = False
c["linux"]["cgroupsPath"] = "@CGROUPS_PATH@"
c["linux"]["resources"] = {
    "memory": {"limit": 67108864, "reservation": 16777216, "swap": 134217728},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
    "pids": {"limit": 42},
    "devices": [{"allow": False, "access": "rwm"}],
}
json.dump(c, open(p, "w"))  # one line: systemd-test.sh edits it with sed
EOF
echo "running tests/vm/systemd-test.sh in the systemd guest (${VM_CGROUP:-v2}, $dir)"
"$HERE/systemd-guest.sh" "$dir"
