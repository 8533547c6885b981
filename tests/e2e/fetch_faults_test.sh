#!/usr/bin/env bash
# walferry-fetch under faults, with real PostgreSQL 15 and two real sshd hosts (sb1, sb2): a
# primary P archives to both with walferry-push (required = 1), a warm standby S replays with
# walferry-fetch (restore_command only):
# (a) sb1 stops while S replays under pgbench: S goes on from sb2; then sb2 stops too: S keeps
#     running (same postmaster, no FATAL or PANIC, fetch says "standby mode" and exits 1), and
#     when both return S catches up (and sb1 gets what it missed from P's backlog);
# (b) one byte in the middle of a stored segment on sb1 is changed before S needs it: fetch
#     names the damaged copy in S's log, takes sb2's, and replay goes past it to the same data;
#     again with prefetch on, where the worker may meet the damaged copy first.
#
# (a) runs with prefetch (the default); for (b) S's config first gets prefetch = 0, so that the
# damaged copy is met by the restore_command call itself (whose stderr is S's server log), then
# prefetch = 8, where the background worker (whose stderr goes nowhere) may meet it first: then
# a later call prints the note the worker left in the spool, so S's log names it either way.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
# shellcheck source=tests/e2e/failover_lib.sh
source "$(dirname "$0")/failover_lib.sh"

fo_setup
for node in p s; do fo_write_config "$node" 'required = 1' '[fetch]' 'retries = 1' 'retry_delay_ms = 200'; done

# mark: a marker row on P, then a segment switch; sets MARK_LSN and MARK_WAL.
mark() {
  pg_sql p "INSERT INTO e2e_marker VALUES ('mark $SECONDS')" >/dev/null
  MARK_LSN=$(pg_switch_wal p)
  MARK_WAL=$(pg_walfile_name p "$MARK_LSN")
}

# drain: walferry-push --drain with P's config (what required = 1 left in the backlog).
drain() { e2e_as_user "$FO_PUSH" --drain -c "$(fo_config p)" || fail "walferry-push --drain failed"; }

# postmaster_pid NODE: the pid in NODE's postmaster.pid.
postmaster_pid() { head -n 1 "${E2E_NODE_DATA[$1]}/postmaster.pid"; }

# segments_in ARCHIVE: the timeline-1 segment names stored in ARCHIVE, sorted.
segments_in() { find "$1" -maxdepth 1 -name '00000001????????????????.zst' -printf '%f\n' | LC_ALL=C sort; }

pg_init_node p 127.0.0.1 --wal-segsize=1
fo_node_settings p
pg_start p
pg_bench p -i -q -s 1 >"$E2E_WORK/pgbench.log" 2>&1 || { cat "$E2E_WORK/pgbench.log" >&2; fail "pgbench -i failed"; }
pg_sql p "CREATE TABLE e2e_marker (note text)" >/dev/null
pg_basebackup_node p s 127.0.0.1 -X none
fo_node_settings s
pg_make_standby s "$FO_FETCH %f %p -c $(fo_config s)"
pg_start s
mark
pg_wait_archived p "$MARK_WAL" 60
pg_wait_replayed s "$MARK_LSN" 120
note "P and warm standby S running"

# told_twice: S's log since $log_from has two fetch calls that found no reachable copy.
told_twice() {
  (($(fo_log_since s "$log_from" | grep -c "standby mode: the server will ask again") >= 2))
}

# sb1_complete: sb1 holds every segment sb2 holds.
sb1_complete() {
  [[ -z "$(comm -13 <(segments_in "${FO_ARCHIVE[sb1]}") <(segments_in "${FO_ARCHIVE[sb2]}"))" ]]
}

# --- (a) sb1 stops while S replays under pgbench
log_from=$(fo_log_lines s)
pid=$(postmaster_pid s)
pg_bench p -n -c 2 -T 6 >>"$E2E_WORK/pgbench.log" 2>&1 &
bench=$!
sleep 2
sshd_stop sb1
wait "$bench" || { cat "$E2E_WORK/pgbench.log" >&2; fail "pgbench failed"; }
mark
pg_wait_archived p "$MARK_WAL" 120
pg_wait_replayed s "$MARK_LSN" 120
e2e_wait_for 10 "S's log to say that sb1 could not be reached" \
  fo_log_has s "$log_from" "cannot connect to $E2E_USER@127.0.0.2:${SSHD_PORT[sb1]}"
missed=$(comm -13 <(segments_in "${FO_ARCHIVE[sb1]}") <(segments_in "${FO_ARCHIVE[sb2]}") | wc -l)
((missed >= 1)) || fail "sb1 missed only $missed segments while it was down"
pass
note "sb1 down: S replayed $missed segments that only sb2 holds, up to $MARK_LSN"

