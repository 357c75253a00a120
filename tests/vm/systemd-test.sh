#!/bin/sh
# Runs inside the systemd guest (tests/vm/systemd-guest.sh, prepared by run-systemd.sh): the
# systemd cgroup driver of hullrt (./hullrt) side by side with the guest's runc, both with
# --systemd-cgroup and the same bundle (./bundle: busybox, limits in config.json). For each
# runtime it records what systemd's unit shows (systemctl show), what the cgroup files hold,
# and what the container sees from inside, through create, update, exec, pause, delete and an
# OOM kill; then checks hullrt's values against the expected ones and against runc's.
set -u
cd "$(dirname "$0")"
HERE=$(pwd)
W=/run/hulltest
rm -rf $W && mkdir -p $W
cp -a bundle $W/bundle
install -m 755 hullrt /usr/local/bin/hullrt
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

V=v2
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || V=v1
echo "guest: $(uname -r), systemd $(systemctl --version | awk 'NR==1{print $2}'), cgroup $V," \
  "$(runc --version | head -1), hullrt $(hullrt --version | awk '{print $NF}')"

SLICE=hulltest-a.slice # nested: /hulltest.slice/hulltest-a.slice
# The cgroup file $2 of unit $1 ($3: the v1 controller directory).
cgfile() {
  if [ $V = v2 ]; then cat "/sys/fs/cgroup/hulltest.slice/$SLICE/$1/$2"; else
    cat "/sys/fs/cgroup/$3/hulltest.slice/$SLICE/$1/$2"; fi 2>&1
}
cgdir_exists() {
  if [ $V = v2 ]; then test -d "/sys/fs/cgroup/hulltest.slice/$SLICE/$1"; else
    test -d "/sys/fs/cgroup/memory/hulltest.slice/$SLICE/$1"; fi
}
show() { systemctl show -p "$2" --value "$1"; }
# Polls (no fixed sleep) until `$RT state $ID` says $3.
wait_status() {
  n=0
  until $1 state "$2" 2>/dev/null | grep -q "\"status\": *\"$3\""; do
    n=$((n + 1)); [ $n -lt 600 ] || { echo "timeout waiting for $2 to be $3"; return 1; }
    sleep 0.1
  done
}

