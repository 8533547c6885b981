#!/usr/bin/env bash
# The log-shipping cycle with real PostgreSQL 15: a primary archives with walferry-push under
# pgbench, a warm standby (base backup without WAL, standby.signal, no primary_conninfo) replays
# everything with walferry-fetch, the primary stops, the standby is promoted and archives its
# timeline history with walferry-push; then the data and every archived file are checked.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir,
# WALFERRY_PGBENCH_SECONDS (default 30), WALFERRY_PGBENCH_SCALE (default 5).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

pgbench_seconds=${WALFERRY_PGBENCH_SECONDS:-30}
pgbench_scale=${WALFERRY_PGBENCH_SCALE:-5}

e2e_setup walferry-push walferry-fetch
archive=$E2E_WORK/archive
e2e_mkdir "$archive"
note "work dir $E2E_WORK, PostgreSQL $E2E_PG_BINDIR, user $E2E_USER"

pg_walferry_primary primary "$archive"
pg_start primary
note "primary on ${E2E_NODE_HOST[primary]}:${E2E_NODE_PORT[primary]}"
system_id=$(pg_sql primary "SELECT system_identifier FROM pg_control_system()")

pg_bench primary -i -q -s "$pgbench_scale" >"$E2E_WORK/pgbench-init.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench-init.log" >&2; fail "pgbench -i failed"; }
note "pgbench -i -s $pgbench_scale done"

