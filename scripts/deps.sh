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

# tests/clients/api_sdk.rs: the Docker Python SDK's own integration suite (docker-py 6.1.3,
# the last release whose default API version is 1.41, docker 20.10's; its tests/integration
# is in the sdist only) with pytest, pinned, in a venv of the project's: target/pysdk.
# Cached: done once per version. If PyPI cannot be reached this fails, and so does CI (the
# test also refuses to run without it).
pysdk_version=6.1.3
pysdk="$(dirname "$0")/../target/pysdk"
if [ ! -f "$pysdk/ok-$pysdk_version" ]; then
  rm -rf "$pysdk"
  /usr/bin/python3 -m venv "$pysdk/venv"
  # The SDK's test-requirements.txt pins, and what they pulled in here (pinned too).
  "$pysdk/venv/bin/pip" install -q --disable-pip-version-check \
    "docker==$pysdk_version" pytest==7.1.2 pytest-timeout==2.1.0 paramiko==2.11.0 \
    requests==2.28.1 urllib3==1.26.11 websocket-client==1.3.3 packaging==21.3 \
    attrs==26.1.0 bcrypt==5.0.0 certifi==2026.10.19.post1 cffi==2.1.1 \
    charset-normalizer==2.1.1 cryptography==50.0.2 idna==3.20 iniconfig==2.3.1 \
    pluggy==1.7.0 py==1.11.0 pycparser==3.12 PyNaCl==1.6.2 pyparsing==3.3.3 six==1.17.0 \
    tomli==2.5.0
  "$pysdk/venv/bin/pip" download -q --disable-pip-version-check --no-deps \
    --no-binary :all: "docker==$pysdk_version" -d "$pysdk"
  tar -xzf "$pysdk/docker-$pysdk_version.tar.gz" -C "$pysdk" "docker-$pysdk_version/tests"
  touch "$pysdk/ok-$pysdk_version"
fi
