#!/bin/sh
# Runs inside the systemd guest after systemd-clients.sh (see run-systemd.sh): hull's engine on
# cgroup v2 with each cgroup manager (--cgroup-manager systemd, then cgroupfs), hullrt as its
# runtime. What a container sees from inside (its cgroup, its limits), where the host puts it
# (systemd's unit, the cgroup directory), stats, OOM (exit 137, OOMKilled), update, pause,
# pods, --cgroupns, --cgroup-parent; nothing left after rm (no unit, no cgroup).
set -u
cd "$(dirname "$0")"
HERE=$(pwd)
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  echo "SKIPPED: hull's v2 subset runs in the cgroup v2 guest only"
  exit 0
fi
W=/run/hulltest-hull
rm -rf $W && mkdir -p $W
command -v hullrt >/dev/null || install -m 755 hullrt /usr/local/bin/hullrt
# hull finds hull-monitor and hull-pause beside itself, hullrt in PATH.
install -m 755 hull hull-monitor hull-pause /usr/local/bin/
tar -C bundle/rootfs -cf $W/rootfs.tar .
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect WHAT GOT WANT
expect() { [ "$2" = "$3" ] || fail "$M: $1: got '$2', want '$3'"; }
unit_of() { echo "hull-$1.scope"; }
show() { systemctl show -p "$2" --value "$1"; }

