#!/usr/bin/env bash
# walferry-cleanup --prune against live PostgreSQL 15 servers on loopback: a primary (archiving
# with walferry-push) holding a physical replication slot, a warm standby replaying from the
# archive, and two base backups with keep_backups = 1. Each --prune run must record the consumers
# server.primary (slot restart_lsn), server.standby (restartpoint redo file) and keep-backups (the
# newest backup's start) with exactly the servers' values, remove every segment below the lowest
# of them and nothing at or after it. A server that cannot be asked (a port nobody listens on, a
# stopped standby) and a config with nothing to go by are errors that remove nothing; keep_age
# keeps what was archived recently.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/cleanup_lib.sh
source "$(dirname "$0")/cleanup_lib.sh"

e2e_setup walferry-push walferry-fetch walferry-cleanup
archive=$E2E_WORK/archive
e2e_mkdir "$archive"
note "work dir $E2E_WORK, PostgreSQL $E2E_PG_BINDIR, user $E2E_USER"

# write_and_switch NODE: some WAL, then a segment switch, waiting until it is archived.
write_and_switch() {
  pg_sql "$1" "INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g" >/dev/null
  local lsn
  lsn=$(pg_switch_wal "$1")
  pg_wait_archived "$1" "$(pg_walfile_name "$1" "$lsn")" 60
}

# expect_cutoffs: checks the three recorded consumers against the servers and the backups, sets
# min_cutoff (the lowest segment number) and min_owner (its consumer).
expect_cutoffs() {
  local slot_lsn slot_file redo_file got
  expect_eq "recorded consumers" $'keep-backups\nserver.primary\nserver.standby' \
    "$(cl_consumers "$archive")"
  slot_lsn=$(pg_sql primary "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'standby_slot'")
  slot_file=$(cl_seg_name 1 "$(cl_lsn_segno "$slot_lsn")")
  # pg_walfile_name names the previous segment for an LSN on a segment boundary.
  if (($(cl_lsn_bytes "$slot_lsn") % E2E_WAL_SEGMENT_SIZE != 0)); then
    expect_eq "segment of the slot's restart_lsn $slot_lsn" \
      "$(pg_walfile_name primary "$slot_lsn")" "$slot_file"
  fi
  expect_eq "server.primary cutoff (slot restart_lsn $slot_lsn)" "$slot_file" \
    "$(cl_consumer_cutoff "$archive" server.primary)"
  redo_file=$(pg_sql standby "SELECT redo_wal_file FROM pg_control_checkpoint()")
  expect_eq "server.standby cutoff (pg_control_checkpoint() on the standby)" "$redo_file" \
    "$(cl_consumer_cutoff "$archive" server.standby)"
  expect_eq "keep-backups cutoff (start of the newest backup)" "$backup2_start" \
    "$(cl_consumer_cutoff "$archive" keep-backups)"
  min_cutoff=$(cl_segno "$slot_file")
  min_owner=server.primary
  got=$(cl_segno "$redo_file")
  ((got < min_cutoff)) && { min_cutoff=$got; min_owner=server.standby; }
  got=$(cl_segno "$backup2_start")
  ((got < min_cutoff)) && { min_cutoff=$got; min_owner=keep-backups; }
  note "cutoffs: server.primary $slot_file, server.standby $redo_file, keep-backups $backup2_start"
}

# expect_pruned_to SEGNO: no timeline-1 segment below SEGNO left, all from SEGNO to the last
# archived one present.
expect_pruned_to() {
  local last
  expect_eq "segments below $(cl_seg_name 1 "$1") left in the archive" 0 \
    "$(cl_count_below "$archive" 1 "$1")"
  last=$(cl_segments "$archive" 1 | tail -n 1)
  cl_assert_present "$archive" 1 "$1" "$(cl_segno "$last")"
}

# expect_prune_refused CONFIG WHAT PATTERN: --prune with CONFIG exits 1 with one error line matching
# PATTERN (a glob) and leaves the archive and its consumer records as they were ($before).
expect_prune_refused() {
  cl_cleanup --prune -c "$1" "$E2E_WORK/archive"
  expect_eq "exit status with $2" 1 "$CL_STATUS"
  expect_eq "error lines with $2" 1 "$(grep -c '' <<<"$CL_ERR")"
  # shellcheck disable=SC2053 # PATTERN is a glob
  [[ "$CL_ERR" == $3 ]] || fail "unclear error with $2: $CL_ERR"
  pass
  expect_eq "archive after --prune with $2" "$before" "$(cl_listing "$E2E_WORK/archive")"
}

