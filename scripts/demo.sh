#!/usr/bin/env bash
# The live demo, for a fresh Debian 12 machine, as root: installs the dependencies, builds a
# release, then runs the log-shipping cycle with real PostgreSQL 15 and narrates it: a primary
# archives with walferry-push under pgbench into a local archive, a warm standby replays with
# walferry-fetch, the primary stops, the standby is promoted, the data are compared and the
# archive is shown. Servers run as an unprivileged user on 127.0.0.1 and are all stopped at the
# end (also on failure or Ctrl-C); WALFERRY_KEEP=1 keeps the work dir.
# WALFERRY_DEMO_SECONDS sets the pgbench duration (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${WALFERRY_DEMO_SECONDS:-15}

if ((EUID == 0)); then
  bash scripts/install-deps.sh
else
  echo "not root: skipping scripts/install-deps.sh (run it as root if something is missing)" >&2
fi
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/release -j"$(nproc)"

exec 2>&1 # one narration stream, in order, even through a pipe
export WALFERRY_BIN_DIR=$PWD/build/release/bin
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh

# say TEXT: narration on stdout.
say() { printf '   %s\n' "$*"; }
# human BYTES: a size in MiB with one decimal.
human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

e2e_setup walferry-push walferry-fetch
archive=$E2E_WORK/archive
e2e_mkdir "$archive"

step "1. A PostgreSQL 15 primary that archives with walferry-push"
pg_walferry_primary primary "$archive"
pg_start primary
say "data directory   ${E2E_NODE_DATA[primary]} (running as user $E2E_USER)"
say "listening on     ${E2E_NODE_HOST[primary]}:${E2E_NODE_PORT[primary]}"
say "archive_command  $(pg_sql primary "SHOW archive_command")"
say "archive_timeout  $(pg_sql primary "SHOW archive_timeout") (a segment at least that often under load)"
pg_bench primary -i -q -s 2 >"$E2E_WORK/pgbench-init.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench-init.log" >&2; fail "pgbench -i failed"; }
say "pgbench -i -s 2: $(pg_sql primary "SELECT count(*) FROM pgbench_accounts") accounts"

step "2. A warm standby that replays from the archive with walferry-fetch"
pg_walferry_standby primary standby "$archive"
pg_start standby
say "base backup taken without WAL (-X none): every WAL byte comes through the archive"
say "standby.signal, no primary_conninfo: log shipping only"
say "restore_command  $(pg_sql standby "SHOW restore_command")"
say "listening on     ${E2E_NODE_HOST[standby]}:${E2E_NODE_PORT[standby]}"

step "3. Load: pgbench for ${seconds}s, 4 clients; the standby follows through the archive"
pg_bench primary -c 4 -j 2 -T "$seconds" -n >"$E2E_WORK/pgbench.log" 2>&1 &
bench_pid=$!
while kill -0 "$bench_pid" 2>/dev/null; do
  sleep 3
  say "$(printf '%3ds  archived files: %3s   primary at %-11s standby replayed %s' "$SECONDS" \
    "$(pg_sql primary "SELECT archived_count FROM pg_stat_archiver")" \
    "$(pg_sql primary "SELECT pg_current_wal_lsn()")" \
    "$(pg_sql standby "SELECT pg_last_wal_replay_lsn()")")"
done
wait "$bench_pid" || { cat "$E2E_WORK/pgbench.log" >&2; fail "pgbench failed"; }
say "$(grep -E '^tps' "$E2E_WORK/pgbench.log")"

step "4. Catch-up: switch WAL on the primary, wait until the standby replayed it"
pg_switch_and_wait primary standby
say "pg_switch_wal() = $E2E_SWITCH_LSN; standby replayed $(pg_sql standby "SELECT pg_last_wal_replay_lsn()")"
say "pg_stat_archiver on the primary: $(pg_sql primary \
  "SELECT archived_count || ' archived, ' || failed_count || ' failed' FROM pg_stat_archiver")"
primary_digest=$(pg_tables_digest primary)

step "5. Failover: stop the primary, promote the standby"
pg_stop primary fast
say "primary stopped"
pg_promote standby
say "standby promoted; it now writes $(pg_sql standby "SELECT pg_walfile_name(pg_current_wal_lsn())")"
e2e_wait_for 60 "00000002.history.zst in the archive" test -f "$archive/00000002.history.zst"
say "and archived its timeline history with walferry-push:"
zstd -q -d -c "$archive/00000002.history.zst" | sed 's/^/     00000002.history: /'

step "6. Data: the promoted standby holds what the primary held"
standby_digest=$(pg_tables_digest standby)
# shellcheck disable=SC2001
paste -d '\n' <(sed 's/^/     primary  /' <<<"$primary_digest") \
  <(sed 's/^/     standby  /' <<<"$standby_digest")
[[ "$primary_digest" == "$standby_digest" ]] || fail "the data differ"
say "identical"

step "7. The archive: $archive"
stats=$(e2e_archive_verify "$archive")
listing=$(cd "$archive" && find . -maxdepth 1 -type f -printf '%s %f\n' | sort -k2 |
  awk '{ printf "     %10s  %s\n", $1, $2 }')
if (($(wc -l <<<"$listing") > 12)); then
  head -n 6 <<<"$listing"
  say "  ... ($(($(wc -l <<<"$listing") - 12)) more)"
  tail -n 6 <<<"$listing"
else
  printf '%s\n' "$listing"
fi
raw=$(awk '$1 == "raw" { print $2 }' <<<"$stats")
stored=$(awk '$1 == "stored" { print $2 }' <<<"$stats")
say "$(awk '$1 == "segments" { print $2 }' <<<"$stats") segments, every file checked with plain 'zstd -d'" \
  "(segments exactly 16 MiB)"
say "raw $(human "$raw"), stored $(human "$stored")" \
  "($(awk -v r="$raw" -v s="$stored" 'BEGIN { printf "%.1f", r / s }')x smaller;" \
  "segments that archive_timeout switched early end in zeros, which cost next to nothing)"
say "walferry.info: $(tr '\n' ' ' <"$archive/walferry.info")"

step "8. Stopping the servers"
pg_stop standby fast
say "done in ${SECONDS}s; the work dir is removed (WALFERRY_KEEP=1 keeps it)"
