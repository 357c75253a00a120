#!/bin/sh
# Runs inside the systemd guest after systemd-test.sh (see run-systemd.sh): the clients that
# choose systemd's cgroup driver on such hosts, each driving runc and then hullrt the same way
# (containerd with SystemdCgroup, podman with cgroup_manager systemd, docker with
# native.cgroupdriver=systemd). Each container reports its cgroup (host view: the client's
# scope) and memory limit and exits 3; the two runtimes' reports and exit codes must match,
# and no unit or container may be left.
set -u
cd "$(dirname "$0")"
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  echo "SKIPPED: the clients run in the cgroup v2 guest only (this one is systemd's v1 layout)"
  exit 0
fi
W=/run/hulltest-clients
rm -rf $W && mkdir -p $W
cp -a bundle/rootfs $W/rootfs
command -v hullrt >/dev/null || install -m 755 hullrt /usr/local/bin/hullrt
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# What every container runs: where it is (the scope, with the host's cgroup view), its
# memory limit, then exit 3.
# Without a cgroup namespace runc mounts the whole hierarchy at /sys/fs/cgroup where a client
# asks for a cgroup mount, hullrt binds the container's own cgroup there (a difference of
# the mount, not of the driver): the limit is read from whichever is there.
CMD='cg=$(sed -n "s/^0:://p" /proc/self/cgroup); echo cgroup=$cg; echo memory.max=$(cat /sys/fs/cgroup$cg/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory.max); exit 3'
# Container ids differ between runs: keep their shape, not their value.
norm() { sed -E 's/[0-9a-f]{64}/ID/g; s/-(runc|hullrt)-[0-9]+/-RT-N/g'; }
side_by_side() { # client name, then its runc and hullrt outputs
  echo "--- $1 (runc, then hullrt)"; cat "$W/$1.runc"; cat "$W/$1.hullrt"
  grep -q '^exit=3$' "$W/$1.hullrt" || fail "$1 with hullrt: no exit 3"
  grep -q '^memory.max=67108864$' "$W/$1.hullrt" || fail "$1 with hullrt: memory.max is not 64M"
  grep -q "^cgroup=/.*\.scope$" "$W/$1.hullrt" || fail "$1 with hullrt: not in a systemd scope"
  norm <"$W/$1.runc" >"$W/$1.runc.n"; norm <"$W/$1.hullrt" >"$W/$1.hullrt.n"
  if ! diff -u "$W/$1.runc.n" "$W/$1.hullrt.n" >"$W/$1.diff"; then
    fail "$1: hullrt differs from runc"; cat "$W/$1.diff"
  fi
}

# containerd: SystemdCgroup, as kubeadm configures it; ctr with a plain rootfs (no registry;
# its default spec has no cgroup mount, so one is asked for).
mkdir -p /etc/containerd
cat >/etc/containerd/config.toml <<'EOF'
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
EOF
if systemctl start containerd; then
  for rt in runc hullrt; do
    id="ctr-$rt-$$"
    ctr run --rm --rootfs --runc-binary "$(command -v $rt)" --runc-systemd-cgroup \
      --cgroup "system.slice:hulltest:$id" --memory-limit 67108864 \
      --mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec \
      $W/rootfs "$id" /bin/sh -c "$CMD" >$W/containerd.$rt 2>&1
    echo "exit=$?" >>$W/containerd.$rt
  done
  side_by_side containerd
  systemctl stop containerd
else
  fail "containerd did not start"
fi

# podman: cgroup_manager systemd (its default under systemd), --runtime hullrt.
for rt in runc hullrt; do
  podman --cgroup-manager systemd --runtime "$(command -v $rt)" --storage-driver vfs \
    --root $W/podman/root --runroot $W/podman/run \
    run --rm --network none --cgroupns host --memory 64m --rootfs $W/rootfs \
    /bin/sh -c "$CMD" >$W/podman.$rt 2>&1
  echo "exit=$?" >>$W/podman.$rt
done
side_by_side podman

# docker: native.cgroupdriver=systemd, hullrt as a named runtime.
mkdir -p /etc/docker
cat >/etc/docker/daemon.json <<EOF
{"exec-opts": ["native.cgroupdriver=systemd"], "iptables": false, "bridge": "none",
 "storage-driver": "vfs", "runtimes": {"hullrt": {"path": "$(command -v hullrt)"}}}
EOF
if systemctl start docker; then
  tar -C $W/rootfs -c . | docker import - hulltest:1 >/dev/null
  for rt in runc hullrt; do
    docker run --rm --runtime "$rt" --network none --cgroupns host --memory 64m hulltest:1 \
      /bin/sh -c "$CMD" >$W/docker.$rt 2>&1
    echo "exit=$?" >>$W/docker.$rt
  done
  side_by_side docker
  docker rmi -f hulltest:1 >/dev/null 2>&1
  systemctl stop docker docker.socket containerd
else
  fail "dockerd did not start: $(journalctl -u docker --no-pager | tail -5)"
fi

left=$(systemctl list-units --all --plain --no-legend '*hulltest*.scope' 'docker-*' 'libpod-*' |
  awk '{print $1}')
[ -z "$left" ] || fail "units left behind: $left"
[ $fails = 0 ] && echo "PASS: containerd, podman, docker with hullrt and the systemd driver" ||
  echo "$fails client failure(s)"
[ $fails = 0 ]
