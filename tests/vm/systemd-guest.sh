#!/bin/bash
# tests/vm/systemd-guest.sh DIR
#
# Runs DIR/test.sh as root inside a throw-away QEMU guest that boots systemd as PID 1 on a
# cgroup v2-only hierarchy (the layout of Fedora, Ubuntu 22.04+, Debian 12 and RHEL 9 hosts),
# and exits with test.sh's status. 125: the guest itself failed; 124: it timed out.
#
# The root filesystem is Debian bookworm made by debootstrap from the host's apt mirror, with
# systemd, dbus, containerd, runc, podman and docker.io (their services installed but not
# enabled: a test starts what it needs). It is built once into $VM_CACHE (keyed by ROOT_REV
# below) and shared read-only over 9p, under a tmpfs overlay, so every run starts from the same
# clean image. The kernel is guest.sh's (tests/vm/kernel.sh). DIR is shared read-write at the
# same absolute path; test.sh runs from the unit hull-vm-test.service once multi-user.target
# (and so dbus) is up, its stdout and stderr arrive merged on this script's stdout, then the
# guest powers off.
#
# Env: VM_TIMEOUT (s, 1200)  VM_MEM (MiB, 2048)  VM_SMP (2)  VM_ACCEL (auto|kvm|tcg)
#      VM_CACHE (/var/tmp/hull-vm-cache)  VM_VERBOSE=1 (guest console on stderr)
#      VM_CGROUP (v2 | hybrid: systemd's legacy v1 layout with the unified hierarchy beside)
#      VM_MIRROR (the Debian mirror; default: the host's apt source for bookworm)
# Needs: qemu-system-x86 busybox-static cpio python3 debootstrap (scripts/deps.sh).
set -euo pipefail

die() { echo "systemd-guest.sh: $*" >&2; exit 125; }
[ $# -eq 1 ] || die "usage: $0 DIR  (runs DIR/test.sh in the guest)"
DIR=$(realpath -e -- "$1") || die "no such directory: $1"
[ -x "$DIR/test.sh" ] || die "$DIR/test.sh is missing or not executable"
case "$DIR" in /|*$'\n'*|*,*) die "unsupported directory path: $DIR" ;; esac

CACHE=${VM_CACHE:-/var/tmp/hull-vm-cache}
TIMEOUT=${VM_TIMEOUT:-1200}
ROOT_REV=2 # bump when the root filesystem below changes: the next run rebuilds it
INIT_REV=2 # bump when the initramfs below changes
ROOT="$CACHE/systemd-root.$ROOT_REV"
PKGS=systemd,systemd-sysv,dbus,kmod,procps,iproute2,busybox-static,ca-certificates
CLIENTS="containerd runc podman docker.io"
for c in qemu-system-x86_64 busybox cpio python3 debootstrap; do
  command -v "$c" >/dev/null || die "missing $c (scripts/deps.sh installs it)"
done
# shellcheck source=tests/vm/kernel.sh
. "$(dirname "${BASH_SOURCE[0]}")/kernel.sh"

mirror() {
  [ -z "${VM_MIRROR:-}" ] || { echo "$VM_MIRROR"; return; }
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null | grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | grep -v security | head -1 |
    tr -d ' ' || true
}

# The root filesystem: debootstrap, then the clients through apt inside the chroot (their
# maintainer scripts must not start daemons: policy-rc.d), then the unit that runs the test.
build_root() {
  local m tmp
  m=$(mirror)
  [ -n "$m" ] || die "no Debian mirror in /etc/apt/sources.list*; set VM_MIRROR"
  tmp="$CACHE/systemd-root.tmp"
  umount -R "$tmp/proc" 2>/dev/null || true
  rm -rf "$tmp" "$CACHE"/systemd-root.[0-9]*
  echo "systemd-guest.sh: building the guest's root filesystem from $m (once)" >&2
  debootstrap --variant=minbase --include="$PKGS" bookworm "$tmp" "$m" >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap from $m failed: see $CACHE/debootstrap.log"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod +x "$tmp/usr/sbin/policy-rc.d"
  mount -t proc proc "$tmp/proc"
  # shellcheck disable=SC2086
  chroot "$tmp" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q \
    --no-install-recommends $CLIENTS && apt-get clean" >>"$CACHE/debootstrap.log" 2>&1 ||
    { umount "$tmp/proc"; die "installing $CLIENTS in the guest failed: see $CACHE/debootstrap.log"; }
  umount "$tmp/proc"
  rm -f "$tmp/usr/sbin/policy-rc.d"
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin "$tmp"/usr/share/{doc,man,locale}/*
  # Nothing at boot that a test does not need: the clients' daemons, timers, gettys.
  chroot "$tmp" systemctl disable -q docker.service docker.socket containerd.service \
    podman.socket podman-restart.service 2>/dev/null || true
  chroot "$tmp" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    fstrim.timer dpkg-db-backup.timer serial-getty@ttyS0.service serial-getty@ttyS1.service \
    getty@tty1.service systemd-timesyncd.service podman-auto-update.timer \
    podman-auto-update.service man-db.timer 2>/dev/null || true
  cat >"$tmp/etc/systemd/system/hull-vm-test.service" <<'EOF'
[Unit]
Description=hull guest test (DIR/test.sh), then power off
After=multi-user.target dbus.service
Wants=dbus.service

[Service]
Type=oneshot
ExecStart=/bin/sh /.vm/ctl/run
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
  chroot "$tmp" systemctl enable -q hull-vm-test.service
  chroot "$tmp" systemctl set-default -q multi-user.target
  echo systemd-guest >"$tmp/etc/hostname"
  : >"$tmp/etc/machine-id"
  mkdir -p "$tmp/.vm/ctl"
  mv "$tmp" "$ROOT"
}

# The initramfs: static busybox, the 9p and overlay modules, and an init that lays a tmpfs
# overlay over the shared root, shares in DIR and the kernel's modules, and execs systemd.
build_initrd() {
  local r="$CACHE/sd-ir" m f
  rm -rf "$r" && mkdir -p "$r"/{bin,dev,proc,sys,mods,new,low,ovl}
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
p9 root /low ro,cache=loose
N=/new
mount -t tmpfs -o mode=755 tmpfs /ovl
mkdir -p /ovl/u /ovl/w
mount -t overlay -o lowerdir=/low,upperdir=/ovl/u,workdir=/ovl/w overlay $N || fail "overlay root"
p9 ctl $N/.vm/ctl cache=none
read -r KVER <$N/.vm/ctl/kver; IFS= read -r DIR <$N/.vm/ctl/dir
mkdir -p $N/usr/lib/modules/$KVER && p9 kmod $N/usr/lib/modules/$KVER ro,cache=loose
mkdir -p "$N$DIR" && p9 work "$N$DIR" cache=mmap
# No generators: nothing here needs them (empty fstab, no sysv scripts to run, no getty), and
# under software emulation each costs a second or more of the boot.
mkdir -p $N/etc/systemd/system-generators
for g in $N/usr/lib/systemd/system-generators/*; do
  ln -s /dev/null "$N/etc/systemd/system-generators/${g##*/}"
