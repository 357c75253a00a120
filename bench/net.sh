#!/bin/bash
# Container networking: throughput through a published port (kernel DNAT) against the same
# transfer straight to the container's address and through a userland proxy (socat, as
# docker-proxy), and what the default network adds to `hull run --rm busybox true` against
# `--network none`. Prints the ratios against the targets (>= 90% and < 10 ms).
#
#   sudo bash bench/net.sh          # builds target/release/hull first
#
# Environment: HULL (a hull binary; default: cargo build --release -p hull and
# cargo build-monitor --release),
# NET_SECS (seconds per iperf3 run, default 5), NET_RUNS (runs of each, interleaved, default 30).
# Everything runs on this machine: a "remote" namespace wired to the host by a veth on
# 10.229.9.0/24 is the client; the test network is 10.229.1.0/24. Exits 0 whatever the
# figures: a benchmark, not a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
SECS=${NET_SECS:-5}
RUNS=${NET_RUNS:-30}
die() { echo "net.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "must run as root"
for t in iperf3 socat nsenter python3 ip; do
  command -v "$t" >/dev/null || die "$t not found (install with: bash scripts/deps.sh)"
done
if [[ -z ${HULL:-} ]]; then
  (cd "$repo" && cargo build --release -q -p hull && bash scripts/build-hullrt.sh --release && cargo build-monitor --release -q)
  HULL=$repo/target/release/hull
fi

work=$(mktemp -d /tmp/hull-net-bench.XXXXXX)
hull=("$HULL" --root "$work/root" --runroot "$work/run")
ns=$work/remote
cleanup() {
  set +e
  [[ -n ${proxy:-} ]] && kill "$proxy" 2>/dev/null
  [[ -n ${server:-} ]] && kill "$server" 2>/dev/null
  "${hull[@]}" rm -f hnb-srv hnb-keep >/dev/null 2>&1
  for n in hnb hull0; do "${hull[@]}" network rm "$n" >/dev/null 2>&1; done
  ip link del hnb-r0 2>/dev/null
  umount "$ns" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The remote host.
touch "$ns"
unshare --net="$ns" true
ip link add hnb-r0 type veth peer name eth0 netns "$ns"
ip addr add 10.229.9.1/24 dev hnb-r0 && ip link set hnb-r0 up
nsenter --net="$ns" sh -c 'ip addr add 10.229.9.2/24 dev eth0 && ip link set eth0 up && ip link set lo up &&
  ip route add 10.229.1.0/24 via 10.229.9.1'

# The container: iperf3's server runs in its namespace (the busybox image has no iperf3).
"${hull[@]}" network create --subnet 10.229.1.0/24 hnb >/dev/null
id=$("${hull[@]}" run -d --name hnb-srv --network hnb -p 15201:5201 busybox sleep 3600)
nsenter --net="$work/run/netns/$id" iperf3 -s -p 5201 >/dev/null 2>&1 &
server=$!
socat TCP-LISTEN:15202,fork,reuseaddr TCP:10.229.1.2:5201 2>/dev/null &
proxy=$!
sleep 1

gbps() {
  nsenter --net="$ns" iperf3 -c "$1" -p "$2" -t "$SECS" -J |
    python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
# Interleaved, best of two each: the machine is shared, one slow run should not decide.
best() { python3 -c 'import sys; print(max(map(float, sys.argv[1:])))' "$@"; }
d1=$(gbps 10.229.1.2 5201); n1=$(gbps 10.229.9.1 15201); u1=$(gbps 10.229.9.1 15202)
n2=$(gbps 10.229.9.1 15201); d2=$(gbps 10.229.1.2 5201); u2=$(gbps 10.229.9.1 15202)
direct=$(best "$d1" "$d2"); dnat=$(best "$n1" "$n2"); userland=$(best "$u1" "$u2")

# The default network stays up as on a host (docker0 does): a container holds it.
"${hull[@]}" run -d --name hnb-keep busybox sleep 3600 >/dev/null
# Interleaved (none, default, none, ...) so that load from elsewhere on the machine falls on
# both alike; medians compared.
python3 - "$RUNS" "$work/run.json" "${hull[@]}" <<'EOF2'
import json, subprocess, sys, time
runs, out, hull = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
cmds = {
    "none": hull + ["run", "--rm", "--network", "none", "busybox", "true"],
    "bridge": hull + ["run", "--rm", "busybox", "true"],
}
times = {k: [] for k in cmds}
for i in range(runs + 3):
    for k, c in cmds.items():
        t = time.perf_counter()
        subprocess.run(c, check=True)
        if i >= 3:  # warm-up
            times[k].append(time.perf_counter() - t)
json.dump({"results": [{"command": k, "times": v, "median": sorted(v)[len(v) // 2]}
                       for k, v in times.items()]}, open(out, "w"))
EOF2

python3 - "$direct" "$dnat" "$userland" "$work/run.json" <<'EOF'
import json, sys
direct, dnat, userland = map(float, sys.argv[1:4])
res = {r["command"]: r for r in json.load(open(sys.argv[4]))["results"]}
none, bridge = res["none"]["median"] * 1e3, res["bridge"]["median"] * 1e3
print(f"{'path':<34}{'Gbit/s':>8}{'vs direct':>11}")
print(f"{'straight to the container':<34}{direct:>8.2f}{'100%':>11}")
print(f"{'published port (nft DNAT)':<34}{dnat:>8.2f}{dnat / direct:>11.0%}   target >= 90%")
print(f"{'userland proxy (socat)':<34}{userland:>8.2f}{userland / direct:>11.0%}   DNAT/proxy = {dnat / userland:.1f}x")
print()
print(f"hull run --rm busybox true, median of {len(res['none']['times'])}:")
print(f"  --network none   {none:7.1f} ms")
print(f"  default network  {bridge:7.1f} ms   added {bridge - none:+.1f} ms   target < 10 ms")
EOF