# --- warm standby: all its WAL comes from the archive (-X none: the base backup waits until the
# WAL it needs is archived, which walferry-push must do for pg_basebackup to return)
pg_walferry_standby primary standby "$archive"
for f in "${E2E_NODE_DATA[standby]}"/pg_wal/*; do
  check "pg_basebackup -X none left ${f##*/} in pg_wal" test "${f##*/}" = archive_status
done
pg_start standby
expect_eq "standby's restore_command" "$(walferry_bin walferry-fetch) %f %p $archive" \
  "$(pg_sql standby "SHOW restore_command")"
check "standby is not in recovery" pg_sql_is_true standby "SELECT pg_is_in_recovery()"
expect_eq "standby's primary_conninfo" "" "$(pg_sql standby "SHOW primary_conninfo")"
note "standby on ${E2E_NODE_HOST[standby]}:${E2E_NODE_PORT[standby]}, replaying from the archive"

# --- load: the standby replays concurrently, asking for segments before they are archived
start_lsn=$(pg_sql primary "SELECT pg_current_wal_lsn()")
first_segment=$(pg_walfile_name primary "$start_lsn")
pg_bench primary -c 4 -j 2 -T "$pgbench_seconds" -n >"$E2E_WORK/pgbench.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench.log" >&2; fail "pgbench failed"; }
grep -E '^(number of transactions actually processed|tps)' "$E2E_WORK/pgbench.log" >&2 || true
pg_sql primary "CREATE TABLE e2e_marker AS SELECT 'written last on timeline 1'::text AS note" >/dev/null
pg_switch_and_wait primary standby
switch_lsn=$E2E_SWITCH_LSN
last_segment=$E2E_SWITCH_WALFILE
generated_mb=$(pg_sql primary "SELECT round(('$switch_lsn'::pg_lsn - '$start_lsn'::pg_lsn) / 1048576)")
# Segments from the start of pgbench to the switch (16 MiB segments: 256 per "log" number).
needed=$(((16#${last_segment:8:8} - 16#${first_segment:8:8}) * 256 + 16#${last_segment:16:8} \
  - 16#${first_segment:16:8} + 1))
note "pgbench ${pgbench_seconds}s: ${generated_mb} MiB of WAL, segments $first_segment..$last_segment"
# archive_timeout = 2s alone switches segments at least every 2 seconds or so under load.
((needed >= pgbench_seconds / 4)) || fail "only $needed segments written during pgbench"
pass

note "standby replayed up to $(pg_sql standby "SELECT pg_last_wal_replay_lsn()")"
expect_eq "marker on the standby" "written last on timeline 1" \
  "$(pg_sql standby "SELECT note FROM e2e_marker")"

read -r archived_count failed_count < <(pg_sql primary \
  "SELECT archived_count, failed_count FROM pg_stat_archiver" | tr '|' ' ')
expect_eq "pg_stat_archiver.failed_count on the primary" 0 "$failed_count"
((archived_count >= 8)) || fail "only $archived_count files archived; expected many segments"
pass
primary_digest=$(pg_tables_digest primary)

# Segments still in the primary's pg_wal under their own name hold the archived bytes (a
# checkpoint recycles old segments by renaming them to names after the current one, so a name up
# to the last archived one is the original; the shutdown checkpoint recycles them all).
compared=0
for f in "$archive"/0000000100000000000000??.zst; do
  name=$(basename "$f" .zst)
  [[ "$name" > "$last_segment" ]] && continue
  [[ -f "${E2E_NODE_DATA[primary]}/pg_wal/$name" ]] || continue
  e2e_archived_equals "$archive" "$name" "${E2E_NODE_DATA[primary]}/pg_wal/$name" ||
    fail "archived $name differs from the primary's pg_wal/$name"
  pass
  compared=$((compared + 1))
done
((compared >= 1)) || fail "no archived segment was left in the primary's pg_wal to compare"
pass
note "$compared archived segments identical to the primary's pg_wal"

# --- failover
pg_stop primary fast
note "primary stopped (archived $archived_count files, none failed)"
restored=$(grep -o 'restored log file "0000000100[0-9A-F]*"' "${E2E_NODE_LOG[standby]}" |
  sort -u | wc -l)
((restored >= needed)) ||
  fail "standby restored $restored segments from the archive, pgbench alone needed $needed"
pass

pg_promote standby
pg_wait_sql standby 60 "SELECT NOT pg_is_in_recovery()"
expect_eq "timeline of the promoted server's WAL" 00000002 \
  "$(pg_sql standby "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")"
note "standby promoted to timeline 2"
e2e_wait_for 60 "00000002.history.zst in the archive" test -f "$archive/00000002.history.zst"
e2e_archived_equals "$archive" 00000002.history "${E2E_NODE_DATA[standby]}/pg_wal/00000002.history" ||
  fail "archived 00000002.history differs from the promoted server's"
pass

# The promoted server archives on its new timeline too.
pg_sql standby "INSERT INTO e2e_marker VALUES ('written on timeline 2')" >/dev/null
tli2_lsn=$(pg_switch_wal standby)
tli2_segment=$(pg_walfile_name standby "$tli2_lsn")
[[ "$tli2_segment" == 00000002* ]] || fail "promoted server writes $tli2_segment, not timeline 2"
pass
pg_wait_archived standby "$tli2_segment" 120
check "$tli2_segment.zst is not in the archive" test -f "$archive/$tli2_segment.zst"
expect_eq "pg_stat_archiver.failed_count on the promoted server" 0 \
  "$(pg_sql standby "SELECT failed_count FROM pg_stat_archiver")"

# --- data: the promoted server holds what the primary held
standby_digest=$(pg_tables_digest standby)
note "primary digest:"$'\n'"$primary_digest"
[[ "$primary_digest" == "$standby_digest" ]] ||
  fail "data differs: primary"$'\n'"$primary_digest"$'\n'"promoted standby"$'\n'"$standby_digest"
pass
accounts=$(pg_sql standby "SELECT count(*) FROM pgbench_accounts")
expect_eq "pgbench_accounts rows" $((pgbench_scale * 100000)) "$accounts"

# --- the archive: every file is plain zstd with the right size
e2e_archive_verify "$archive" >"$E2E_WORK/stats"  # in this shell: its checks count
stats=$(cat "$E2E_WORK/stats")
note "archive: $(tr '\n' ' ' <<<"$stats")"
segments=$(awk '$1 == "segments" {print $2}' <<<"$stats")
histories=$(awk '$1 == "history" {print $2}' <<<"$stats")
backups=$(awk '$1 == "backup" {print $2}' <<<"$stats")
partials=$(awk '$1 == "partial" {print $2}' <<<"$stats")
((segments >= archived_count - backups)) ||
  fail "archive holds $segments segments, the primary archived $archived_count files"
pass
expect_eq "history files in the archive" 1 "$histories"
expect_eq "backup history files in the archive" 1 "$backups"
((partials <= 1)) || fail "$partials .partial files in the archive"
pass
grep -q "$system_id" "$archive/walferry.info" ||
  fail "walferry.info does not name system identifier $system_id"
pass

pg_stop standby fast
assert_done