done
umount /proc /sys; umount /dev
exec switch_root $N /lib/systemd/systemd
EOF
  chmod +x "$r/init"
  (cd "$r" && find . | cpio -o -H newc --quiet | gzip -1 >"$CACHE/sd-initrd.tmp")
  mv "$CACHE/sd-initrd.tmp" "$CACHE/sd-initrd.gz"
  echo "$INIT_REV" >"$CACHE/sd-initrd.ok"
}

mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 9>>"$CACHE/.lock"
flock 9
[ -s "$CACHE/kernel.ok" ] || fetch_kernel
KVER=$(cat "$CACHE/kernel.ok")
if [ ! -d "$ROOT" ]; then
  t0=$(date +%s)
  build_root
  echo "systemd-guest.sh: root filesystem built in $(($(date +%s) - t0)) s ($(du -sh "$ROOT" | cut -f1))" >&2
fi
[ "$(cat "$CACHE/sd-initrd.ok" 2>/dev/null)" = "$INIT_REV" ] || build_initrd
flock -u 9

RUN=$(mktemp -d "${TMPDIR:-/tmp}/hull-sdvm.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
echo "$KVER" >"$RUN/kver"
printf '%s\n' "$DIR" >"$RUN/dir"
# Run by hull-vm-test.service once multi-user.target is reached.
cat >"$RUN/run" <<'EOF'
IFS= read -r DIR </.vm/ctl/dir
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
stty -F /dev/ttyS1 raw -echo
cut -d' ' -f1 /proc/uptime >/.vm/ctl/booted
cd "$DIR"
"$DIR/test.sh" </dev/null >/dev/ttyS1 2>&1
rc=$?
cut -d' ' -f1 /proc/uptime >/.vm/ctl/done
echo $rc >/.vm/ctl/rc
sync
systemctl poweroff --force --force
EOF

case "${VM_CGROUP:-v2}" in
  v2) cg="systemd.unified_cgroup_hierarchy=1" ;;
  hybrid) cg="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0" ;;
  *) die "VM_CGROUP must be v2 or hybrid, not ${VM_CGROUP}" ;;
esac
# apparmor=0: Debian's kernel enables AppArmor, and dockerd then insists on loading its
# profile with apparmor_parser, which the image does not carry.
accel=${VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
  accel=tcg
  if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then accel=kvm; fi
fi
if [ "$accel" = kvm ]; then acc=(-accel kvm -cpu host); else acc=(-accel tcg,thread=multi -cpu max); fi
share() { echo "local,path=$1,mount_tag=$2,security_model=none,multidevs=remap${3:+,$3}"; }

rc=0
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 "${acc[@]}" -m "${VM_MEM:-2048}" -smp "${VM_SMP:-2}" \
  -nodefaults -no-user-config -display none -no-reboot -nic none \
  -kernel "$CACHE/vmlinux" -initrd "$CACHE/sd-initrd.gz" \
  -append "console=ttyS0 panic=-1 rdinit=/init $cg mitigations=off random.trust_cpu=on audit=0 apparmor=0 systemd.show_status=error" \
  -serial "file:$RUN/console.log" -serial stdio \
  -virtfs "$(share "$ROOT" root readonly=on)" \
  -virtfs "$(share "$RUN" ctl)" \
  -virtfs "$(share "$CACHE/k/lib/modules/$KVER" kmod readonly=on)" \
  -virtfs "$(share "$DIR" work)" \
  </dev/null || rc=$?

[ "${VM_VERBOSE:-0}" != 1 ] || sed 's/^/[guest] /' "$RUN/console.log" >&2
if [ -s "$RUN/rc" ]; then
  awk '{ b = $1; getline d < ARGV[2]; printf "systemd-guest.sh: multi-user.target reached %.0f s \
after the kernel started; test.sh ran %.0f s\n", b, d - b; exit }' "$RUN/booted" "$RUN/done" >&2 || true
  exit "$(cat "$RUN/rc")"
fi
[ "${VM_VERBOSE:-0}" = 1 ] || sed 's/^/[guest] /' "$RUN/console.log" >&2
if [ $rc = 124 ] || [ $rc = 137 ]; then die "timed out after ${TIMEOUT}s"; fi
die "the guest reported no exit status (qemu exit $rc)"
