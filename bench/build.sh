#!/bin/bash
# Times `hull build` beside docker's classic builder (DOCKER_BUILDKIT=0) and BuildKit (when
# that dockerd has it), a private dockerd
# with its own containerd, data root and socket) and buildah (installed when missing), in one run,
# on two Dockerfiles from the same busybox base image loaded into each:
#   small-files: a COPY of 2000 small files, then a RUN over them
#   multi-stage: a RUN that makes files in one stage, a COPY --from into a second
# For each: cold (no cache), warm (nothing changed) and one changed file; the median of
# BENCH_N runs, and hull's time as a ratio of each other builder's. The machine's 1-minute
# load average when each builder's runs of a context began and ended is printed beside them.
#
#   sudo bash bench/build.sh
#   sudo BENCH_N=5 HULL_BIN=target/debug/hull bash bench/build.sh
#
# Environment: BENCH_N (runs per case, default 3), HULL_BIN (default: a release build).
# Exits 0 whatever the numbers: this is a benchmark, not a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
N=${BENCH_N:-3}
die() { echo "build-bench: $*" >&2; exit 1; }
((EUID == 0)) || die "must run as root"
for t in dockerd containerd docker python3 busybox; do
  command -v "$t" >/dev/null || die "$t not found (install with: bash scripts/deps.sh)"
done
hull=${HULL_BIN:-}
if [[ -z $hull ]]; then
  echo "building hull (release)..."
  (cd "$repo" && cargo build --release -q -p hull && bash scripts/build-hullrt.sh --release && cargo build-monitor --release -q) ||
    die "release build failed"
  hull=$repo/target/release/hull
fi
hull=$(realpath "$hull")

tmp=$(mktemp -d /tmp/hull-build-bench.XXXXXX)
ctd_pid="" dockerd_pid=""
cleanup() {
  trap - EXIT INT TERM
  [[ -n $dockerd_pid ]] && kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  [[ -n $ctd_pid ]] && kill "$ctd_pid" 2>/dev/null && wait "$ctd_pid" 2>/dev/null || true
  findmnt -rn -o TARGET | grep "^$tmp" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat >"$tmp/containerd.toml" <<EOF
version = 2
root = "$tmp/ctd-root"
state = "$tmp/ctd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$tmp/c.sock"
EOF
containerd --config "$tmp/containerd.toml" >"$tmp/containerd.log" 2>&1 & ctd_pid=$!
echo '{}' >"$tmp/daemon.json"
sleep 1
dockerd --config-file "$tmp/daemon.json" --containerd "$tmp/c.sock" --data-root "$tmp/data" \
  --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" -H "unix://$tmp/d.sock" \
  --iptables=false --ip6tables=false --ip-masq=false --bridge=none >"$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!
docker_() { DOCKER_BUILDKIT=${BK:-0} DOCKER_CONFIG=$tmp/client /usr/bin/docker -H "unix://$tmp/d.sock" "$@"; }
for _ in $(seq 60); do docker_ version >/dev/null 2>&1 && break; sleep 1; done
docker_ version >/dev/null 2>&1 || die "dockerd did not start: $(tail -5 "$tmp/dockerd.log")"
hull_() { "$hull" --root "$tmp/hull-root" --runroot "$tmp/hull-run" "$@"; }
buildah_=""
# buildah is only the bench's (no test needs it): installed here when missing.
command -v buildah >/dev/null || apt-get install -y --no-install-recommends buildah >/dev/null 2>&1 ||
  echo "buildah could not be installed: benchmarking without it" >&2
if command -v buildah >/dev/null; then
  # runc: Debian's buildah defaults to crun, which refuses a cgroup v1 hybrid host.
  rt=()
  command -v runc >/dev/null && rt=(--runtime "$(command -v runc)")
  buildah_() { buildah --root "$tmp/bh-root" --runroot "$tmp/bh-run" --storage-driver vfs "$@"; }
  buildah_=yes
fi

echo "loading the base image..."
mkdir -p "$tmp/base/bin" "$tmp/base/etc" "$tmp/base/tmp"
cp "$(command -v busybox)" "$tmp/base/bin/busybox"
for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$tmp/base/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$tmp/base/etc/passwd"
tar -C "$tmp/base" -cf "$tmp/base.tar" .
hull_ import "$tmp/base.tar" bench/base:1 >/dev/null
hull_ save -o "$tmp/base-image.tar" bench/base:1
docker_ load -i "$tmp/base-image.tar" >/dev/null
[[ -n $buildah_ ]] && buildah_ pull -q "docker-archive:$tmp/base-image.tar" >/dev/null && buildah_ tag "$(buildah_ images -q | head -1)" bench/base:1

mk_ctx() { # the two contexts
  local c=$tmp/ctx-small
  mkdir -p "$c/files"
  python3 - "$c/files" <<'EOF'
import os, sys
for i in range(2000):
    d = os.path.join(sys.argv[1], f"d{i // 100}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "w") as f:
        f.write(f"file {i}\n" * 20)
EOF
  printf 'FROM bench/base:1\nCOPY files /files\nRUN find /files -type f | wc -l > /count\nCMD ["cat", "/count"]\n' >"$c/Dockerfile"
  c=$tmp/ctx-multi
  mkdir -p "$c"
  echo one >"$c/input"
  printf 'FROM bench/base:1 AS build\nCOPY input /src/input\nRUN mkdir /out && for i in $(seq 200); do cat /src/input > /out/f$i; done\nFROM bench/base:1\nCOPY --from=build /out /out\nRUN ls /out | wc -l > /n\n' >"$c/Dockerfile"
}
mk_ctx

# time_one BUILDER CTX [ARGS]: seconds of one build (no network: the private dockerd has no
# bridge, and no step needs one).
time_one() {
  local b=$1 ctx=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  case $b in
    hull) hull_ build -q --network none -t bench/out:1 "$@" "$ctx" >/dev/null ;;
    docker) docker_ build -q --network none -t bench/out:1 "$@" "$ctx" >/dev/null ;;
    buildkit) BK=1 docker_ build -q --network none -t bench/out:1 "$@" "$ctx" >/dev/null ;;
    buildah) buildah_ bud "${rt[@]}" -q --layers --network none -t bench/out:1 "$@" "$ctx" >/dev/null ;;
  esac
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }

