#!/bin/bash
# Builds hullrt as one static, non-PIE executable: glibc and libseccomp linked in (libc6-dev's
# libc.a, libseccomp-dev's libseccomp.a; .cargo/config.toml makes libseccomp static), as
# runc's release binaries are static. A static hullrt starts without the dynamic loader and
# without applying ~9,000 relocations, which is about 0.8 MB less peak RSS and a millisecond
# less CPU on every create, start, exec and delete (figures in the README's hullrt benchmark).
# The flags apply to the hullrt binary only (`cargo rustc`), not to the libraries it shares
# with hull, so the rest of the workspace builds as usual.
#
# A release build is linked by scripts/hullrt-link.sh, which puts the functions of the
# lifecycle verbs (crates/hullrt/hot.order, made by scripts/hullrt-order.sh) together at the
# start of the code: exec maps a few hundred KB of hullrt's code instead of nearly all of it
# (docs/hullrt-size.md). target/release/hullrt.unstripped is the same binary with its symbols.
#
#   bash scripts/build-hullrt.sh            # target/debug/hullrt
#   bash scripts/build-hullrt.sh --release  # target/release/hullrt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
flags=(-C target-feature=+crt-static -C relocation-model=static)
for a in "$@"; do
  if [[ $a == --release ]]; then
    # The list's checksum is part of the flags, so cargo links again when only the list changed.
    sum=none
    [[ -f crates/hullrt/hot.order ]] && sum=$(sha256sum <crates/hullrt/hot.order | cut -c1-16)
    flags+=(-C "linker=$PWD/scripts/hullrt-link.sh"
      -C "link-arg=--hullrt-order=$PWD/crates/hullrt/hot.order:$sum")
  fi
done
cargo rustc -q "$@" -p hullrt --bin hullrt -- "${flags[@]}"
if [[ " $* " == *" --release "* ]]; then
  u=$(ls -t target/release/deps/hullrt-*.unstripped 2>/dev/null | head -1)
  [[ -n $u ]] && cp "$u" target/release/hullrt.unstripped
fi
