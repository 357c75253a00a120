#!/bin/bash
# Re-captures tests/testdata/corpus/: the config.json files that real clients hand to their OCI
# runtime, recorded by a wrapper given to each client as its runtime. The wrapper copies
# `<bundle>/config.json` on `create` (to CASE.json, CASE named by the script before each run)
# and then execs runc with the same arguments, so every container really runs.
#
# Clients (each with private state, sockets and dirs; nothing global is touched):
#   docker   a private dockerd (Debian docker.io 20.10) with --add-runtime rec=WRAPPER
#   podman   podman 4.3 with --runtime WRAPPER, private --root/--runroot, cgroupfs
#   ctr      containerd 1.6 (a private instance) with `ctr run --runc-binary WRAPPER`
#   runc     `runc spec` and `runc spec --rootless`
#   cri      containerd 1.6's CRI plugin (a private instance) driven by tests/clients/corpus_cri.rs
# Usage: scripts/capture-corpus.sh [docker|podman|ctr|cri|runc]...   (default: all). As root.
set -euo pipefail
for b in jq runc busybox; do
  command -v "$b" >/dev/null || { echo "capture-corpus: $b is missing (apt-get install jq runc busybox-static)" >&2; exit 1; }
done
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/tests/testdata/corpus
mkdir -p "$out"
work=$(mktemp -d /tmp/capture-corpus.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  find /sys/fs/cgroup -maxdepth 2 -name "capture-corpus-$$" -type d -exec rmdir {} + 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The recording wrapper.
cat >"$work/rec" <<EOF
#!/bin/bash
bundle=
prev=
create=
for a in "\$@"; do
  [ "\$a" = create ] && create=1
  case "\$prev" in --bundle|-b) bundle=\$a;; esac
  case "\$a" in --bundle=*) bundle=\${a#--bundle=};; esac
  prev=\$a
done
[ -z "\$bundle" ] && bundle=\$PWD
case=\$(cat "$work/case" 2>/dev/null || true)
if [ -n "\$create" ] && [ -n "\$case" ] && [ -f "\$bundle/config.json" ]; then
  jq -S . "\$bundle/config.json" >"$out/\$case.json"
  : >"$work/case"
fi
# Where this machine's hard RLIMIT_NOFILE is below what the client asks for (podman asks for
# 1048576) and raising it is not permitted (no CAP_SYS_RESOURCE in a sandbox), the bundle (not
# the captured copy) gets the machine's limit, so that the container runs: a pod's infra
# container must run for its members' configs to name its namespaces.
if [ -n "\$create" ] && [ -f "\$bundle/config.json" ]; then
  hard=\$(ulimit -Hn)
  jq --argjson h "\$hard" 'if .process.rlimits then .process.rlimits |= map(if .hard > \$h then .hard = \$h | .soft = ([.soft, \$h] | min) else . end) else . end' \
    "\$bundle/config.json" >"\$bundle/config.json.rec" && mv "\$bundle/config.json.rec" "\$bundle/config.json"
fi
exec runc "\$@"
EOF
chmod 755 "$work/rec"
setcase() { echo "$1" >"$work/case"; }

# The busybox rootfs every client runs.
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in sh true sleep cat; do ln -s busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
printf '#!/bin/sh\nexec sleep 1000\n' >"$rootfs/pause"  # podman's infra command
chmod 755 "$rootfs/pause"
tar -C "$rootfs" -cf "$work/rootfs.tar" .

wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.2; done; echo "no socket $1" >&2; exit 1; }

capture_docker() {
  command -v dockerd >/dev/null || { echo "capture-corpus: dockerd is missing (apt-get install docker.io)" >&2; exit 1; }
  local d=$work/docker sock=$work/docker/docker.sock
  mkdir -p "$d"
  dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$sock" \
    --iptables=false --ip-masq=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs \
    --cgroup-parent "/capture-corpus-$$" \
    --add-runtime "rec=$work/rec" >"$d/log" 2>&1 &
  pids+=($!)
  wait_sock "$sock"
  local dk=(docker -H "unix://$sock")
  "${dk[@]}" import "$work/rootfs.tar" difftest/busybox >/dev/null
  run() { local c=$1; shift; setcase "docker-$c"; "${dk[@]}" run --rm --runtime rec "$@" difftest/busybox true || echo "docker-$c: the run failed (the config is captured at create)"; }
  mkdir -p "$work/vol"
  run default
  run read-only --read-only
  run tmpfs --tmpfs /scratch:size=8m,mode=1777
  run volume -v "$work/vol:/data" -v "$work/vol:/ro:ro"
  run user --user 1000:1000 --group-add 10
  run caps --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-drop CHOWN --cap-drop KILL
  run cap-drop-all --cap-drop ALL
  run privileged --privileged
  run limits --memory 64m --cpus 0.5 --pids-limit 50 --cpu-shares 512
  run no-new-privs --security-opt no-new-privileges
  run seccomp-unconfined --security-opt seccomp=unconfined
  run sysctl --sysctl net.ipv4.ip_forward=1 --sysctl net.core.somaxconn=1024
  run ulimit --ulimit nofile=1024:2048 --ulimit nproc=500
  run device --device /dev/fuse --device /dev/null:/dev/xnull:r
  run init --init
  run network-none --network none
  run workdir-env -w /tmp -e FOO=bar -e HOME=/root -h myhost
  "${dk[@]}" run -d --name peer --ipc shareable difftest/busybox sleep 1000 >/dev/null
  run network-container --network container:peer
  run ipc-container --ipc container:peer
  run pid-container --pid container:peer
  "${dk[@]}" rm -f peer >/dev/null
  run pid-host --pid host
  run network-host --network host
  run ipc-host --ipc host
  run uts-host --uts host
  run shm-size --shm-size 16m
  # docker wants the source of an rslave/rshared volume on a shared mount: one of our own.
  mount --bind "$work/vol" "$work/vol" && mount --make-shared "$work/vol"
  run volume-rslave -v "$work/vol:/data:rslave" --mount "type=bind,src=$work/vol,dst=/private,bind-propagation=rprivate"
  run volume-rshared -v "$work/vol:/data:rshared"
  run tmpfs-mount --mount type=tmpfs,dst=/scratch,tmpfs-size=4m,tmpfs-mode=0700
  # A custom profile that, like many older or hand-written ones, does not allow close_range.
  echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["close_range","mount"],"action":"SCMP_ACT_ERRNO"}]}' >"$work/seccomp.json"
  run seccomp-custom --security-opt "seccomp=$work/seccomp.json"
  run cgroupns-private --cgroupns private
  run limits-more --cpuset-cpus 0 --memory 32m --memory-swap 64m --memory-reservation 16m \
    --oom-score-adj 500 --blkio-weight 300 --cpu-quota 20000 --cpu-period 100000
  run hostname-domain -h box --domainname example.org --group-add 20 --user 0:0
}

