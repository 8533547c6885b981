#!/usr/bin/env bash
# Installs everything walferry needs to build, test and benchmark on Debian 12 (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-dev help2man
  clang-format clang-tidy shellcheck git
  libssh2-1-dev libzstd-dev zstd libpq-dev libssl-dev
  dpkg-dev file binutils gzip # scripts/package.sh: cpack -G DEB with dpkg-shlibdeps, readelf
  catch2 libtomlplusplus-dev libcli11-dev
  postgresql postgresql-contrib openssh-server openssh-client
  pgbackrest lz4 hyperfine procps iproute2 util-linux sudo
  prometheus # promtool: walferry-status --prometheus is checked with `promtool check metrics`
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Debian's postgresql package creates and starts a cluster "15/main"; walferry's tests and demo
# run their own servers, so the packaged one is not needed (and must not hold port 5432).
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi
