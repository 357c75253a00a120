#!/bin/sh
# Runs inside the systemd guest after systemd-clients.sh (see run-systemd.sh): containerd's CRI
# plugin with SystemdCgroup = true, driven as the kubelet's systemd driver drives it, by
# cri-guest (tests/vm/cri_guest.rs, built on the host), with the handlers runc and hullrt
# side by side. Their transcripts must be equal and pass; no scope or cgroup may be left.
set -u
cd "$(dirname "$0")"
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  echo "SKIPPED: the CRI pod runs in the cgroup v2 guest only (this one is systemd's v1 layout)"
  exit 0
fi
W=/run/hulltest-cri
rm -rf $W && mkdir -p $W
command -v hullrt >/dev/null || install -m 755 hullrt /usr/local/bin/hullrt
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# The root is an overlay: containerd's overlayfs snapshotter cannot stack on it.
mkdir -p /etc/containerd
cat >/etc/containerd/config.toml <<EOC
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "hull.test/pause:1"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "native"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hullrt]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hullrt.options]
  BinaryName = "$(command -v hullrt)"
  SystemdCgroup = true
EOC
if ! systemctl start containerd; then
  echo "FAIL: containerd did not start: $(journalctl -u containerd --no-pager | tail -5)"
  exit 1
fi
for i in cri/busybox/image.tar cri/pause/image.tar; do
  ctr -n k8s.io images import --snapshotter native "$i" >/dev/null || fail "ctr import $i"
done
sock=/run/containerd/containerd.sock
for rt in runc hullrt; do
  ./cri-guest pod $sock $rt >$W/$rt 2>&1 || fail "CRI pod with $rt"
done
echo "--- containerd CRI, SystemdCgroup (runc, then hullrt)"
cat $W/runc $W/hullrt
diff -u $W/runc $W/hullrt || fail "CRI: hullrt's transcript differs from runc's"
systemctl stop containerd
left=$(systemctl list-units --all --plain --no-legend 'cri-containerd-*.scope' | awk '{print $1}')
[ -z "$left" ] || fail "scopes left behind: $left"
# The kubelet stops a pod's slices once the pod is gone; so does this kubelet.
[ -z "$(find /sys/fs/cgroup/kubepods.slice -name '*.scope' 2>/dev/null)" ] ||
  fail "cgroups left: $(find /sys/fs/cgroup/kubepods.slice -name '*.scope')"
systemctl stop kubepods.slice 2>/dev/null
[ ! -d /sys/fs/cgroup/kubepods.slice ] || fail "kubepods.slice's cgroup left after its stop"
rm -rf $W
[ $fails = 0 ] && echo "PASS: containerd's CRI plugin with SystemdCgroup, runc and hullrt" ||
  echo "$fails CRI failure(s)"
[ $fails = 0 ]
