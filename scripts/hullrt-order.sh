#!/bin/bash
# Regenerates crates/hullrt/hot.order, the list of functions scripts/hullrt-link.sh places
# first in the release hullrt: the functions a profile saw `exec` run (its first image, the
# sealed re-exec and the forked child that joins the container), then those `start`, `delete`
# and `state` ran that exec did not. Each verb runs once under valgrind's callgrind, which
# records every function executed (not a sample), on a busybox bundle with `sleep` running.
# Run it after changes that move much code on those paths (a stale list only costs layout;
# see hullrt-link.sh), then rebuild with scripts/build-hullrt.sh --release:
#
#   sudo bash scripts/hullrt-order.sh            # builds an unstripped release hullrt first
#   sudo HULLRT=path/to/unstripped bash scripts/hullrt-order.sh
#
# `create` is not profiled: callgrind does not follow its clone into new namespaces.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
((EUID == 0)) || { echo "hullrt-order: must run as root" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "hullrt-order: valgrind not installed" >&2; exit 1; }
if [[ -n ${HULLRT:-} ]]; then
  hullrt=$(realpath "$HULLRT")
else
  bash scripts/build-hullrt.sh --release
  hullrt=$repo/target/release/hullrt.unstripped
fi
nm "$hullrt" 2>/dev/null | grep ' T main$' >/dev/null || { echo "hullrt-order: $hullrt has no symbol table" >&2; exit 1; }

tmp=$(mktemp -d /tmp/hull-order.XXXXXX)
id=hord$$
rt=("$hullrt" --root "$tmp/root")
cleanup() {
  "${rt[@]}" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# The forked processes write their profiles after joining the container's mount namespace:
# the same path exists in the (writable) rootfs, and those files are collected from there.
mkdir -p "$tmp/bundle/rootfs/bin" "$tmp/cg" "$tmp/bundle/rootfs$tmp/cg"
cp /bin/busybox "$tmp/bundle/rootfs/bin/busybox"
for l in true sleep sh; do ln -s busybox "$tmp/bundle/rootfs/bin/$l"; done
(cd "$tmp/bundle" && runc spec)
python3 - "$tmp/bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sleep", "1000"]
c["root"]["readonly"] = False
# valgrind refuses to raise RLIMIT_NOFILE (it keeps fds of its own): a limit it allows.
c["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "hard": 0, "soft": 0}]
json.dump(c, open(p, "w"))
EOF

# One verb under callgrind; its output files (one per process) are named after the verb.
cg() {
  local name=$1
  shift
  valgrind -q --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$tmp/cg/$name.%p" "$@" </dev/null >/dev/null
}
(cd "$tmp/bundle" && "${rt[@]}" create "$id" </dev/null >/dev/null 2>&1)
cg start "${rt[@]}" start "$id"
# The first image runs until it re-execs from its sealed view (valgrind does not follow it);
# HULLRT_SEALED=1 runs the sealed image's work, and its fork, under valgrind.
cg exec0 "${rt[@]}" exec "$id" /bin/true
HULLRT_SEALED=1 cg exec1 "${rt[@]}" exec "$id" /bin/true
cg state "${rt[@]}" state "$id"
cg delete "${rt[@]}" delete --force "$id"

# Functions in the order callgrind first names them, exec's first.
out=crates/hullrt/hot.order
{
  echo "# Functions hullrt's lifecycle verbs run, exec's first (scripts/hullrt-order.sh made it"
  echo "# from $(basename "$hullrt") at $(git rev-parse --short HEAD); scripts/hullrt-link.sh reads it)."
  for v in exec0 exec1 start state delete; do
    for f in "$tmp/cg/$v".* "$tmp/bundle/rootfs$tmp/cg/$v".*; do
      [[ -f $f ]] || continue
      sed -n -E 's/^c?fn=(\([0-9]+\) )?(.+)$/\2/p' "$f"
    done
  done | sed -E "s/'[0-9]+$//" | grep -v '^0x' | awk '!seen[$0]++'
} >"$out.new"
mv "$out.new" "$out"
echo "hullrt-order: $(grep -vc '^#' "$out") functions in $out"
