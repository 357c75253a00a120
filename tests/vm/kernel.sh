# tests/vm/kernel.sh, sourced by the guest scripts (guest.sh, systemd-guest.sh).
# Needs CACHE set and die() defined; fetch_kernel writes $CACHE/vmlinux, $CACHE/k (the package
# unpacked, modules with a busybox depmod) and $CACHE/kernel.ok (the kernel version).

# The kernel: the package linux-image-amd64 points at, unpacked once. The PVH entry of the
# uncompressed ELF boots about twice as fast as the bzImage through SeaBIOS.
fetch_kernel() {
  local pkg tmp kver
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
  tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
  rm -rf "$CACHE/k" && dpkg -x "$tmp"/*.deb "$CACHE/k" && rm -rf "$tmp"
  kver=$(ls "$CACHE/k/lib/modules")
  busybox depmod -b "$CACHE/k" "$kver"
  python3 - "$CACHE/k/boot/vmlinuz-$kver" "$CACHE/vmlinux" <<'EOF' || cp "$CACHE/k/boot/vmlinuz-$kver" "$CACHE/vmlinux"
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at >= 0:
    elf = lzma.LZMADecompressor().decompress(data[at:])
else:
    at = data.find(b"\x1f\x8b\x08\x00")
    elf = zlib.decompressobj(31).decompress(data[at:])
assert elf[:4] == b"\x7fELF"
open(sys.argv[2], "wb").write(elf)
EOF
  echo "$kver" >"$CACHE/kernel.ok"
}
