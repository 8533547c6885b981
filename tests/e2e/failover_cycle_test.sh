#!/usr/bin/env bash
# The operators' failover and failback cycle with real PostgreSQL 15 servers, every node archiving
# with walferry-push and restoring with walferry-fetch through two real sshd hosts (sb1, sb2):
#
#   P  primary, archive_command = walferry-push, under pgbench
#   A  warm standby: restore_command = walferry-fetch only, no primary_conninfo
#   B  streaming standby of P with the same restore_command as fallback
#
# 0. pgbench on P; A replays from the archive, B streams.
# 1. B is cut from P (a standby that streamed WAL the warm standby never got could not follow the
#    warm standby's timeline without a rewind); P's last row goes into a segment it never
#    archives: P stops (immediate). A is promoted: timeline 2 from where the archive ends,
#    00000002.history archived by A (no .partial: A's last segment came from the archive,
#    complete). B follows timeline 2 through the archive alone, then streams from A.
# 2. pgbench on A while old P is rewound: pg_rewind --restore-target-wal from /, the WAL it needs
#    no longer in P's pg_wal (walferry-fetch must find it); P then streams from A.
# 3. Switchover: A stops (fast), P has all of it, P is promoted (timeline 3, 00000002 .partial);
#    A needs no rewind and follows P; B follows timeline 3 and streams from P.
# 4. pgbench on P; the pgbench tables are the same on all three; both archives hold both history
#    files, timeline 1's last segment and timeline 2's .partial, byte-identical, and every stored
#    file verifies (zstd, sizes, and walferry-fetch's SHA-256 and header checks).
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir,
# WALFERRY_PGBENCH_SECONDS (default 6, each of the three pgbench runs).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
# shellcheck source=tests/e2e/failover_lib.sh
source "$(dirname "$0")/failover_lib.sh"

pgbench_seconds=${WALFERRY_PGBENCH_SECONDS:-6}

fo_setup
for node in p a b; do fo_write_config "$node" 'required = "all"'; done
# The point of `node`: the three configs differ in that name and the spool, nothing else.
for node in a b; do
  diff <(grep -v '^node = \|^spool = ' "$(fo_config p)") <(grep -v '^node = \|^spool = ' "$(fo_config "$node")") ||
    fail "the configs of p and $node differ in more than node and spool"
  pass
done

# run_pgbench NODE SECONDS: pgbench load on NODE, output in $E2E_WORK/pgbench-NODE.log.
run_pgbench() {
  local log=$E2E_WORK/pgbench-$1.log
  pg_bench "$1" -n -c 2 -j 2 -T "$2" >>"$log" 2>&1 || { cat "$log" >&2; fail "pgbench on $1 failed"; }
}

# mark NODE TEXT: a marker row on the primary NODE, then a segment switch; sets MARK_LSN and
# MARK_WAL to where the switch was.
mark() {
  pg_sql "$1" "INSERT INTO e2e_marker VALUES ('$2')" >/dev/null
  MARK_LSN=$(pg_switch_wal "$1")
  MARK_WAL=$(pg_walfile_name "$1" "$MARK_LSN")
}

# wait_replayed LSN NODE...: every NODE has replayed LSN.
wait_replayed() {
  local lsn=$1 node
  shift
  for node; do pg_wait_replayed "$node" "$lsn" 120; done
}

# archived_everywhere NAME: NAME.zst in both archives.
archived_everywhere() { [[ -f "${FO_ARCHIVE[sb1]}/$1.zst" && -f "${FO_ARCHIVE[sb2]}/$1.zst" ]]; }

# rewind NODE SOURCE: pg_rewind NODE's data directory from the running SOURCE with
# --restore-target-wal, from / (not PGDATA); output in $E2E_WORK/rewind-NODE.log.
rewind() {
  local log=$E2E_WORK/rewind-$1.log
  e2e_as_user_in / "$(pg_bin pg_rewind)" --target-pgdata="${E2E_NODE_DATA[$1]}" \
    --source-server="$(pg_conninfo "$2")" --restore-target-wal --progress >"$log" 2>&1 ||
    { cat "$log" >&2; fail "pg_rewind of $1 from $2 failed"; }
}