capture_podman() {
  local d=$work/podman
  mkdir -p "$d"
  local pm=(podman --root "$d/root" --runroot "$d/run" --cgroup-manager cgroupfs --events-backend file
    --storage-driver vfs --runtime "$work/rec" --tmpdir "$d/tmp")
  "${pm[@]}" import "$work/rootfs.tar" localhost/difftest-busybox >/dev/null
  "${pm[@]}" import --change 'CMD ["/pause"]' "$work/rootfs.tar" localhost/difftest-infra >/dev/null
  run() { local c=$1; shift; setcase "podman-$c"; "${pm[@]}" run --rm --network none "$@" localhost/difftest-busybox true || echo "podman-$c: the run failed (the config is captured at create)"; }
  run default
  run read-only --read-only
  run read-only-tmpfs --read-only --read-only-tmpfs=false
  run tmpfs --tmpfs /scratch:size=8m
  run uidmap --uidmap 0:100000:65536 --gidmap 0:100000:65536
  run user --user 1000:1000
  run privileged --privileged
  run limits --memory 64m --cpus 0.5 --pids-limit 50
  run caps --cap-drop all --cap-add NET_BIND_SERVICE --cap-add CHOWN
  run no-new-privs --security-opt no-new-privileges
  run sysctl --sysctl net.ipv4.ip_forward=1 --sysctl kernel.msgmax=8192
  run ulimit --ulimit nofile=512:1024 --ulimit nproc=100
  run device --device /dev/fuse
  run pid-host --pid host
  run hostname-env -h box -e FOO=bar -w /tmp
  "${pm[@]}" pod create --name difftest-pod --infra-image localhost/difftest-infra \
    --network none >/dev/null
  setcase podman-pod-infra
  "${pm[@]}" pod start difftest-pod >/dev/null || true
  setcase podman-pod-member
  "${pm[@]}" run --rm --pod difftest-pod localhost/difftest-busybox true || true
  "${pm[@]}" pod rm -f difftest-pod >/dev/null
  "${pm[@]}" rm -af >/dev/null 2>&1 || true
}

capture_ctr() {
  local d=$work/containerd sock=$work/containerd/containerd.sock
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true
EOF
  containerd --config "$d/config.toml" >"$d/log" 2>&1 &
  pids+=($!)
  wait_sock "$sock"
  local c=(ctr --address "$sock" -n difftest)
  run() { local n=$1; shift; setcase "ctr-$n"; "${c[@]}" run --rm --runc-binary "$work/rec" --rootfs "$@" "$rootfs" "ctr-$n" /bin/true; }
  run default
  run privileged --privileged
  run read-only --read-only
  setcase ctr-tty  # ctr wants a terminal for --tty: script(1) gives it one
  script -qec "${c[*]} run --rm --tty --runc-binary $work/rec --rootfs $rootfs ctr-tty /bin/true" /dev/null >/dev/null
  run net-host --net-host
  run memory-limit --memory-limit 67108864
  run mount --mount "type=bind,src=$work,dst=/data,options=rbind:ro"
  run seccomp --seccomp
  run caps --cap-add CAP_SYS_ADMIN --cap-drop CAP_CHOWN --allow-new-privs
  run env-cwd --env FOO=bar --cwd /tmp --cpus 0.5
  sleep 1000 & local peer=$!
  run with-ns --with-ns "network:/proc/$peer/ns/net"
  kill $peer
}

capture_cri() {
  # containerd's CRI plugin needs a CRI client: tests/clients/corpus_cri.rs is one (k8s-cri), run
  # here only (it is #[ignore]d in the test suite).
  local d=$work/cri
  mkdir -p "$d"
  (cd "$repo" && cargo build -q -p hull-pause && CAPTURE_REC=$work/rec CAPTURE_CASE=$work/case CAPTURE_DIR=$d \
    cargo test -q -p hull-e2e --test corpus_cri -- --ignored --nocapture)
}

capture_runc() {
  (cd "$work" && runc spec && jq -S . config.json >"$out/runc-spec.json" && rm config.json)
  (cd "$work" && runc spec --rootless && jq -S . config.json >"$out/runc-spec-rootless.json" && rm config.json)
}

clients=("$@")
[ ${#clients[@]} -eq 0 ] && clients=(runc ctr cri podman docker)
for c in "${clients[@]}"; do "capture_$c"; done
# What the clients chose for this machine's paths, replaced here so the files do not depend on
# where the capture ran: the temporary directory becomes /CAPTURE (the replay maps it back).
sed -i "s#$work#/CAPTURE#g" "$out"/*.json
ls "$out"