subset() {
  M=$1
  H="hull --root $W/$M/root --runroot $W/$M/run --cgroup-manager $M"
  $H import $W/rootfs.tar hulltest:1 >/dev/null || { fail "$M: import"; return; }
  echo "--- hull, --cgroup-manager $M"
  expect info.CgroupDriver "$($H info --format '{{.CgroupDriver}}')" "$M"

  # run: the limits and the cgroup namespace (private by default on v2) seen from inside.
  out=$($H run --rm --network none --memory 64m --pids-limit 42 hulltest:1 sh -c \
    'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids.max' 2>&1)
  echo "$out" | sed 's/^/  run: /'
  expect run.inside "$(echo $out)" "0::/ 67108864 42"

  # A long-running container: where the host put it.
  id=$($H run -d --network none --name long --memory 64m hulltest:1 sleep 1000) ||
    { fail "$M: run -d: $id"; return; }
  if [ "$M" = systemd ]; then
    cg=/sys/fs/cgroup/machine.slice/$(unit_of "$id")
    expect unit.ActiveState "$(show "$(unit_of "$id")" ActiveState)" active
    expect unit.Slice "$(show "$(unit_of "$id")" Slice)" machine.slice
    expect unit.MemoryMax "$(show "$(unit_of "$id")" MemoryMax)" 67108864
  else
    cg=/sys/fs/cgroup/hull/$id
  fi
  expect host.memory.max "$(cat $cg/memory.max 2>&1)" 67108864
  expect host.cgroup.procs "$(wc -l <$cg/cgroup.procs 2>&1)" 1
  # --cgroupns host: the host's path of the container's cgroup, from inside.
  host_view=$($H run --rm --network none --cgroupns host hulltest:1 cat /proc/self/cgroup)
  echo "  cgroupns host: $host_view"
  case "$M:$host_view" in
    systemd:0::/machine.slice/hull-*.scope | cgroupfs:0::/hull/*) ;;
    *) fail "$M: --cgroupns host: $host_view" ;;
  esac

  # stats from the v2 files: the limit, the one process.
  st=$($H stats --no-stream --format '{{.MemUsage}} pids={{.PIDs}}' long 2>&1)
  echo "  stats: $st"
  case "$st" in *"/ 64MiB pids=1") ;; *) fail "$M: stats: $st" ;; esac

  # update, live: the file inside (and systemd's property) follow.
  $H update --memory 96m --pids-limit 50 long >/dev/null || fail "$M: update"
  expect update.inside.memory.max "$($H exec long cat /sys/fs/cgroup/memory.max 2>&1)" 100663296
  expect update.inside.pids.max "$($H exec long cat /sys/fs/cgroup/pids.max 2>&1)" 50
  [ "$M" != systemd ] || expect update.unit.MemoryMax "$(show "$(unit_of "$id")" MemoryMax)" 100663296

  # pause through cgroup.freeze.
  $H pause long >/dev/null || fail "$M: pause"
  expect pause.frozen "$(sed -n 's/^frozen //p' $cg/cgroup.events)" 1
  expect pause.status "$($H inspect -f '{{.State.Status}}' long)" paused
  $H unpause long >/dev/null || fail "$M: unpause"
  expect unpause.frozen "$(sed -n 's/^frozen //p' $cg/cgroup.events)" 0

  $H rm -f long >/dev/null || fail "$M: rm -f"
  expect rm.cgroup "$([ -d "$cg" ] && echo present || echo gone)" gone
  [ "$M" != systemd ] || expect rm.unit "$(show "$(unit_of "$id")" LoadState)" not-found

  # OOM: 32M, no swap; the kernel kills tail, hull reports 137 and OOMKilled.
  $H run --network none --name oom --memory 32m --memory-swap 32m hulltest:1 tail /dev/zero \
    >/dev/null 2>&1
  expect oom.exit $? 137
  # Under systemd the scope's cgroup (and its memory.events) is gone as soon as the last
  # process is: hull-monitor records the kill while the container runs (docs/systemd-cgroup.md).
  expect oom.OOMKilled "$($H inspect -f '{{.State.OOMKilled}}' oom)" true
  oid=$($H inspect -f '{{.Id}}' oom)
  $H rm oom >/dev/null || fail "$M: rm oom"
  [ "$M" != systemd ] || expect oom.unit "$(show "$(unit_of "$oid")" LoadState)" not-found

  # --cgroup-parent: a slice under systemd, a path under cgroupfs; bad forms refused.
  if [ "$M" = systemd ]; then parent=hulltest.slice; else parent=/hulltestfs; fi
  view=$($H run --rm --network none --cgroupns host --cgroup-parent $parent hulltest:1 \
    cat /proc/self/cgroup)
  echo "  cgroup-parent: $view"
  case "$M:$view" in
    systemd:0::/hulltest.slice/hull-*.scope | cgroupfs:0::/hulltestfs/*) ;;
    *) fail "$M: --cgroup-parent $parent: $view" ;;
  esac
  if [ "$M" = systemd ]; then bad=/hulltestfs; else bad=hulltest.slice; fi
  err=$($H run --rm --network none --cgroup-parent $bad hulltest:1 true 2>&1)
  expect bad-parent.exit $? 125
  echo "  bad parent: $err"
  case "$err" in *"--cgroup-parent \"$bad\""*) ;; *) fail "$M: bad --cgroup-parent: $err" ;; esac

  # A pod: its cgroup (a slice under systemd) holds the infra and its containers, with the
  # pod's memory limit.
  $H pod create --name p1 --network none --memory 128m >/dev/null || { fail "$M: pod create"; return; }
  pod=$($H pod inspect p1 | sed -n 's/.*"Id": *"\([0-9a-f]\{64\}\)".*/\1/p' | head -1)
  cid=$($H run -d --pod p1 --name pc hulltest:1 sleep 1000) || fail "$M: pod run: $cid"
  if [ "$M" = systemd ]; then
    pcg=/sys/fs/cgroup/machine.slice/machine-hull_pod_$pod.slice
    expect pod.slice "$(show "machine-hull_pod_$pod.slice" ActiveState)" active
    ccg=$pcg/hull-$cid.scope
  else
    pcg=/sys/fs/cgroup/hull/pod-$pod
    ccg=$pcg/$cid
  fi
  expect pod.memory.max "$(cat $pcg/memory.max 2>&1)" 134217728
  expect pod.container.procs "$(wc -l <$ccg/cgroup.procs 2>&1)" 1
  expect pod.container.inside "$($H exec pc cat /proc/self/cgroup)" "0::/"
  $H pod rm -f p1 >/dev/null || fail "$M: pod rm -f"
  expect pod.rm.cgroup "$([ -d "$pcg" ] && echo present || echo gone)" gone
  # The slice is stopped at once; systemd unloads it later (the leftover check at the end).
  [ "$M" != systemd ] ||
    expect pod.rm.slice "$(show "machine-hull_pod_$pod.slice" ActiveState)" inactive
  $H rmi -f hulltest:1 >/dev/null 2>&1
}

subset systemd
subset cgroupfs
left=$(systemctl list-units --all --plain --no-legend 'hull-*.scope' 'machine-hull*' | awk '{print $1}')
[ -z "$left" ] || fail "units left behind: $left"
for d in /sys/fs/cgroup/hull /sys/fs/cgroup/hulltestfs; do
  [ -z "$(find $d -mindepth 1 -type d 2>/dev/null)" ] || fail "cgroups left: $(find $d -type d)"
  rmdir $d 2>/dev/null
done
systemctl stop hulltest.slice 2>/dev/null
[ $fails = 0 ] && echo "PASS: hull on cgroup v2 with the systemd and cgroupfs managers, $HERE" ||
  echo "$fails hull failure(s)"
[ $fails = 0 ]
