#!/bin/bash
# Times `hull run --rm --network none busybox true` beside `podman run --rm --network none
# busybox true` with crun and with runc, in one run, with hyperfine. Podman gets a private
# --root/--runroot, the cgroupfs manager and the file events logger; its busybox image is
# imported from the same static busybox hull seeds its own from.
#
#   sudo bash bench/engine-run.sh               # builds release binaries, N=30
#   sudo BENCH_N=50 HULL=/usr/local/bin/hull bash bench/engine-run.sh
#   sudo HULL_BASE=/path/to/older/hull bash bench/engine-run.sh   # also an older hull (with
#                                       # its own hullrt and hull-monitor beside it), as a ratio
#
# crun 1.8 refuses hybrid cgroup hosts, so every command (hull's and podman's alike) runs as
# `unshare -m wrap.sh CMD`, where wrap.sh unmounts /sys/fs/cgroup/unified in that private
# mount namespace first; the wrapper's cost is in every number.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${BENCH_N:-30}
for tool in hyperfine podman crun runc python3 busybox unshare; do
  command -v "$tool" >/dev/null || { echo "engine-run: $tool is missing: bash scripts/deps.sh" >&2; exit 1; }
done
if [[ -z "${HULL:-}" ]]; then
  cargo build --release -q -p hull && bash scripts/build-hullrt.sh --release && cargo build-monitor --release -q
  HULL=$PWD/target/release/hull
fi
tmp=$(mktemp -d /tmp/hull-bench-engine.XXXXXX)
# Runtime state (--runroot) on tmpfs, where /run/hull and /run/containers live by default.
run=$(mktemp -d /run/hull-bench-engine.XXXXXX)
cleanup() {
  "$HULL" --root "$tmp/hull/root" --runroot "$run/hull" ps -aq --no-trunc 2>/dev/null |
    xargs -r "$HULL" --root "$tmp/hull/root" --runroot "$run/hull" rm -f >/dev/null 2>&1 || true
  for rt in crun runc; do
    podman --root "$tmp/podman-$rt/root" --runroot "$run/podman-$rt" rm -af >/dev/null 2>&1 || true
    podman --root "$tmp/podman-$rt/root" --runroot "$run/podman-$rt" system reset -f >/dev/null 2>&1 || true
  done
  grep -oE " ($tmp|$run)[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$tmp" "$run"
}
trap cleanup EXIT INT TERM

cat >"$tmp/wrap.sh" <<'W'
#!/bin/sh
umount /sys/fs/cgroup/unified 2>/dev/null
exec "$@"
W
chmod +x "$tmp/wrap.sh"
wrap="unshare -m $tmp/wrap.sh"

# This machine may not let root raise RLIMIT_NOFILE to podman's default (1048576): ask for
# what hull's containers get.
cat >"$tmp/containers.conf" <<'C'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
C
export CONTAINERS_CONF=$tmp/containers.conf

# A busybox rootfs tarball for podman's image.
mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp"
cp "$(command -v busybox)" "$tmp/rootfs/bin/busybox"
for a in sh true echo; do ln -s busybox "$tmp/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/rootfs/etc/passwd"
tar -C "$tmp/rootfs" -cf "$tmp/busybox.tar" .

hull="$wrap $HULL --root $tmp/hull/root --runroot $run/hull run --rm --network none busybox true"
podman_cmd() {
  echo "$wrap $(command -v podman) --root $tmp/podman-$1/root --runroot $run/podman-$1 --tmpdir $tmp/podman-$1/tmp --cgroup-manager cgroupfs --events-backend file --runtime $(command -v "$1") run --rm --network none localhost/busybox true"
}
for rt in crun runc; do
  podman --root "$tmp/podman-$rt/root" --runroot "$run/podman-$rt" import -q "$tmp/busybox.tar" localhost/busybox >/dev/null
done
echo "checking each command once:"
named=(-n hull "$hull")
if [[ -n ${HULL_BASE:-} ]]; then
  base="$wrap $HULL_BASE --root $tmp/base/root --runroot $run/base run --rm --network none busybox true"
  named+=(-n hull-base "$base")
fi
for c in "$hull" ${base:+"$base"} "$(podman_cmd crun)" "$(podman_cmd runc)"; do
  if ! $c >/dev/null 2>"$tmp/err"; then
    echo "FAILED: $c" >&2; cat "$tmp/err" >&2; exit 1
  fi
done
echo "host: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
hyperfine -N --warmup 3 --runs "$n" --export-json "$tmp/h.json" \
  "${named[@]}" -n podman-crun "$(podman_cmd crun)" -n podman-runc "$(podman_cmd runc)"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
h = r["hull"]["median"]
print(f"\n{'':12} {'median ms':>10} {'mean ms':>9}  hull/other")
for name, x in r.items():
    print(f"{name:12} {x['median']*1e3:10.1f} {x['mean']*1e3:9.1f}  {h/x['median']:.3f}")
if "hull-base" in r:
    print(f"hull / hull-base (the older hull): {h / r['hull-base']['median']:.3f}")
for other in ("podman-crun", "podman-runc"):
    ratio = h / r[other]["median"]
    print(f"target hull <= 0.25 x {other}: {ratio:.3f} {'PASS' if ratio <= 0.25 else 'MISS'}")
PY