builders=(hull docker)
BK=1 docker_ build -q - </dev/null >/dev/null 2>&1 <<<"FROM bench/base:1" && builders+=(buildkit)
[[ -n $buildah_ ]] && builders+=(buildah)
declare -A res
for ctx in small multi; do
  c=$tmp/ctx-$ctx
  for b in "${builders[@]}"; do
    cold=() warm=() changed=()
    load0=$(cut -d' ' -f1 /proc/loadavg)
    for i in $(seq "$N"); do
      cold+=("$(time_one "$b" "$c" --no-cache)")
      warm+=("$(time_one "$b" "$c")")
      # Content no builder has seen (each builder's cold run saw the one before).
      f=$c/input; [[ $ctx == small ]] && f=$c/files/d3/f300
      echo "change $b $i $(date +%s%N)" >"$f"
      changed+=("$(time_one "$b" "$c")")
    done
    res[$ctx,$b,cold]=$(median "${cold[@]}")
    res[$ctx,$b,warm]=$(median "${warm[@]}")
    res[$ctx,$b,changed]=$(median "${changed[@]}")
    res[$ctx,$b,load]="$load0-$(cut -d' ' -f1 /proc/loadavg)"
    # As it goes (a long run still shows what it measured).
    echo "$ctx $b: cold ${cold[*]}, warm ${warm[*]}, changed ${changed[*]} (load ${res[$ctx,$b,load]})" >&2
  done
done

printf '\n%-12s %-8s %10s %10s %10s %12s\n' context builder cold warm changed load
for ctx in small multi; do
  for b in "${builders[@]}"; do
    printf '%-12s %-8s %9ss %9ss %9ss %12s\n' "$ctx" "$b" "${res[$ctx,$b,cold]}" "${res[$ctx,$b,warm]}" "${res[$ctx,$b,changed]}" "${res[$ctx,$b,load]}"
  done
  for b in "${builders[@]:1}"; do
    printf '%-12s hull/%-4s %10s %10s %10s\n' "$ctx" "$b" \
      "$(python3 -c "print(f'{${res[$ctx,hull,cold]}/${res[$ctx,$b,cold]}:.2f}')")" \
      "$(python3 -c "print(f'{${res[$ctx,hull,warm]}/${res[$ctx,$b,warm]}:.2f}')")" \
      "$(python3 -c "print(f'{${res[$ctx,hull,changed]}/${res[$ctx,$b,changed]}:.2f}')")"
  done
done