# --- 0. P under pgbench, A (warm standby) and B (streaming)
pg_init_node p 127.0.0.1 --wal-segsize=1
fo_node_settings p
pg_start p
pg_bench p -i -q -s 1 >"$E2E_WORK/pgbench-init.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench-init.log" >&2; fail "pgbench -i failed"; }
pg_sql p "CREATE TABLE e2e_marker (note text)" >/dev/null

pg_basebackup_node p a 127.0.0.1 -X none
fo_node_settings a
pg_make_standby a "$FO_FETCH %f %p -c $(fo_config a)"
pg_basebackup_node p b 127.0.0.1
fo_node_settings b
pg_make_standby b "$FO_FETCH %f %p -c $(fo_config b)" "$(pg_conninfo p)"
pg_start a
pg_start b
expect_eq "A's primary_conninfo" "" "$(pg_sql a "SHOW primary_conninfo")"
fo_wait_streaming b 1
note "P, A (archive only) and B (streaming) running; pgbench ${pgbench_seconds}s on P"

run_pgbench p "$pgbench_seconds"
mark p "timeline 1 after pgbench"
pg_wait_archived p "$MARK_WAL" 120
wait_replayed "$MARK_LSN" a b
expect_eq "marker on A" 1 "$(pg_sql a "SELECT count(*) FROM e2e_marker")"
restored_a=$(grep -c 'restored log file "00000001' "${E2E_NODE_LOG[a]}" || true)
((restored_a >= 3)) || fail "A restored only $restored_a segments from the archive"
pass
note "A replayed $restored_a archived segments, B streamed; both at $MARK_LSN"

# --- 1. P's last WAL, its crash, A promoted
# B is cut from P: from here on it too has only what the archive has.
pg_set b "primary_conninfo = ''"
pg_reload b
pg_wait_sql b 30 "SELECT count(*) = 0 FROM pg_stat_wal_receiver"
# The last common checkpoint, in a segment that P's crash recovery will recycle.
pg_sql p "CHECKPOINT" >/dev/null
pg_switch_wal p >/dev/null
mark p "last row on timeline 1"
last1=$MARK_WAL
pg_wait_archived p "$last1" 120
wait_replayed "$MARK_LSN" a b
# What only P will have: a row in a segment it never archives.
pg_sql p "INSERT INTO e2e_marker VALUES ('lost with P')" >/dev/null
p_end=$(pg_sql p "SELECT pg_current_wal_insert_lsn()")
pg_stop p immediate
end_of_archive=$(pg_sql a "SELECT pg_last_wal_replay_lsn()")
expect_eq "A's position: the end of the archived WAL" "$(fo_segment 1 "$p_end") 0" \
  "$(fo_segment 1 "$end_of_archive") $(fo_lsn_offset "$end_of_archive")"
expect_eq "B's position" "$end_of_archive" "$(pg_sql b "SELECT pg_last_wal_replay_lsn()")"
check "P's last segment is not in its pg_wal" test -f "${E2E_NODE_DATA[p]}/pg_wal/$(fo_segment 1 "$p_end")"
archived_everywhere "$(fo_segment 1 "$p_end")" && fail "P's last segment was archived"
pass
note "P stopped (immediate) with WAL up to $p_end; the archive ends at $end_of_archive"

