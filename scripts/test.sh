#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine, as root: installs the dependencies, builds,
# runs unit and end-to-end tests (real PostgreSQL 15, run as an unprivileged user), then the same
# with AddressSanitizer+UndefinedBehaviorSanitizer, then each fuzzer briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

echo "== release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure

echo "== ASan+UBSan build"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWALFERRY_SANITIZE=ON
cmake --build build/asan -j"$jobs"
# The long soak tests (pgbench cycle, kill -9 trials) ran above; here the sanitizers watch the
# unit tests and the short end-to-end tests.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -E 'pg_archive_cycle|kill9'

echo "== fuzzers"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DWALFERRY_FUZZ=ON -DWALFERRY_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=Debug
cmake --build build/fuzz -j"$jobs"
fuzz_seconds=${WALFERRY_FUZZ_SECONDS:-20}
for target in build/fuzz/bin/fuzz_*; do
  name=$(basename "$target")
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  echo "-- $name for ${fuzz_seconds}s"
  "$target" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" 2>&1 | tail -n 2
  rm -rf "$corpus"
done
echo "all tests passed"
