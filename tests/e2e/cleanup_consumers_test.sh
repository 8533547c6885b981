#!/usr/bin/env bash
# Two warm standbys sharing one archive, each cleaning it with
#   archive_cleanup_command = 'walferry-cleanup --consumer sbN ARCHIVE %r'
# with real PostgreSQL 15 under pgbench:
#  1. standby 2 is stopped while the primary writes many segments and standby 1 keeps making
#     restartpoints (CHECKPOINT on the standby) and cleaning up: every segment from standby 2's
#     recorded cutoff on stays, everything below both cutoffs goes; standby 2 restarts and
#     catches up from the archive.
#  2. standby 1 is promoted (timeline 2) while the old primary goes on archiving timeline 1: its
#     segments past the switch point are a dead branch, kept by plain cleanup above the cutoff
#     and removed only with --prune-diverged; afterwards both servers restart (standby 2
#     replaying from its restartpoint through restore_command) and hold the same data.
#
# Restartpoints happen only when the test asks (checkpoint_timeout = 1h, max_wal_size = 4GB on
# the standbys), so that every cutoff is known when it is checked.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir,
# WALFERRY_PGBENCH_SECONDS (default 25, the load while standby 2 is down), WALFERRY_PGBENCH_SCALE
# (default 5).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/cleanup_lib.sh
source "$(dirname "$0")/cleanup_lib.sh"

pgbench_seconds=${WALFERRY_PGBENCH_SECONDS:-25}
pgbench_scale=${WALFERRY_PGBENCH_SCALE:-5}

e2e_setup walferry-push walferry-fetch walferry-cleanup
archive=$E2E_WORK/archive
e2e_mkdir "$archive"
note "work dir $E2E_WORK, PostgreSQL $E2E_PG_BINDIR, user $E2E_USER"

# run_pgbench SECONDS LOG: pgbench load on the primary.
run_pgbench() {
  pg_bench primary -c 2 -j 2 -T "$1" -n >"$2" 2>&1 || { cat "$2" >&2; fail "pgbench failed"; }
}

# checkpoint_and_ship: a checkpoint on the primary, then a segment switch; waits until standby 1
# has replayed it (and standby 2 too when it runs).
checkpoint_and_ship() {
  pg_sql primary "CHECKPOINT" >/dev/null
  pg_sql primary "INSERT INTO e2e_marker VALUES ('checkpoint $SECONDS')" >/dev/null
  pg_switch_and_wait primary sb1
  if pg_is_running sb2; then pg_wait_replayed sb2 "$E2E_SWITCH_LSN" 180; fi
}

# restartpoint NODE: CHECKPOINT on a standby (a restartpoint at the last replayed checkpoint,
# which runs archive_cleanup_command before it returns); the recorded cutoff must then be the
# server's restartpoint redo file. Prints it.
restartpoint() {
  local redo
  pg_sql "$1" "CHECKPOINT" >/dev/null
  redo=$(pg_sql "$1" "SELECT redo_wal_file FROM pg_control_checkpoint()")
  expect_eq "$1's recorded cutoff after a restartpoint" "$redo" "$(cl_consumer_cutoff "$archive" "$1")"
  printf '%s' "$redo"
}

# --- primary and two warm standbys on one archive
pg_walferry_primary primary "$archive"
pg_start primary
pg_bench primary -i -q -s "$pgbench_scale" >"$E2E_WORK/pgbench-init.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench-init.log" >&2; fail "pgbench -i failed"; }
pg_sql primary "CREATE TABLE e2e_marker (note text)" >/dev/null

for sb in sb1 sb2; do
  pg_walferry_standby primary "$sb" "$archive"
  pg_set "$sb" "archive_cleanup_command = '$(walferry_bin walferry-cleanup) --consumer $sb $archive %r'" \
    "checkpoint_timeout = '1h'" "max_wal_size = '4GB'"
  # Registered at its base backup's start before it runs, so that the other standby's cleanups
  # cannot remove what it needs before its own first restartpoint.
  start=$(cl_backup_start_file "${E2E_NODE_DATA[$sb]}")
  cl_cleanup_ok --consumer "$sb" "$archive" "$start"
  expect_eq "$sb's registered cutoff" "$start" "$(cl_consumer_cutoff "$archive" "$sb")"
done
pg_start sb1
pg_start sb2
note "primary, sb1 and sb2 running; consumers: $(cl_consumers "$archive" | tr '\n' ' ')"

