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

# bench_archiver_loop COMMAND STATUS_DIR NAME...: the archiver's loop, run as the test user in
# one shell: for each NAME, COMMAND with %f replaced by it, through `sh -c` as PostgreSQL's
# system() runs archive_command, then its .ready in STATUS_DIR renamed to .done. Prints the
# milliseconds the whole loop took.
bench_archiver_loop() {
  local command=$1 status=$2 loop=$E2E_WORK/archiver-loop.sh
  shift 2
  {
    printf 'command=%q\nstatus=%q\n' "$command" "$status"
    printf 'segments=(%s)\n' "$*"
    cat <<'EOS'
t0=$(date +%s%N)
for f in "${segments[@]}"; do
  sh -c "${command//%f/$f}" || { echo "failed on $f" >&2; exit 1; }
  mv "$status/$f.ready" "$status/$f.done"
done
echo $((($(date +%s%N) - t0) / 1000000))
EOS
  } >"$loop"
  chmod 644 "$loop"
  e2e_as_user bash "$loop" | tail -n 1
}

# bench_prepare_recovery NODE RESTORE_COMMAND [SETTING...]: a new node NODE from a copy of the
# node "base" (a base backup), with recovery.signal (no target: to the end of the archive),
# RESTORE_COMMAND, archiving off and the extra postgresql.conf lines; known to the EXIT trap.
bench_prepare_recovery() {
  local node=$1 command=$2
  shift 2
  pg_register_node "$node"
  e2e_as_user cp -a "${E2E_NODE_DATA[base]}" "${E2E_NODE_DATA[$node]}"
  # Flushed before the clock starts: the server fsyncs the whole data directory at start-up
  # (backup_label), which should cost the same in every run.
  sync
  pg_set "$node" "log_line_prefix = '%m [%p] $node '" "archive_mode = off" \
    "restore_command = '$command'" "$@"
  pg_set_address "$node"
  e2e_as_user touch "${E2E_NODE_DATA[$node]}/recovery.signal"
  E2E_STARTED+=("$node")
  printf '%s\n' "${E2E_NODE_DATA[$node]}" >>"$E2E_WORK/.started"
}

# bench_recover NODE: start a node bench_prepare_recovery made; returns once recovery has ended
# and the server accepts connections (fails if it stops, or after 1800 s).
bench_recover() {
  local node=$1 log=${E2E_NODE_LOG[$1]} deadline=$((SECONDS + 1800))
  e2e_as_user "$(pg_bin pg_ctl)" -D "${E2E_NODE_DATA[$node]}" -l "$log" -W start >/dev/null ||
    fail "cannot start $node"
  until grep -q 'database system is ready to accept connections' "$log" 2>/dev/null; do
    grep -q 'database system is shut down' "$log" 2>/dev/null && fail "$node stopped during recovery"
    ((SECONDS < deadline)) || fail "$node still recovering after 1800 s"
    sleep 0.05
  done
}

# bench_cp_primary DIR: the throwaway PostgreSQL "primary" that writes the benchmarks' WAL,
# archiving every segment with plain cp into DIR (made); started.
bench_cp_primary() {
  e2e_mkdir "$1"
  pg_init_primary primary "cp %p $1/%f" 0
  pg_set primary "max_wal_size = '4GB'"
  pg_start primary
}

# bench_pgbench_wal SCALE: pgbench -i -s SCALE on the primary, then a WAL switch, and waits until
# that last segment is archived.
bench_pgbench_wal() {
  local last
  pg_bench primary -i -q -s "$1" >"$E2E_WORK/pgbench.log" 2>&1 || fail "pgbench -i failed"
  last=$(pg_walfile_name primary "$(pg_switch_wal primary)")
  pg_wait_archived primary "$last" 600
}

# bench_pgbackrest DIR REPO_LINE...: pgBackRest (lz4) for the stanza "bench" of the running
# primary, config in DIR/pgbackrest.conf with the given repo1-* lines, logs, locks and spool in
# DIR; creates the stanza. Sets the array PGBACKREST (the command with config and stanza).
bench_pgbackrest() {
  local dir=$1
  shift
  mkdir -p "$dir"/{log,lock,spool}
  {
    echo '[global]'
    printf '%s\n' "$@"
    cat <<EOC
log-path=$dir/log
lock-path=$dir/lock
spool-path=$dir/spool
log-level-console=warn
log-level-file=off
compress-type=lz4

[bench]
pg1-path=${E2E_NODE_DATA[primary]}
pg1-port=${E2E_NODE_PORT[primary]}
pg1-socket-path=$E2E_WORK/primary
pg1-user=$E2E_USER
EOC
  } >"$dir/pgbackrest.conf"
  PGBACKREST=(pgbackrest --config="$dir/pgbackrest.conf" --stanza=bench)
  "${PGBACKREST[@]}" stanza-create >"$dir/stanza-create.log" 2>&1 ||
    { cat "$dir/stanza-create.log" >&2; fail "pgbackrest stanza-create failed"; }
}
