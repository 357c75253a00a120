#!/bin/sh
# Runs inside the cgroup-v2-only guest (see run-v2-vm.sh): the real-kernel cgroup tests,
# built on the host and copied next to this script as ./real.
set -e
cd "$(dirname "$0")"
echo "guest: $(uname -r); /sys/fs/cgroup is $(stat -f -c %T /sys/fs/cgroup)"
echo "root subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
# One test at a time: the guest is software-emulated and slow.
exec ./real --test-threads=1 --nocapture