# --- both standbys replay and clean up (at the same time: the archive's lock orders them)
run_pgbench 6 "$E2E_WORK/pgbench-1.log"
checkpoint_and_ship
pg_sql sb1 "CHECKPOINT" >/dev/null &
cp1=$!
pg_sql sb2 "CHECKPOINT" >/dev/null &
cp2=$!
check "CHECKPOINT on sb1 failed" wait "$cp1"
check "CHECKPOINT on sb2 failed" wait "$cp2"
for sb in sb1 sb2; do
  expect_eq "$sb's cutoff after concurrent restartpoints" \
    "$(pg_sql "$sb" "SELECT redo_wal_file FROM pg_control_checkpoint()")" \
    "$(cl_consumer_cutoff "$archive" "$sb")"
done

# sb1 makes a restartpoint, then sb2 one at a later checkpoint: sb2's cutoff is ahead when it stops.
checkpoint_and_ship
c1=$(restartpoint sb1)
checkpoint_and_ship
c2=$(restartpoint sb2)
pg_stop sb2
expect_eq "sb2's recorded cutoff after it stopped (pg_controldata REDO WAL file)" \
  "$(cl_controldata sb2 "Latest checkpoint's REDO WAL file")" "$(cl_consumer_cutoff "$archive" sb2)"
c2=$(cl_consumer_cutoff "$archive" sb2)
c2_segno=$(cl_segno "$c2")
(($(cl_segno "$c1") < c2_segno)) || fail "expected sb1's cutoff $c1 below sb2's $c2"
pass
held_then=$(cl_count_below "$archive" 1 "$c2_segno")
((held_then >= 1)) || fail "no segment below sb2's cutoff $c2 left for sb1's cleanups to remove"
pass
note "sb2 stopped at cutoff $c2; sb1 at $c1; $held_then segments below $c2 still archived"

# --- sb2 down: the primary writes many segments, sb1 keeps cleaning up
load_log=$E2E_WORK/pgbench-2.log
run_pgbench "$pgbench_seconds" "$load_log" &
load=$!
restartpoints=0
while kill -0 "$load" 2>/dev/null; do
  sleep 4
  pg_sql primary "CHECKPOINT" >/dev/null
  pg_sql sb1 "CHECKPOINT" >/dev/null
  restartpoints=$((restartpoints + 1))
done
check "pgbench failed while sb2 was down" wait "$load"
checkpoint_and_ship
c1=$(restartpoint sb1)
last=$(cl_segments "$archive" 1 | tail -n 1)
note "sb1 made $((restartpoints + 1)) restartpoints while sb2 was down: cutoff $c1, last archived $last"
expect_eq "sb2's recorded cutoff while it is down" "$c2" "$(cl_consumer_cutoff "$archive" sb2)"
(($(cl_segno "$c1") >= c2_segno + 5)) ||
  fail "sb1's cutoff $c1 is not well past sb2's $c2: the test needs more segments"
pass
# Nothing sb2 needs is gone: every segment from its cutoff to the last archived one.
cl_assert_present "$archive" 1 "$c2_segno" "$(cl_segno "$last")"
# What neither needs is gone, including what was still there when sb2 stopped.
expect_eq "segments below both cutoffs ($c2)" 0 "$(cl_count_below "$archive" 1 "$c2_segno")"
# What only sb2's record holds: a cleanup to sb1's cutoff keeps it for consumer sb2.
cl_cleanup_ok -n "$archive" "$c1"
expect_eq "dry-run decision on $c2" "keep $c2.zst: at or after cutoff on path (consumer sb2)" \
  "$(grep "^[a-z]* $c2.zst: " <<<"$CL_OUT")"
note "sb2's cutoff held $(($(cl_segno "$c1") - c2_segno)) segments; $held_then below it removed while sb2 was down"

# --- sb2 restarts and catches up from the archive
pg_start sb2
pg_switch_and_wait primary sb2 180
note "sb2 caught up to $E2E_SWITCH_LSN"
checkpoint_and_ship
c2=$(restartpoint sb2)
c1=$(restartpoint sb1)
(($(cl_segno "$c2") > c2_segno)) || fail "sb2's cutoff did not move after it caught up"
pass
min_segno=$(cl_segno "$c1")
(($(cl_segno "$c2") < min_segno)) && min_segno=$(cl_segno "$c2")
expect_eq "segments below both cutoffs after sb2 caught up" 0 \
  "$(cl_count_below "$archive" 1 "$min_segno")"

