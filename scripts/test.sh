#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine, as root: installs the dependencies, checks the
# style (clang-format, shellcheck), builds, runs unit and end-to-end tests (real PostgreSQL 15 run
# as an unprivileged user, real sshd on 127.0.0.2/127.0.0.3), then the same under
# AddressSanitizer+UndefinedBehaviorSanitizer (a clang build that also runs clang-tidy and holds
# the libFuzzer targets), then each fuzzer briefly. Needs a git checkout (the style checks read
# the tracked files).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

# The tests keep every state directory in their work dirs: one left in the system default
# (/var/lib/walferry, root-owned when a test ran as root) would change what later tests and runs
# see. Checked after each test run when it was not there before.
system_spool=/var/lib/walferry
spool_was_there=0
[[ -e $system_spool ]] && spool_was_there=1
check_system_spool() {
  if ((spool_was_there == 0)) && [[ -e $system_spool ]]; then
    echo "FAIL: a test created $system_spool (tests must keep their spool in their work dir)" >&2
    exit 1
  fi
}

# Style is checked, not hoped for: every tracked C++ file follows .clang-format, every tracked
# shell script passes shellcheck (-x: with the files it sources). Before the builds: it takes less
# than a minute, and a finding fails the run here with one line saying which check.
echo "== style: clang-format, shellcheck"
mapfile -t cxx_files < <(git ls-files -- '*.cpp' '*.h')
if ! clang-format --dry-run --Werror "${cxx_files[@]}"; then
  echo "FAIL: clang-format: the files above do not follow .clang-format (fix: clang-format -i FILE)" >&2
  exit 1
fi
# In parallel, a few files a call: shellcheck -x spends most of a minute on the whole set.
if ! git ls-files -z -- '*.sh' .ci/run | xargs -0 -n 6 -P "$jobs" shellcheck -x; then
  echo "FAIL: shellcheck: the findings above (the scripts checked: every tracked *.sh and .ci/run)" >&2
  exit 1
fi

# ccache, when the machine has it (a developer's, not CI's fresh one), only saves compiling again.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "== release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWALFERRY_WERROR=ON "${launcher[@]}"
cmake --build build/release -j"$jobs"
# Two tests at a time: each picks its own ports, work dir and servers, and none may need an idle
# machine to pass.
ctest --test-dir build/release --output-on-failure -j"$jobs"
check_system_spool

# clang-tidy (.clang-tidy, findings are errors) runs in this build, the one compiled by clang:
# it needs clang's flags, and a build of its own would compile everything a third time.
echo "== ASan+UBSan build (clang, with the fuzz targets and clang-tidy)"
CC=clang CXX=clang++ cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DWALFERRY_SANITIZE=ON -DWALFERRY_FUZZ=ON -DWALFERRY_WERROR=ON -DWALFERRY_CLANG_TIDY=ON \
  "${launcher[@]}"
cmake --build build/asan -j"$jobs"
# The soak tests (pgbench cycle, failover cycle, kill -9 trials, the 900-archive differential against
# pg_archivecleanup, the two-standby cleanup cycle: PostgreSQL- or shell-bound) ran above; here
# the sanitizers watch the unit tests and the other end-to-end tests, whose binaries are the
# instrumented ones.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j"$jobs" -E 'pg_archive_cycle|kill9|cleanup_differential|cleanup_consumers|failover_cycle'

check_system_spool

echo "== fuzzers"
# Every build/asan/bin/fuzz_* (the four parsers of wal/ and the container decoder of archive/),
# each from its seed corpus tests/fuzz/corpus/<target>/ copied to a scratch directory.
fuzz_seconds=${WALFERRY_FUZZ_SECONDS:-20}
for target in build/asan/bin/fuzz_*; do
  name=$(basename "$target")
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  echo "-- $name for ${fuzz_seconds}s"
  "$target" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" 2>&1 | tail -n 2
  rm -rf "$corpus"
done
echo "all tests passed"
