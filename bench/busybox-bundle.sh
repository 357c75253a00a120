# Sourced by the runtime benchmarks: `busybox_bundle DIR ARG...` makes DIR an OCI bundle, a
# rootfs holding only busybox (with true, sleep and sh linked to it) and runc's default
# config.json (`runc spec`) without a terminal, running ARG... .
busybox_bundle() {
  local dir=$1
  shift
  mkdir -p "$dir/rootfs/bin"
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  for l in true sleep sh; do ln -s busybox "$dir/rootfs/bin/$l"; done
  (cd "$dir" && runc spec)
  python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = sys.argv[2:]
json.dump(c, open(path, "w"), indent=2)
PY
}
