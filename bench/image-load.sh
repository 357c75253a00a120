#!/bin/bash
# Times loading a ~200 MB docker-archive into hull's image store against `podman load`, in
# one run: N loads each into a fresh private root (podman with its own --root/--runroot),
# median wall time, throughput, and hull's throughput as a multiple of podman's.
#
#   sudo bash bench/image-load.sh
#   sudo BENCH_N=5 BENCH_MB=400 PODMAN_DRIVER=vfs bash bench/image-load.sh
#
# The archive: three uncompressed layers of random bytes (as `docker save` writes them): a
# few large files, a few hundred medium ones, some thousands of small ones. hull loads it
# with `hull load -i` once the CLI has that verb, else with the image store's example driver
# (crates/image/examples/imgtool.rs); both are release builds.
# Environment: BENCH_N (loads per tool, default 3), BENCH_MB (archive size, default 200),
# PODMAN_DRIVER (overlay or vfs, default overlay), HULL_LOADER ("hull" or "imgtool").
# Exits 0 whatever the numbers: this is a benchmark, not a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
N=${BENCH_N:-3}
MB=${BENCH_MB:-200}
DRIVER=${PODMAN_DRIVER:-overlay}

die() { echo "image-load: $*" >&2; exit 1; }
((EUID == 0)) || die "must run as root"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_N: must be a positive integer, got '$N'"
[[ $MB =~ ^[1-9][0-9]*$ ]] || die "BENCH_MB: must be a positive integer, got '$MB'"
[[ $DRIVER == overlay || $DRIVER == vfs ]] || die "PODMAN_DRIVER: overlay or vfs, got '$DRIVER'"
for tool in podman python3; do
  command -v "$tool" >/dev/null || die "$tool not found (install with: bash scripts/deps.sh)"
done

loader=${HULL_LOADER:-}
if [[ -z $loader ]]; then
  if [[ -f $repo/crates/hull/src/cmd/load.rs ]]; then loader=hull; else loader=imgtool; fi
fi
echo "building the $loader loader (release)..."
case $loader in
  hull)
    (cd "$repo" && cargo build --release -q -p hull) || die "cargo build --release -p hull failed"
    hull_load() { "$repo/target/release/hull" --root "$1" load -i "$2" >/dev/null; } ;;
  imgtool)
    (cd "$repo" && cargo build --release -q -p hull-image --example imgtool) ||
      die "cargo build --release --example imgtool failed"
    hull_load() { "$repo/target/release/examples/imgtool" "$1" load "$2" >/dev/null; } ;;
  *) die "HULL_LOADER: hull or imgtool, got '$loader'" ;;
esac

tmp=$(mktemp -d /var/tmp/hull-image-bench.XXXXXX)
cleanup() {
  trap - EXIT INT TERM
  # podman's overlay driver may leave its home bind-mounted; unmount only what is ours.
  findmnt -rn -o TARGET | grep "^$tmp" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

echo "building a ${MB} MB docker-archive..."
python3 - "$tmp/image.tar" "$MB" <<'EOF'
import hashlib, io, json, os, random, sys, tarfile
out, mb = sys.argv[1], int(sys.argv[2])
total = mb << 20
rng = random.Random(42)
# (share of the bytes, file size): big files, medium files, many small ones.
plan = [(0.4, 8 << 20), (0.4, 256 << 10), (0.2, 16 << 10)]
layers = []
for li, (share, size) in enumerate(plan):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        count = max(1, int(total * share) // size)
        for d in range(0, count, 100):
            info = tarfile.TarInfo(f"l{li}/d{d // 100}")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            t.addfile(info)
        for i in range(count):
            data = rng.randbytes(size)
            info = tarfile.TarInfo(f"l{li}/d{i // 100}/f{i}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            t.addfile(info, io.BytesIO(data))
    layers.append(buf.getvalue())
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cid = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{"Config": f"{cid}.json", "RepoTags": ["bench/load:1"],
                        "Layers": [f"{d[7:]}/layer.tar" for d in diff_ids]}]).encode()
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data):
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        t.addfile(info, io.BytesIO(data))
    for d, l in zip(diff_ids, layers):
        add(f"{d[7:]}/layer.tar", l)
    add(f"{cid}.json", config)
    add("manifest.json", manifest)
EOF
size=$(stat -c %s "$tmp/image.tar")
echo "archive: $((size >> 20)) MiB, $(tar -tf "$tmp/image.tar" | wc -l) members"

now() { date +%s.%N; }
run_podman() {
  local r=$tmp/podman-$1
  podman --root "$r/root" --runroot "$r/run" --storage-driver "$DRIVER" \
    load -q -i "$tmp/image.tar" >/dev/null
}
run_hull() { hull_load "$tmp/hull-$1" "$tmp/image.tar"; }

declare -A times
# Warm the page cache with the archive so neither tool pays for the first read alone.
cat "$tmp/image.tar" >/dev/null
for i in $(seq 1 "$N"); do
  for tool in podman hull; do
    sync
    t0=$(now)
    "run_$tool" "$i" || die "$tool load failed"
    sync
    t1=$(now)
    times[$tool]+="$(python3 -c "print($t1 - $t0)") "
    if [[ $tool == podman ]]; then
      findmnt -rn -o TARGET | grep "^$tmp/podman-$i" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    fi
    rm -rf "$tmp/$tool-$i"
  done
done

python3 - "$size" "${times[podman]}" "${times[hull]}" "$DRIVER" "$loader" <<'EOF'
import statistics, sys
size, driver, loader = int(sys.argv[1]), sys.argv[4], sys.argv[5]
p = [float(x) for x in sys.argv[2].split()]
h = [float(x) for x in sys.argv[3].split()]
mp, mh = statistics.median(p), statistics.median(h)
mib = size / (1 << 20)
print(f"{'tool':<26}{'median s':>10}{'MiB/s':>10}   runs (s, each ending with sync)")
print(f"{'podman load (' + driver + ')':<26}{mp:>10.2f}{mib / mp:>10.0f}   " + " ".join(f"{x:.2f}" for x in p))
print(f"{'hull (' + loader + ')':<26}{mh:>10.2f}{mib / mh:>10.0f}   " + " ".join(f"{x:.2f}" for x in h))
print(f"hull throughput / podman throughput: {mp / mh:.2f}x (target: >= 1)")
EOF