pg_promote a
pg_sql a "CHECKPOINT" >/dev/null
expect_eq "A's timeline" 2 "$(pg_sql a "SELECT timeline_id FROM pg_control_checkpoint()")"
e2e_wait_for 60 "00000002.history in both archives" archived_everywhere 00000002.history
# A restored the old timeline's last segment from the archive, complete: PostgreSQL archives a
# .partial only for a segment it has not already seen archived (one received by streaming).
check "$last1 (the end of timeline 1 on A) is not in both archives" archived_everywhere "$last1"
switch1=$(zstd -q -d -c "${FO_ARCHIVE[sb1]}/00000002.history.zst" | awk -F'\t' '$1 == 1 {print $2}')
expect_eq "timeline 2's switch point (00000002.history)" "$end_of_archive" "$switch1"
e2e_archived_equals "${FO_ARCHIVE[sb2]}" 00000002.history "${E2E_NODE_DATA[a]}/pg_wal/00000002.history" ||
  fail "archived 00000002.history differs from A's"
pass
note "A promoted: timeline 2 from $switch1 in $last1; 00000002.history archived on sb1 and sb2"

# B follows timeline 2 from the archive alone, then streams from A.
mark a "first row on timeline 2"
pg_wait_archived a "$MARK_WAL" 120
wait_replayed "$MARK_LSN" b
expect_eq "marker on B" t "$(pg_sql b "SELECT count(*) = 1 FROM e2e_marker WHERE note = 'first row on timeline 2'")"
check "B's log does not say it follows timeline 2" grep -q 'new target timeline is 2' "${E2E_NODE_LOG[b]}"
expect_eq "timeline of B's restartpoint" 2 "$(fo_checkpoint_timeline b)"
pg_set b "primary_conninfo = '$(pg_conninfo a)'"
pg_reload b
fo_wait_streaming b 2
note "B followed timeline 2 through the archive, now streams from A"

# --- 2. pgbench on A while old P is rewound from A
run_pgbench a "$pgbench_seconds" &
bench=$!
# The crash recovery pg_rewind would run first (single-user), done here so that P's pg_wal can be
# listed before the rewind: its end-of-recovery checkpoint recycles the archived segments.
e2e_as_user_in / "$(pg_bin postgres)" --single -F -D "${E2E_NODE_DATA[p]}" template1 </dev/null \
  >"$E2E_WORK/p-single.log" 2>&1 || { cat "$E2E_WORK/p-single.log" >&2; fail "P's crash recovery failed"; }
p_wal_before=$(ls "${E2E_NODE_DATA[p]}/pg_wal")
rewind p a
check "pg_rewind did not finish: $(cat "$E2E_WORK/rewind-p.log")" grep -q 'Done!' "$E2E_WORK/rewind-p.log"
common=$(sed -n 's/.*rewinding from last common checkpoint at \([0-9A-F]*\/[0-9A-F]*\) on timeline 1.*/\1/p' \
  "$E2E_WORK/rewind-p.log")
check "pg_rewind names no last common checkpoint: $(cat "$E2E_WORK/rewind-p.log")" test -n "$common"
common_wal=$(fo_segment 1 "$common")
grep -qx "$common_wal" <<<"$p_wal_before" &&
  fail "P's pg_wal still held $common_wal: pg_rewind did not need restore_command"
pass
note "P rewound from the checkpoint at $common ($common_wal, fetched from the archive by walferry-fetch)"
check "pgbench on A failed" wait "$bench"
# pg_rewind copied A's postgresql.conf: P's own settings again, as a standby of A.
rm -f "${E2E_NODE_DATA[p]}/standby.signal"
fo_node_settings p
pg_make_standby p "$FO_FETCH %f %p -c $(fo_config p)" "$(pg_conninfo a)"
pg_start p
mark a "timeline 2 after pgbench"
pg_wait_archived a "$MARK_WAL" 120
wait_replayed "$MARK_LSN" p b
fo_wait_streaming p 2
expect_eq "rows lost with P's crash, on P" 0 "$(pg_sql p "SELECT count(*) FROM e2e_marker WHERE note = 'lost with P'")"
note "P replays A's timeline 2 as its standby"

# --- 3. switchover back: A stops, P is promoted to timeline 3
expect_eq "pg_stat_archiver.failed_count on A" 0 "$(pg_sql a "SELECT failed_count FROM pg_stat_archiver")"
pg_stop a fast
a_end=$(e2e_as_user "$(pg_bin pg_controldata)" "${E2E_NODE_DATA[a]}" |
  sed -n 's/^Latest checkpoint location: *//p')
