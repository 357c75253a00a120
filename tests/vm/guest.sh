#!/bin/bash
# tests/vm/guest.sh DIR
#
# Runs DIR/test.sh as root inside a throw-away QEMU guest whose only cgroup hierarchy is
# cgroup v2 (every controller enabled at the root), and exits with test.sh's status.
# 125: the guest itself failed; 124: it timed out. The project's own guest: a fresh clone
# needs nothing beside it.
#
# The guest boots Debian's stock kernel (downloaded once with `apt-get download` into
# $VM_CACHE) with a busybox initramfs. Its root is a tmpfs with the host's /usr and /etc laid
# over read-only (each under a writable overlay), so host binaries (a freshly built hullrt,
# busybox, runc) run unchanged; DIR is shared read-write at the same absolute path and is the
# working directory. test.sh's stdout and stderr arrive merged on this script's stdout.
#
# Why software emulation: /dev/kvm on this kind of machine is a paravirtual backend (kvm_pvm)
# that cannot run a stock kernel, so kvm is used only where it is a real one.
#
# Env: VM_TIMEOUT (s, 900)  VM_MEM (MiB, 1024)  VM_SMP (2)  VM_ACCEL (auto|kvm|tcg)
#      VM_CACHE (/var/tmp/hull-vm-cache)  VM_VERBOSE=1 (guest console on stderr)
# Needs: qemu-system-x86 busybox-static cpio python3 (scripts/deps.sh installs them).
set -euo pipefail

die() { echo "guest.sh: $*" >&2; exit 125; }
[ $# -eq 1 ] || die "usage: $0 DIR  (runs DIR/test.sh in the guest)"
DIR=$(realpath -e -- "$1") || die "no such directory: $1"
[ -x "$DIR/test.sh" ] || die "$DIR/test.sh is missing or not executable"
case "$DIR" in /|*$'\n'*|*,*) die "unsupported directory path: $DIR" ;; esac

CACHE=${VM_CACHE:-/var/tmp/hull-vm-cache}
TIMEOUT=${VM_TIMEOUT:-900}
INIT_REV=1 # bump when the initramfs below changes
for c in qemu-system-x86_64 busybox cpio python3; do
  command -v "$c" >/dev/null || die "missing $c (scripts/deps.sh installs it)"
done

# The kernel (tests/vm/kernel.sh): Debian's stock kernel package, unpacked once.
# shellcheck source=tests/vm/kernel.sh
. "$(dirname "${BASH_SOURCE[0]}")/kernel.sh"

# The initramfs: static busybox, the 9p and overlay modules, and an init that assembles the
# root described above and switch_roots into the second stage (written per run).
build_initrd() {
  local r="$CACHE/ir" m f
  rm -rf "$r" && mkdir -p "$r"/{bin,dev,proc,sys,mods,new,ctl,low/usr,low/etc,low/kmod,ovl}
  cp "$(command -v busybox)" "$r/bin/busybox"
  if file -L "$r/bin/busybox" 2>/dev/null | grep -q dynamically; then
    die "busybox must be the static one (busybox-static)"
  fi
  : >"$r/mods/order"
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
    netfs fscache 9pnet 9pnet_virtio 9p overlay; do
    f=$(find "$CACHE/k/lib/modules/$KVER" -name "$m.ko" | head -1)
    [ -n "$f" ] || continue # built in
    cp "$f" "$r/mods/" && echo "$m" >>"$r/mods/order"
  done
  cat >"$r/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "GUEST-INIT-FAIL: $*" >/dev/ttyS0; poweroff -f; sleep 5; }
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/mods/$m.ko" || fail "insmod $m"; done </mods/order
p9() {
  n=0
  until mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,$3" "$1" "$2"; do
    n=$((n + 1)); [ $n -lt 50 ] || fail "9p $1"; usleep 100000
  done
}
p9 ctl /ctl cache=none
p9 usr /low/usr ro,cache=loose
p9 etc /low/etc ro,cache=loose
p9 kmod /low/kmod ro,cache=loose
read -r KVER </ctl/kver; IFS= read -r DIR </ctl/dir
N=/new
mount -t tmpfs -o mode=755 tmpfs $N; mount -t tmpfs -o mode=755 tmpfs /ovl
for d in usr etc; do
  mkdir -p /ovl/$d/u /ovl/$d/w $N/$d
  mount -t overlay -o lowerdir=/low/$d,upperdir=/ovl/$d/u,workdir=/ovl/$d/w overlay $N/$d ||
    mount --bind /low/$d $N/$d || fail "root /$d"
done
mkdir -p $N/usr/lib/modules/$KVER && mount --bind /low/kmod $N/usr/lib/modules/$KVER
while read -r name target; do ln -s "$target" "$N/$name"; done </ctl/links
mkdir -p $N/proc $N/sys $N/dev $N/root $N/tmp $N/var/tmp $N/var/lib $N/var/log $N/run \
  $N/mnt $N/opt $N/srv $N/.vm/bin $N/.vm/ctl
chmod 1777 $N/tmp $N/var/tmp
ln -s /run $N/var/run
cp /bin/busybox $N/.vm/busybox
for a in modprobe insmod rmmod lsmod; do ln -s ../busybox $N/.vm/bin/$a; done
cp /ctl/stage2 $N/.vm/stage2
mkdir -p "$N$DIR" && p9 work "$N$DIR" cache=mmap
mount --move /proc $N/proc; mount --move /sys $N/sys; mount --move /dev $N/dev
mount --move /ctl $N/.vm/ctl
exec switch_root $N /.vm/busybox sh /.vm/stage2
EOF
  chmod +x "$r/init"
  (cd "$r" && find . | cpio -o -H newc --quiet | gzip -1 >"$CACHE/initrd.tmp")
  mv "$CACHE/initrd.tmp" "$CACHE/initrd.gz"
  echo "$INIT_REV" >"$CACHE/initrd.ok"
}

mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 9>>"$CACHE/.lock"
flock 9
[ -s "$CACHE/kernel.ok" ] || fetch_kernel
KVER=$(cat "$CACHE/kernel.ok")
[ "$(cat "$CACHE/initrd.ok" 2>/dev/null)" = "$INIT_REV" ] || build_initrd
flock -u 9

RUN=$(mktemp -d "${TMPDIR:-/tmp}/hull-vm.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
echo "$KVER" >"$RUN/kver"
printf '%s\n' "$DIR" >"$RUN/dir"
: >"$RUN/links"
for l in /*; do if [ -L "$l" ]; then echo "${l#/} $(readlink "$l")" >>"$RUN/links"; fi; done
# Stage two, PID 1 in the assembled root: cgroup2 only, the usual /dev mounts, then test.sh.
cat >"$RUN/stage2" <<'EOF'
B=/.vm/busybox
$B mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null ||
  $B mount -t cgroup2 cgroup2 /sys/fs/cgroup
for c in $($B cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control
done
$B mkdir -p /dev/pts /dev/shm /dev/mqueue
$B mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
$B ln -sf pts/ptmx /dev/ptmx
$B mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
$B mount -t mqueue mqueue /dev/mqueue
$B ln -sf /proc/self/fd /dev/fd
$B mount -t tmpfs -o mode=755 tmpfs /run
echo /.vm/bin/modprobe >/proc/sys/kernel/modprobe
$B hostname v2guest; $B ip link set lo up
$B stty -F /dev/ttyS1 raw -echo
IFS= read -r DIR </.vm/ctl/dir
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/.vm/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
cd "$DIR"
"$DIR/test.sh" </dev/null >/dev/ttyS1 2>&1
echo $? >/.vm/ctl/rc
$B sync
$B poweroff -f
EOF

accel=${VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
  accel=tcg
  if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then accel=kvm; fi
fi
if [ "$accel" = kvm ]; then acc=(-accel kvm -cpu host); else acc=(-accel tcg,thread=multi -cpu max); fi
share() { echo "local,path=$1,mount_tag=$2,security_model=none,multidevs=remap${3:+,$3}"; }

rc=0
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 "${acc[@]}" -m "${VM_MEM:-1024}" -smp "${VM_SMP:-2}" \
  -nodefaults -no-user-config -display none -no-reboot -nic none \
  -kernel "$CACHE/vmlinux" -initrd "$CACHE/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 rdinit=/init cgroup_no_v1=all mitigations=off random.trust_cpu=on audit=0" \
  -serial "file:$RUN/console.log" -serial stdio \
  -virtfs "$(share "$RUN" ctl)" \
  -virtfs "$(share /usr usr readonly=on)" \
  -virtfs "$(share /etc etc readonly=on)" \
  -virtfs "$(share "$CACHE/k/lib/modules/$KVER" kmod readonly=on)" \
  -virtfs "$(share "$DIR" work)" \
  </dev/null || rc=$?

[ "${VM_VERBOSE:-0}" != 1 ] || sed 's/^/[guest] /' "$RUN/console.log" >&2
if [ -s "$RUN/rc" ]; then exit "$(cat "$RUN/rc")"; fi
[ "${VM_VERBOSE:-0}" = 1 ] || sed 's/^/[guest] /' "$RUN/console.log" >&2
if [ $rc = 124 ] || [ $rc = 137 ]; then die "timed out after ${TIMEOUT}s"; fi
die "the guest reported no exit status (qemu exit $rc)"
