#!/usr/bin/env bash
# Builds the Debian package and checks it on this machine, as root (Debian 12): the Release build
# of scripts/test.sh (build/release, reused when that ran first, as in CI; prefix /usr; the test
# tools in it are never installed), `cpack -G DEB`, the package's contents and Depends,
# `dpkg -i`, each installed binary's --version, the example config read by the installed binaries,
# the systemd units, then the log-shipping cycle with real PostgreSQL 15
# (tests/e2e/pg_archive_cycle_test.sh) run with the installed binaries. The package is purged at
# the end, also on failure, so a second run starts from the same machine.
# The installed binaries must find the store modules (/usr/lib/<multiarch>/walferry/store-*.so):
# a call to an sftp:// and an s3:// destination shows each backend loaded.
#
# --no-install: everything but dpkg -i (and scripts/install-deps.sh), on the package's files
# extracted into a temporary directory: the same layout, so the binaries there load the modules
# there; for a machine where installing the package would disturb others.
# WALFERRY_PACKAGE_BUILD_DIR: the build directory (default build/release, prefix /usr).
# WALFERRY_PGBENCH_SECONDS sets that cycle's pgbench duration (default 15 here).
set -euo pipefail
cd "$(dirname "$0")/.."
no_install=0
if [[ ${1:-} == --no-install ]]; then
  no_install=1