# Both down: nothing to fetch, S waits.
sshd_stop sb2
log_from=$(fo_log_lines s)
mark
pending_lsn=$MARK_LSN
pending_wal=$MARK_WAL
e2e_wait_for 60 "S to be told twice that no copy of the next file can be had" told_twice
sleep 2
check "S stopped while both sshd hosts were down" pg_is_running s
expect_eq "S's postmaster pid" "$pid" "$(postmaster_pid s)"
expect_eq "S in recovery" t "$(pg_sql s "SELECT pg_is_in_recovery()")"
fo_log_since s "$log_from" | grep -E 'FATAL|PANIC' >&2 && fail "FATAL or PANIC in S's log while both hosts were down"
pass
pg_sql_is_true s "SELECT pg_last_wal_replay_lsn() < '$pending_lsn'::pg_lsn" ||
  fail "S replayed $pending_wal while no archive could be reached"
pass
note "sb1 and sb2 down: S waits in recovery (postmaster $pid), P keeps $pending_wal"

sshd_restart sb1
sshd_restart sb2
mark
pg_wait_archived p "$MARK_WAL" 120
pg_wait_replayed s "$MARK_LSN" 120
expect_eq "S's postmaster pid after the outage" "$pid" "$(postmaster_pid s)"
# What sb1 missed waits in P's backlog (pushes leave a host that failed alone for a while).
drain
check "sb1 lacks segments after walferry-push --drain" sb1_complete
note "both back: S caught up to $MARK_LSN, sb1 holds everything sb2 does"

# --- (b) a damaged copy on sb1, a good one on sb2

# damage_next_segment PREFETCH: stop S, set its [fetch] prefetch, fill the segment after P's
# current one with updates, archive it on both hosts, change a byte in the middle of sb1's copy;
# sets BAD (its name), MARK_LSN (a switch after it) and log_from (S's log lines before it starts).
damage_next_segment() {
  local size
  pg_stop s
  fo_write_config s 'required = 1' '[fetch]' 'retries = 1' 'retry_delay_ms = 200' "prefetch = $1"
  BAD=$(pg_sql p "SELECT pg_walfile_name(pg_current_wal_lsn() + $E2E_WAL_SEGMENT_SIZE)")
  pg_sql p "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 30000" >/dev/null
  mark
  pg_wait_archived p "$MARK_WAL" 60
  [[ "$BAD" < "$MARK_WAL" ]] || fail "the update did not fill $BAD"
  pass
  drain
  for sb in sb1 sb2; do
    check "$BAD is not in $sb's archive" test -f "${FO_ARCHIVE[$sb]}/$BAD.zst"
  done
  size=$(stat -c %s "${FO_ARCHIVE[sb1]}/$BAD.zst")
  ((size >= 16384)) || fail "$BAD.zst holds only $size bytes: not a segment full of updates"
  pass
  fo_corrupt_middle "${FO_ARCHIVE[sb1]}/$BAD.zst"
  cmp -s "${FO_ARCHIVE[sb1]}/$BAD.zst" "${FO_ARCHIVE[sb2]}/$BAD.zst" && fail "the copy of $BAD on sb1 was not changed"
  pass
  e2e_as_user "$FO_FETCH" --mode standby "$BAD" "$E2E_WORK/bad" "${FO_ARCHIVE[sb1]}" 2>/dev/null &&
    fail "walferry-fetch takes the damaged $BAD from sb1's directory"
  pass
  log_from=$(fo_log_lines s)
}

# replayed_past_bad: S restarts and replays past $BAD to $MARK_LSN, restoring $BAD, and holds P's data.
replayed_past_bad() {
  pg_start s
  pg_wait_replayed s "$MARK_LSN" 120
  e2e_wait_for 10 "S's log to say that it restored $BAD" \
    fo_log_has s "$log_from" "restored log file \"$BAD\" from archive"
  expect_eq "pgbench tables on S vs P" "$(pg_tables_digest p)" "$(pg_tables_digest s)"
  expect_eq "markers on S vs P" "$(pg_sql p "SELECT note FROM e2e_marker ORDER BY note")" \
    "$(pg_sql s "SELECT note FROM e2e_marker ORDER BY note")"
}

# The restore_command call meets the damaged copy (prefetch = 0) and says so in S's log.
damage_next_segment 0
replayed_past_bad
damaged=$(fo_log_since s "$log_from" | grep -F "\"$BAD.zst\" in sftp://$E2E_USER@127.0.0.2:" | grep "is damaged") ||
  fail "S's log does not name the damaged copy of $BAD on sb1"
note "S's log: $damaged"
note "$BAD damaged on sb1: S said so, took sb2's copy and replayed past it to $MARK_LSN"

# With prefetch the worker may meet it first: whoever does, replay goes past it with sb2's copy
# and S's log names the damaged copy (from the worker's note, the next call that uses the spool).
damage_next_segment 8
replayed_past_bad
e2e_wait_for 30 "S's log to name the damaged copy of $BAD on sb1" \
  fo_log_has s "$log_from" "\"$BAD.zst\" in $(sshd_url sb1 "${FO_ARCHIVE[sb1]}") is damaged: "
said=$(fo_log_since s "$log_from" | grep -c "\"$BAD.zst\" in .* is damaged" || true)
by_worker=$(fo_log_since s "$log_from" | grep -c "warning: prefetch worker: \"$BAD.zst\" in " || true)
note "$BAD damaged on sb1, prefetch = 8: S replayed past it to $MARK_LSN (damage named in S's log $said time(s), $by_worker from the worker's note)"
assert_done