# --- promotion of sb1 while the old primary goes on with timeline 1
checkpoint_and_ship
primary_digest=$(pg_tables_digest primary)
pg_stop sb2
sb2_min=$(cl_controldata sb2 "Minimum recovery ending location")
sb2_ckpt=$(cl_controldata sb2 "Latest checkpoint location")
# The switch point must not be before anything sb2 replayed, or it could not follow timeline 2.
pg_wait_replayed sb1 "$sb2_min" 60
pg_wait_replayed sb1 "$sb2_ckpt" 60
pg_promote sb1
pg_wait_sql sb1 60 "SELECT NOT pg_is_in_recovery()"
e2e_wait_for 60 "00000002.history.zst in the archive" test -f "$archive/00000002.history.zst"
switch_point=$(zstd -q -d -c "$archive/00000002.history.zst" | awk -F'\t' '$1 == 1 {print $2}')
[[ "$switch_point" =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || fail "no switch point in 00000002.history"
pass
switch_bytes=$(cl_lsn_bytes "$switch_point")
first_diverged=$(((switch_bytes + E2E_WAL_SEGMENT_SIZE - 1) / E2E_WAL_SEGMENT_SIZE))
note "sb1 promoted: timeline 2 from $switch_point; timeline-1 segments from $(cl_seg_name 1 "$first_diverged") on are a dead branch"
expect_eq "sb1's data at promotion" "$primary_digest" "$(pg_tables_digest sb1)"

# The old primary writes and archives a dead branch of timeline 1, then stops.
run_pgbench 4 "$E2E_WORK/pgbench-3.log"
for _ in 1 2 3 4 5 6; do
  pg_sql primary "INSERT INTO e2e_marker VALUES ('dead branch')" >/dev/null
  lsn=$(pg_switch_wal primary)
done
pg_wait_archived primary "$(pg_walfile_name primary "$lsn")" 60
dead_digest=$(pg_tables_digest primary)
pg_stop primary
check "the old primary wrote nothing after the promotion" test "$dead_digest" != "$primary_digest"
diverged=()
while read -r name; do
  (($(cl_segno "$name") >= first_diverged)) && diverged+=("$name")
done < <(cl_segments "$archive" 1)
((${#diverged[@]} >= 6)) || fail "only ${#diverged[@]} dead-branch segments archived"
pass
note "old primary archived ${#diverged[@]} dead-branch segments: ${diverged[0]}..${diverged[-1]}"

# Timeline 2 goes on; sb1 is a primary now, no longer a consumer.
pg_sql sb1 "INSERT INTO e2e_marker VALUES ('timeline 2')" >/dev/null
pg_sql sb1 "CHECKPOINT" >/dev/null
pg_sql sb1 "INSERT INTO e2e_marker VALUES ('after the checkpoint on timeline 2')" >/dev/null
tl2_lsn=$(pg_switch_wal sb1)
pg_wait_archived sb1 "$(pg_walfile_name sb1 "$tl2_lsn")" 60
cl_cleanup_ok --forget-consumer sb1 "$archive"
expect_eq "consumers after forgetting sb1" sb2 "$(cl_consumers "$archive")"

# sb2 restarts on timeline 1, follows timeline 2 from the archive and cleans up on it (plain).
pg_start sb2
pg_wait_replayed sb2 "$tl2_lsn" 120
c2=$(restartpoint sb2)
expect_eq "timeline of sb2's cutoff" 2 "$(cl_tli "$c2")"
c2_segno=$(cl_segno "$c2")
above=0
for name in "${diverged[@]}"; do
  if (($(cl_segno "$name") < c2_segno)); then
    check "dead-branch $name below the cutoff $c2 was kept" test ! -e "$archive/$name.zst"
  else
    check "plain cleanup removed dead-branch $name above the cutoff $c2" test -e "$archive/$name.zst"
    above=$((above + 1))
  fi
done
((above >= 3)) || fail "only $above dead-branch segments above the cutoff $c2: the test shows nothing"
pass
expect_eq "timeline-1 segments on timeline 2's path below $c2" 0 \
  "$(cl_count_below "$archive" 1 "$(((first_diverged < c2_segno) ? first_diverged : c2_segno))")"
note "plain cleanup on timeline 2 (cutoff $c2) kept $above dead-branch segments above it"

# Dry runs: plain keeps them as diverged, --prune-diverged would remove them; nothing changes.
before=$(cl_listing "$archive")
cl_cleanup_ok -n "$archive" "$c2"
plain_report=$CL_OUT
cl_cleanup_ok -n --prune-diverged "$archive" "$c2"
prune_report=$CL_OUT
expect_eq "archive after the dry runs" "$before" "$(cl_listing "$archive")"
for name in "${diverged[@]}"; do
  (($(cl_segno "$name") >= c2_segno)) || continue
  grep -q "^keep $name.zst: diverged after $switch_point, above cutoff" <<<"$plain_report" ||
    fail "plain dry run does not keep $name as diverged: $(grep "$name" <<<"$plain_report")"
  pass
  grep -q "^remove $name.zst: diverged after $switch_point, pruned (--prune-diverged)" <<<"$prune_report" ||
    fail "--prune-diverged dry run does not remove $name: $(grep "$name" <<<"$prune_report")"
  pass
done
expect_eq "removals planned by --prune-diverged -n" "$above" "$(grep -c '^remove ' <<<"$prune_report")"

# For real: only the dead branch goes.
tl2_before=$(cl_segments "$archive" 2)
cl_cleanup_ok --prune-diverged "$archive" "$c2"
for name in "${diverged[@]}"; do
  check "--prune-diverged kept dead-branch $name" test ! -e "$archive/$name.zst"
done
expect_eq "timeline-2 segments after --prune-diverged" "$tl2_before" "$(cl_segments "$archive" 2)"
cl_assert_present "$archive" 2 "$c2_segno" "$(cl_segno "$(cl_segments "$archive" 2 | tail -n 1)")"
check "00000002.history.zst was removed" test -f "$archive/00000002.history.zst"
note "--prune-diverged removed the $above dead-branch segments above the cutoff"

# --- both restart: sb2 replays from its restartpoint through restore_command
log_lines=$(wc -l <"${E2E_NODE_LOG[sb2]}")
pg_stop sb2
pg_stop sb1
redo_file=$(cl_controldata sb2 "Latest checkpoint's REDO WAL file")
expect_eq "sb2's recorded cutoff when it stopped (pg_controldata REDO WAL file)" "$redo_file" \
  "$(cl_consumer_cutoff "$archive" sb2)"
pg_start sb1
pg_start sb2
pg_sql sb1 "INSERT INTO e2e_marker VALUES ('after the restarts')" >/dev/null
end_lsn=$(pg_switch_wal sb1)
pg_wait_archived sb1 "$(pg_walfile_name sb1 "$end_lsn")" 60
pg_wait_replayed sb2 "$end_lsn" 120
# grep reads a process substitution: `tail | grep -q` under pipefail fails when tail still writes
# after grep's first match (SIGPIPE), though the line is there.
grep -q "restored log file \"$redo_file\" from archive" < <(tail -n +"$((log_lines + 1))" "${E2E_NODE_LOG[sb2]}") ||
  fail "sb2 did not restore its restartpoint's segment $redo_file from the archive after the restart"
pass

# --- data: sb1 holds the primary's data at the promotion, sb2 the same as sb1
sb1_digest=$(pg_tables_digest sb1)
expect_eq "pgbench tables on promoted sb1 vs the primary at promotion" "$primary_digest" "$sb1_digest"
expect_eq "pgbench tables on sb2 vs sb1" "$sb1_digest" "$(pg_tables_digest sb2)"
expect_eq "pgbench_accounts rows" $((pgbench_scale * 100000)) \
  "$(pg_sql sb2 "SELECT count(*) FROM pgbench_accounts")"
# pgbench's transactions move the same delta through accounts, tellers, branches and history.
expect_eq "pgbench balances on sb2 (accounts = tellers = branches = history)" t "$(pg_sql sb2 "
  SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(tbalance) FROM pgbench_tellers)
     AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(bbalance) FROM pgbench_branches)
     AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(delta) FROM pgbench_history)
     AND (SELECT count(*) FROM pgbench_history) > 0")"
expect_eq "markers on sb2 vs sb1" "$(pg_sql sb1 "SELECT note FROM e2e_marker ORDER BY note")" \
  "$(pg_sql sb2 "SELECT note FROM e2e_marker ORDER BY note")"
expect_eq "dead-branch rows on sb2" 0 "$(pg_sql sb2 "SELECT count(*) FROM e2e_marker WHERE note = 'dead branch'")"

e2e_archive_verify "$archive" >/dev/null
pg_stop sb2
pg_stop sb1
assert_done