# One runtime through the whole life of a container; key=value lines on stdout.
life() {
  rt=$1 id=$2 unit="hullsd-$2.scope"
  b=$W/b-$id
  cp -a $W/bundle "$b"
  sed -i "s|@CGROUPS_PATH@|$SLICE:hullsd:$id|" "$b/config.json"
  $rt --systemd-cgroup create --bundle "$b" "$id" </dev/null >"$b/out" 2>&1 ||
    { echo "create=failed: $(cat "$b/out")"; return; }
  $rt --systemd-cgroup start "$id" || echo "start=failed"
  # the container writes what it sees, then sleeps: wait for its last line
  n=0; until grep -q '^inside.end' "$b/out" || [ $n -gt 300 ]; do n=$((n + 1)); sleep 0.1; done
  grep '^inside\.' "$b/out"
  for p in ActiveState Slice ControlGroup Delegate MemoryMax MemoryLow MemorySwapMax CPUWeight \
    CPUQuotaPerSecUSec AllowedCPUs TasksMax; do
    echo "unit.$p=$(show "$unit" $p | sed "s/$id/ID/")"
  done
  pid=$($rt state "$id" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  # where the host sees init: the unit's cgroup (v1: its memory hierarchy)
  echo "cgroup.init=$(sed -n 's/^0::\(.*\)$/\1/p;s/^[0-9]*:memory:\(.*\)$/\1/p' \
    /proc/"$pid"/cgroup | sed "s/$id/ID/" | head -1)"
  if [ $V = v2 ]; then
    for f in memory.max memory.low memory.swap.max cpu.weight cpu.max cpuset.cpus pids.max; do
      echo "file.$f=$(cgfile "$unit" $f)"
    done
  else
    echo "file.memory.limit_in_bytes=$(cgfile "$unit" memory.limit_in_bytes memory)"
    echo "file.cpu.shares=$(cgfile "$unit" cpu.shares cpu,cpuacct)"
    echo "file.cpu.cfs_quota_us=$(cgfile "$unit" cpu.cfs_quota_us cpu,cpuacct)"
    echo "file.cpuset.cpus=$(cgfile "$unit" cpuset.cpus cpuset)"
    echo "file.pids.max=$(cgfile "$unit" pids.max pids)"
  fi

  $rt --systemd-cgroup update --memory 100663296 --pids-limit 50 "$id" || echo "update=failed"
  echo "update.unit.MemoryMax=$(show "$unit" MemoryMax)"
  echo "update.unit.TasksMax=$(show "$unit" TasksMax)"
  if [ $V = v2 ]; then
    echo "update.file.memory.max=$(cgfile "$unit" memory.max)"
    echo "update.inside.memory.max=$($rt exec "$id" cat /sys/fs/cgroup/memory.max 2>&1)"
  else
    echo "update.file.memory.limit_in_bytes=$(cgfile "$unit" memory.limit_in_bytes memory)"
  fi
  echo "update.file.pids.max=$(cgfile "$unit" pids.max pids)"

  $rt --systemd-cgroup pause "$id" || echo "pause=failed"
  echo "pause.status=$($rt state "$id" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')"
  if [ $V = v2 ]; then
    echo "pause.file.frozen=$(cgfile "$unit" cgroup.events | sed -n 's/^frozen //p')"
  else
    echo "pause.file.freezer.state=$(cgfile "$unit" freezer.state freezer)"; fi
  $rt --systemd-cgroup resume "$id" || echo "resume=failed"
  echo "resume.status=$($rt state "$id" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')"

  $rt --systemd-cgroup kill "$id" KILL
  wait_status "$rt" "$id" stopped
  $rt --systemd-cgroup delete "$id" || echo "delete=failed"
  echo "delete.unit.LoadState=$(show "$unit" LoadState)"
  echo "delete.cgroup=$(cgdir_exists "$unit" && echo present || echo gone)"

  # OOM: 32M and no swap; tail of /dev/zero buffers until the kernel kills it.
  oid="$id-oom" ounit="hullsd-$id-oom.scope"
  ob=$W/b-$oid
  cp -a $W/bundle "$ob"
  sed -i -e "s|@CGROUPS_PATH@|$SLICE:hullsd:$oid|" -e 's|"limit": 67108864|"limit": 33554432|' \
    -e 's|"swap": 134217728|"swap": 33554432|' -e 's|"reservation": 16777216|"reservation": 0|' \
    -e 's|"/bin/sh", "-c", "[^"]*"|"/bin/sh", "-c", "tail /dev/zero; echo inside.tail_exit=$?"|' \
    "$ob/config.json"
  $rt --systemd-cgroup run --bundle "$ob" "$oid" </dev/null >"$ob/out" 2>&1
  echo "oom.exit=$?"
  grep '^inside\.' "$ob/out"
  # What else the runtime said (a warning, an error), for the log only.
  grep -v '^inside\.' "$ob/out" | sed "s|^|$rt oom: |" >&2 || true
  echo "oom.unit.LoadState=$(show "$ounit" LoadState)"
  echo "oom.cgroup=$(cgdir_exists "$ounit" && echo present || echo gone)"
  $rt delete -f "$oid" >/dev/null 2>&1
}

life runc "r$$" >$W/runc.txt
life hullrt "h$$" >$W/hullrt.txt
echo "--- runc"; cat $W/runc.txt
echo "--- hullrt"; cat $W/hullrt.txt

# hullrt's values, against what the spec asks for.
expect() {
  got=$(sed -n "s|^$1=||p" $W/hullrt.txt)
  [ "$got" = "$2" ] || fail "hullrt $1: got '$got', want '$2'"
}
expect unit.ActiveState active
expect unit.Slice $SLICE
expect unit.Delegate yes
expect unit.ControlGroup /hulltest.slice/$SLICE/hullsd-ID.scope
expect unit.TasksMax 42
expect update.unit.TasksMax 50
expect update.file.pids.max 50
expect pause.status paused
expect resume.status running
expect delete.unit.LoadState not-found
expect delete.cgroup gone
expect oom.unit.LoadState not-found
expect oom.cgroup gone
if [ $V = v2 ]; then
  expect inside.cgroup 0::/
  expect inside.memory.max 67108864
  expect inside.pids.max 42
  expect unit.MemoryMax 67108864
  expect unit.MemoryLow 16777216
  expect unit.MemorySwapMax 67108864
  expect unit.CPUWeight 20
  expect unit.CPUQuotaPerSecUSec 500ms
  expect unit.AllowedCPUs 0
  expect file.memory.max 67108864
  expect file.cpu.max "50000 100000"
  expect file.pids.max 42
  expect update.unit.MemoryMax 100663296
  expect update.file.memory.max 100663296
  expect update.inside.memory.max 100663296
  expect pause.file.frozen 1
else
  expect file.memory.limit_in_bytes 67108864
  expect file.cpu.shares 512
  expect file.cpu.cfs_quota_us 50000
  expect update.file.memory.limit_in_bytes 100663296
  expect pause.file.freezer.state FROZEN
fi
grep -q '137' $W/hullrt.txt || fail "hullrt: no exit 137 from the OOM kill"
# Whatever runc shows, hullrt must show too; but on v1 runc 1.1 leaves its init in the devices
# cgroup above the namespace's root ("devices:/.." inside), a runc bug not to copy.
[ $V = v2 ] || sed -i 's|:devices:/\.\. |:devices:/ |' $W/runc.txt
if ! diff -u $W/runc.txt $W/hullrt.txt >$W/diff; then
  fail "hullrt differs from runc:"; cat $W/diff
fi
# Nothing left: no unit of ours, no cgroup below the test slice.
left=$(systemctl list-units --all --plain --no-legend 'hullsd-*' | awk '{print $1}')
[ -z "$left" ] || fail "units left behind: $left"
systemctl stop hulltest.slice
[ $fails = 0 ] && echo "PASS: systemd cgroup driver ($V), $HERE" || echo "$fails failure(s)"
[ $fails = 0 ]