# --- primary, slot, two base backups, standby
pg_walferry_primary primary "$archive"
pg_start primary
pg_sql primary "CREATE TABLE filler (id int, pad text)" >/dev/null
for _ in 1 2 3; do write_and_switch primary; done
pg_sql primary "CHECKPOINT" >/dev/null
pg_sql primary "SELECT pg_create_physical_replication_slot('standby_slot', true)" >/dev/null
slot_lsn=$(pg_sql primary "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'standby_slot'")
check "the slot has no restart_lsn" test -n "$slot_lsn"
write_and_switch primary

pg_walferry_standby primary standby "$archive"
pg_set standby "checkpoint_timeout = '1h'" "max_wal_size = '4GB'"  # restartpoints only on request
backup1_start=$(cl_backup_start_file "${E2E_NODE_DATA[standby]}")
write_and_switch primary
pg_basebackup_node primary backup2 127.0.0.1 -X none
backup2_start=$(cl_backup_start_file "${E2E_NODE_DATA[backup2]}")
e2e_wait_for 60 "two .backup files in the archive" \
  test "$(find "$archive" -name '*.backup.zst' | wc -l)" -eq 2
slot_segno=$(cl_lsn_segno "$slot_lsn")
note "slot restart_lsn $slot_lsn, backups start in $backup1_start and $backup2_start"
((slot_segno < $(cl_segno "$backup1_start") && $(cl_segno "$backup1_start") < $(cl_segno "$backup2_start"))) ||
  fail "expected slot < backup 1 < backup 2, got $slot_lsn, $backup1_start, $backup2_start"
pass
(($(cl_count_below "$archive" 1 "$slot_segno") >= 3)) ||
  fail "expected at least 3 archived segments below the slot's"
pass

pg_start standby
write_and_switch primary
pg_switch_and_wait primary standby
expect_eq "standby's restartpoint (no restartpoint yet: backup 1's checkpoint)" "$backup1_start" \
  "$(pg_sql standby "SELECT redo_wal_file FROM pg_control_checkpoint()")"

config=$E2E_WORK/walferry.toml
servers_toml="[[server]]
name = \"primary\"
conninfo = \"$(pg_conninfo primary)\"

[[server]]
name = \"standby\"
conninfo = \"$(pg_conninfo standby)\"
"
printf '%s\n[cleanup]\nkeep_backups = 1\n' "$servers_toml" >"$config"
chmod 644 "$config"

# --- dry run: every decision printed, nothing removed, no consumer recorded
before=$(cl_listing "$archive")
cl_cleanup_ok -n --prune -c "$config" "$archive"
expect_eq "archive after --prune -n" "$before" "$(cl_listing "$archive")"
expect_eq "consumers recorded by a dry run" "" "$(cl_consumers "$archive")"
grep -q '^summary (dry run): would remove [1-9]' <<<"$CL_OUT" ||
  fail "dry run summary does not remove anything: $(tail -n 1 <<<"$CL_OUT")"
pass
first_segment=$(cl_segments "$archive" 1 | head -n 1)
expect_eq "dry-run decision on $first_segment" remove "$(cl_decision "$CL_OUT" "$first_segment.zst")"
expect_eq "dry-run decision on the slot's segment" keep \
  "$(cl_decision "$CL_OUT" "$(cl_seg_name 1 "$slot_segno").zst")"

# --- run 1: the slot is the lowest position
cl_cleanup_ok --prune -c "$config" "$archive"
expect_cutoffs
expect_eq "lowest cutoff in run 1" server.primary "$min_owner"
expect_pruned_to "$min_cutoff"
note "run 1: pruned below $(cl_seg_name 1 "$min_cutoff") (slot)"

# --- the slot moves past everything: now the standby's restartpoint (backup 1) is the lowest
write_and_switch primary
pg_sql primary "CHECKPOINT" >/dev/null
pg_sql primary "SELECT pg_replication_slot_advance('standby_slot', pg_current_wal_flush_lsn())" >/dev/null
pg_switch_and_wait primary standby
removable=$(cl_count_below "$archive" 1 "$(cl_segno "$backup1_start")")
((removable >= 1)) || fail "nothing below backup 1's start left to prune"
pass

