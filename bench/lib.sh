# shellcheck shell=bash
# Sourced first by the benchmarks that run PostgreSQL and sshd hosts (push_sftp.sh,
# fetch_sftp.sh), with the benchmark's arguments:
#   source "$(dirname "$0")/lib.sh" "$@"
# The first argument, when given, is the directory of the binaries; without one, tests/e2e/lib.sh
# takes them from $WALFERRY_BIN_DIR (default build/release/bin) and fails if they are absent.
# Then the helpers of tests/e2e/lib.sh (PostgreSQL nodes) and tests/e2e/sshd_lib.sh (sshd hosts),
# and the arithmetic the benchmarks' tables share.
set -euo pipefail
bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if (($#)); then
  WALFERRY_BIN_DIR=$(cd "$1" && pwd)
  export WALFERRY_BIN_DIR
fi

# shellcheck source=tests/e2e/lib.sh
source "$bench_repo/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$bench_repo/tests/e2e/sshd_lib.sh"

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# ratio A B: A / B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
