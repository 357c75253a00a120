#!/bin/bash
# Installs what building and testing hull needs on Debian 12 (as root). Idempotent.
set -euo pipefail
pkgs=(busybox-static libseccomp-dev pkg-config gcc iproute2 util-linux procps
      runc crun uidmap hyperfine qemu-system-x86 cpio python3 time debootstrap
      containerd podman conmon docker.io docker-registry skopeo
      containernetworking-plugins protobuf-compiler
      nftables socat iperf3 sqlite3
      libfaketime musl-tools golang-go  # bench/clock.sh; tests/engine/hull_faketime.rs
      strace  # tests/runtime/cgroups.rs and tests/engine/hull_scale.rs count the files hullrt and hull open
      libc6-dev  # libc.a: hull-pause links static-pie (crates/pause/build.rs)
      binutils  # as/objcopy/nm: scripts/vdso-stub.sh, checked by hull-clock's unit tests
      docker-compose python3-docker)  # tests/clients/api_compose.rs (compose 1.29 on the Python SDK)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps: cargo (Rust toolchain) is required" >&2; exit 1; }