elif (($# > 0)); then
  echo "usage: scripts/package.sh [--no-install]" >&2
  exit 2
fi
if ((!no_install && EUID != 0)); then
  echo "scripts/package.sh installs a package: run it as root (or --no-install)" >&2
  exit 1
fi
build=${WALFERRY_PACKAGE_BUILD_DIR:-build/release}
tools=(walferry-push walferry-fetch walferry-cleanup walferry-status)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

((no_install)) || bash scripts/install-deps.sh

echo "== package build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWALFERRY_WERROR=ON \
  -DCMAKE_INSTALL_PREFIX=/usr
cmake --build "$build" -j"$(nproc)"
rm -rf "$build/deb"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$build/deb"
debs=("$build"/deb/walferry_*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
  fail "cpack made no single walferry_*.deb in $build/deb"
fi
deb=$(realpath "${debs[0]}")

echo "== $deb"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

work=$(mktemp -d "${TMPDIR:-/tmp}/walferry-package.XXXXXX")
# The checks keep every spool in their work dirs (as scripts/test.sh's tests do): a system
# default /var/lib/walferry made here, root-owned, would change what later runs see.
system_spool_was_there=0
[[ -e /var/lib/walferry ]] && system_spool_was_there=1
installed=0
finish() {
  local rc=$?
  if ((installed)); then
    echo "== dpkg --purge walferry"
    dpkg --purge walferry || rc=1
  fi
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT

echo "== contents"
contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
for path in /usr/bin/walferry-push /usr/bin/walferry-fetch /usr/bin/walferry-cleanup \
  /usr/bin/walferry-status /usr/share/man/man1/walferry-status.1.gz \
  /usr/share/man/man1/walferry-push.1.gz /usr/share/man/man1/walferry-fetch.1.gz \
  /usr/share/man/man1/walferry-cleanup.1.gz /usr/share/doc/walferry/walferry.toml \
  /usr/lib/systemd/system/walferry-cleanup.service /usr/lib/systemd/system/walferry-cleanup.timer \
  /usr/share/doc/walferry/examples/walferry-cleanup.cron; do
  grep -qxF "$path" <<<"$contents" || fail "the package has no $path"
done
for module in store-sftp.so store-s3.so; do
  grep -qE "^/usr/lib/([^/]+/)?walferry/$module\$" <<<"$contents" ||
    fail "the package has no /usr/lib/<multiarch>/walferry/$module"
done
! grep -q 'walferry-test\|fuzz_\|unit_tests' <<<"$contents" || fail "the package holds a test tool"
version=$(dpkg-deb --field "$deb" Version)
[[ $version == "$(sed -n 's/^project(walferry VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)-"* ]] ||
  fail "package version $version is not the project's"
echo "every expected file is there; version $version"

# Each library the binaries link must be provided by a package that Depends names.
depends=$(dpkg-deb --field "$deb" Depends)
depends_names=$(tr ',|' '\n' <<<"$depends" | sed 's/(.*//; s/[[:space:]]//g; /^$/d')
dpkg-deb -x "$deb" "$work/root"
needed=$(for elf in "${tools[@]/#//usr/bin/}" $(grep '/walferry/store-.*\.so$' <<<"$contents"); do
  readelf -d "$work/root$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
done | sort -u)
[[ -n $needed ]] || fail "readelf found no shared library in the binaries"
for lib in $needed; do
  owners=$(dpkg-query -S "*/$lib" 2>/dev/null | awk -F': ' -v lib="/$lib" \
    'substr($2, length($2) - length(lib) + 1) == lib { gsub(/:[a-z0-9]+/, "", $1); print $1 }' |
    tr ', ' '\n' | sed '/^$/d' | sort -u)
  [[ -n $owners ]] || fail "no installed package provides $lib"
  grep -qxFf <(printf '%s\n' "$owners") <<<"$depends_names" ||
    fail "$lib comes from $(tr '\n' ' ' <<<"$owners")but Depends is: $depends"
  echo "  $lib: $(tr '\n' ' ' <<<"$owners")in Depends"
done

# root: where the package's files are (/ once installed); bin: its /usr/bin.
if ((no_install)); then
  echo "== --no-install: the extracted package in $work/root"
  root=$work/root
  chmod 755 "$work"
else
  echo "== dpkg -i"
  installed=1
  dpkg -i "$deb"
  dpkg -s walferry | grep -qx 'Status: install ok installed' || fail "walferry is not installed"
  root=""
fi
bin=$root/usr/bin

echo "== --version"
for tool in "${tools[@]}"; do
  if ((!no_install)); then
    [[ $(command -v "$tool") == /usr/bin/$tool ]] || fail "$tool on PATH is $(command -v "$tool")"
  fi
  out=$("$bin/$tool" --version)
  echo "  $out"
  [[ $out == "$tool ${version%-*}" ]] || fail "/usr/bin/$tool --version says \"$out\""
done

# Minimal images may exclude /usr/share/doc and /usr/share/man from installation (dpkg
# path-exclude): the package's own copies are checked then.
installed_file() {
  if [[ -f $root$1 ]]; then echo "$root$1"; else echo "$work/root$1"; fi
}

echo "== man pages"
for tool in "${tools[@]}"; do
  page=$(installed_file "/usr/share/man/man1/$tool.1.gz")
  zcat "$page" | grep -q "^\.TH ${tool^^} \"1\"" || fail "$page is no man page of $tool"
done
echo "  walferry-push.1, walferry-fetch.1, walferry-cleanup.1 and walferry-status.1 are man pages"

echo "== the example config, read by the installed binaries"
example=$(installed_file /usr/share/doc/walferry/walferry.toml)
# A timeline history file: push and fetch read the whole config (every section) before they
# store or look up anything, and a history file uses no spool; the command line's directory
# replaces the example's destinations.
mkdir "$work/archive"
printf '1\t0/3000000\tno recovery target specified\n' >"$work/00000002.history"
"$bin/walferry-push" -c "$example" -v "$work/00000002.history" "$work/archive" ||
  fail "walferry-push -c $example exited $?"
"$bin/walferry-fetch" -c "$example" --mode standby 00000002.history "$work/restored" \
  "$work/archive" || fail "walferry-fetch -c $example exited $?"
cmp "$work/00000002.history" "$work/restored" || fail "the fetched history file differs"
# The same call fails on a config with a misspelt key: the example really was read.
{ cat "$example"; printf 'kep_backups = 1\n'; } >"$work/typo.toml"
rc=0
"$bin/walferry-push" -c "$work/typo.toml" "$work/00000002.history" "$work/archive" \
  2>"$work/typo.err" || rc=$?
if ((rc != 7)) || ! grep -q 'kep_backups' "$work/typo.err"; then
  fail "a misspelt key in a copy of the example gave exit $rc: $(cat "$work/typo.err")"
fi
echo "  $example parses (a copy with a misspelt key: exit 7, $(cat "$work/typo.err"))"

echo "== the store modules, loaded by the installed binaries"
# Nothing listens on 127.0.0.1:1: a loaded sftp:// backend says it cannot connect (WF012); the
# s3:// backend asks for credentials (WF010) before it sends anything. A module not found: WF014.
# The spool (where a push notes an unreachable destination) is in the work dir, never the
# system default /var/lib/walferry.
printf 'spool = "%s"\n' "$work/spool" >"$work/modules.toml"
expect_backend() {
  local url=$1 want=$2 err
  err=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    "$bin/walferry-push" -c "$work/modules.toml" "$work/00000002.history" "$url" 2>&1 >/dev/null) || true
  grep -q "($want)" <<<"$err" || fail "walferry-push to $url: expected $want, got: $err"
  echo "  $url: $err"
}
expect_backend sftp://nobody@127.0.0.1:1/archive WF012
expect_backend s3://walferry-package-check/archive WF010

echo "== systemd units"
for unit in walferry-cleanup.service walferry-cleanup.timer; do
  [[ -f $root/usr/lib/systemd/system/$unit ]] ||
    fail "/usr/lib/systemd/system/$unit is not installed"
done
# shellcheck disable=SC2016 # systemd expands it
grep -qxF 'ExecStart=/usr/bin/walferry-cleanup --prune ${WALFERRY_ARCHIVE}' \
  "$root/usr/lib/systemd/system/walferry-cleanup.service" ||
  fail "walferry-cleanup.service's ExecStart"
if ((!no_install)) && command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/system/walferry-cleanup.timer \
    /usr/lib/systemd/system/walferry-cleanup.service
  echo "  systemd-analyze verify: no complaint"
fi

echo "== log-shipping cycle with the installed binaries"
WALFERRY_BIN_DIR=$bin WALFERRY_PGBENCH_SECONDS=${WALFERRY_PGBENCH_SECONDS:-15} \
  bash tests/e2e/pg_archive_cycle_test.sh </dev/null

if ((system_spool_was_there == 0)) && [[ -e /var/lib/walferry ]]; then
  fail "a package check created /var/lib/walferry (checks must keep their spool in their work dir)"
fi
echo "package checks passed in ${SECONDS}s"
