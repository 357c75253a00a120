#!/bin/bash
# Builds hullrt as one static, non-PIE executable: glibc and libseccomp linked in (libc6-dev's
# libc.a, libseccomp-dev's libseccomp.a; .cargo/config.toml makes libseccomp static), as
# runc's release binaries are static. A static hullrt starts without the dynamic loader and
# without applying ~9,000 relocations, which is about 0.8 MB less peak RSS and a millisecond
# less CPU on every create, start, exec and delete (figures in the README's hullrt benchmark).
# The flags apply to the hullrt binary only (`cargo rustc`), not to the libraries it shares
# with hull, so the rest of the workspace builds as usual.
#
#   bash scripts/build-hullrt.sh            # target/debug/hullrt
#   bash scripts/build-hullrt.sh --release  # target/release/hullrt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo rustc -q "$@" -p hullrt --bin hullrt -- -C target-feature=+crt-static -C relocation-model=static
