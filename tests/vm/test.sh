#!/bin/sh
# Runs inside the cgroup-v2-only guest (see run-v2-e2e.sh): the e2e cgroup tests, built on the
# host and copied to ./target/deps/cgroups, against ./target/hullrt.
set -e
cd "$(dirname "$0")"
echo "guest: $(uname -r); /sys/fs/cgroup is $(stat -f -c %T /sys/fs/cgroup)"
echo "root subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
# Two at a time, one per guest CPU: the guest is software-emulated and slow.
eval "set -- $(cat args)"
# Run from the guest's tmpfs rather than the 9p share: every hullrt exec reads its binary.
t=$(mktemp -d /tmp/e2e.XXXXXX)
cp -r target "$t/"
exec "$t/target/deps/cgroups" --test-threads=2 "$@"