# An unreachable server: exit 1, one line naming it, nothing removed or recorded.
ghost_port=""
e2e_free_port ghost_port
before=$(cl_listing "$archive")
printf '%s\n[[server]]\nname = "ghost"\nconninfo = "host=127.0.0.1 port=%s user=%s dbname=postgres"\n\n[cleanup]\nkeep_backups = 1\n' \
  "$servers_toml" "$ghost_port" "$E2E_USER" >"$E2E_WORK/ghost.toml"
chmod 644 "$E2E_WORK/ghost.toml"
expect_prune_refused "$E2E_WORK/ghost.toml" "an unreachable server" \
  'walferry-cleanup: error: server "ghost": cannot connect'*'nothing removed'*
note "unreachable server: $CL_ERR"

# Nothing to go by: no servers, no keep_backups.
printf '[cleanup]\nconsumer_ttl = "7d"\n' >"$E2E_WORK/empty.toml"
chmod 644 "$E2E_WORK/empty.toml"
expect_prune_refused "$E2E_WORK/empty.toml" "neither servers nor keep_backups" \
  'walferry-cleanup: error: --prune: no \[\[server\]\]'*'keep_backups is not set'*'nothing removed'*

# --- run 2
cl_cleanup_ok --prune -c "$config" "$archive"
expect_cutoffs
expect_eq "lowest cutoff in run 2" server.standby "$min_owner"
expect_eq "run 2 prunes to backup 1's start" "$backup1_start" "$(cl_seg_name 1 "$min_cutoff")"
expect_pruned_to "$min_cutoff"
note "run 2: pruned below $backup1_start (standby's restartpoint), $removable segments"

# --- run 3: the standby makes a restartpoint past backup 2; keep_backups = 1 holds the archive
write_and_switch primary
pg_sql primary "CHECKPOINT" >/dev/null
write_and_switch primary
pg_sql primary "SELECT pg_replication_slot_advance('standby_slot', pg_current_wal_flush_lsn())" >/dev/null
pg_switch_and_wait primary standby
pg_sql standby "CHECKPOINT" >/dev/null
(($(cl_segno "$(pg_sql standby "SELECT redo_wal_file FROM pg_control_checkpoint()")") > \
  $(cl_segno "$backup2_start"))) || fail "the standby's restartpoint did not pass backup 2's start"
pass
removable=$(cl_count_below "$archive" 1 "$(cl_segno "$backup2_start")")
((removable >= 1)) || fail "nothing below backup 2's start left to prune"
pass
# A stopped standby: like an unreachable one (after its restartpoint: stopping makes none).
before=$(cl_listing "$archive")
pg_stop standby
expect_prune_refused "$config" "the standby stopped" \
  'walferry-cleanup: error: server "standby": cannot connect'*'nothing removed'*
pg_start standby

# keep_age = "1h": every segment was archived within the hour, so nothing goes.
printf '%s\n[cleanup]\nkeep_backups = 1\nkeep_age = "1h"\n' "$servers_toml" >"$E2E_WORK/keep_age.toml"
chmod 644 "$E2E_WORK/keep_age.toml"
segments_before=$(cl_segments "$archive")
cl_cleanup_ok -n --prune -c "$E2E_WORK/keep_age.toml" "$archive"
expect_eq "removals planned with keep_age = 1h" 0 "$(grep -c '^remove ' <<<"$CL_OUT" || true)"
expect_eq "segments kept for keep_age" "$removable" \
  "$(grep -c '^keep [0-9A-F]*\.zst: archived within keep_age' <<<"$CL_OUT" || true)"
cl_cleanup_ok --prune -c "$E2E_WORK/keep_age.toml" "$archive"
expect_eq "segments after --prune with keep_age = 1h" "$segments_before" "$(cl_segments "$archive")"

cl_cleanup_ok -n --prune -c "$config" "$archive"
backup1_file=$(cd "$archive" && ls -- "$backup1_start".*.backup.zst)
[[ "$CL_OUT" == *"keep $backup1_file: backup history"* ]] ||
  fail "dry run does not keep $backup1_file as backup history"
pass
cl_cleanup_ok --prune -c "$config" "$archive"
expect_cutoffs
expect_eq "lowest cutoff in run 3" keep-backups "$min_owner"
expect_pruned_to "$min_cutoff"
check "$backup1_file was removed without -b" test -f "$archive/$backup1_file"
note "run 3: pruned below $backup2_start (keep_backups = 1), $removable segments"

e2e_archive_verify "$archive" >/dev/null
pg_stop standby
pg_stop primary
assert_done