pg_wait_sql p 60 "SELECT pg_last_wal_replay_lsn() > '$a_end'::pg_lsn"
pg_wait_sql b 60 "SELECT pg_last_wal_replay_lsn() > '$a_end'::pg_lsn"
pg_promote p
pg_sql p "CHECKPOINT" >/dev/null
expect_eq "P's timeline" 3 "$(pg_sql p "SELECT timeline_id FROM pg_control_checkpoint()")"
e2e_wait_for 60 "00000003.history in both archives" archived_everywhere 00000003.history
partial2=$(fo_segment 2 "$a_end").partial
e2e_wait_for 60 "$partial2 in both archives" archived_everywhere "$partial2"
note "P promoted: timeline 3 after A's shutdown checkpoint $a_end; $partial2 archived"

rewind a p
grep -q 'no rewind required' "$E2E_WORK/rewind-a.log" ||
  fail "A ended beyond timeline 3's start: $(cat "$E2E_WORK/rewind-a.log")"
pass
pg_make_standby a "$FO_FETCH %f %p -c $(fo_config a)" "$(pg_conninfo p)"
pg_start a
pg_set b "primary_conninfo = '$(pg_conninfo p)'"
pg_reload b
fo_wait_streaming a 3
fo_wait_streaming b 3
note "A (no rewind required) and B stream timeline 3 from P"

# --- 4. the end: same data everywhere, complete archives
run_pgbench p "$pgbench_seconds"
mark p "timeline 3 after pgbench"
pg_wait_archived p "$MARK_WAL" 120
wait_replayed "$MARK_LSN" a b
for node in a b; do
  expect_eq "timeline of $node's restartpoint" 3 "$(fo_checkpoint_timeline "$node")"
done
digest=$(pg_tables_digest p)
for node in a b; do
  expect_eq "pgbench tables on $node vs P" "$digest" "$(pg_tables_digest "$node")"
  expect_eq "markers on $node vs P" "$(pg_sql p "SELECT note FROM e2e_marker ORDER BY note")" \
    "$(pg_sql "$node" "SELECT note FROM e2e_marker ORDER BY note")"
done
expect_eq "markers" "first row on timeline 2|last row on timeline 1|timeline 1 after pgbench|timeline 2 after pgbench|timeline 3 after pgbench" \
  "$(pg_sql p "SELECT note FROM e2e_marker ORDER BY note" | paste -sd '|')"
expect_eq "pg_stat_archiver.failed_count on P" 0 "$(pg_sql p "SELECT failed_count FROM pg_stat_archiver")"

for sb in sb1 sb2; do
  for name in 00000002.history 00000003.history "$last1" "$partial2"; do
    check "$name.zst is not in $sb's archive" test -f "${FO_ARCHIVE[$sb]}/$name.zst"
  done
  fo_verify_archive "${FO_ARCHIVE[$sb]}" >"$E2E_WORK/stats"  # in this shell: its checks count
  stats=$(cat "$E2E_WORK/stats")
  note "$sb: $(tr '\n' ' ' <<<"$stats")"
  expect_eq "history files in $sb's archive" 2 "$(awk '$1 == "history" {print $2}' <<<"$stats")"
  expect_eq ".partial files in $sb's archive" 1 "$(awk '$1 == "partial" {print $2}' <<<"$stats")"
done
diff <(cd "${FO_ARCHIVE[sb1]}" && ls) <(cd "${FO_ARCHIVE[sb2]}" && ls) >&2 ||
  fail "sb1 and sb2 hold different files"
pass
for f in "${FO_ARCHIVE[sb1]}"/*.zst; do
  check "${f##*/} differs between sb1 and sb2" cmp -s "$f" "${FO_ARCHIVE[sb2]}/${f##*/}"
done
assert_done
