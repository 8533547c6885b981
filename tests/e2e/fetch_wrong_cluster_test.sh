#!/usr/bin/env bash
# The wrong-cluster guard of walferry-fetch, with real PostgreSQL 15 and a real sshd (issue 10,
# point 3). The prefetch spool is keyed by the data directory's path and the source URLs, so:
# - cluster A is archived to an sftp:// archive; a restore of its base backup at R (recovery to
#   the end of the backup) leaves A's next segments in the prefetch spool;
# - the archive at the same URL is rebuilt for a new cluster B (emptied, B pushes into it) and
#   the data directory R is re-created from B's base backup;
# - B's recovery must replay every one of B's rows: A's spooled segments (the same names) are
#   refused as another cluster's, removed, and B's own fetched from the archive. Before the
#   guard, fetch handed them over (exit 0), PostgreSQL said "WAL file is from different database
#   system" and ended recovery early.
# - a segment of A left in B's archive is refused too: 255 in targeted recovery, 1 in standby.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

E2E_WAL_SEGMENT_SIZE=$((1024 * 1024))
e2e_setup walferry-push walferry-fetch
sshd_setup
sshd_start sb1 127.0.0.2
FETCH=$(walferry_bin walferry-fetch)
A1=$E2E_WORK/sb1/archive
SPOOL=$E2E_WORK/spool
CFG=$E2E_WORK/walferry.toml
e2e_mkdir "$A1"
{
  printf 'spool = "%s"\n' "$SPOOL"
  sshd_destination sb1 "$A1"
  printf '[fetch]\nretries = 0\nretry_delay_ms = 10\nprefetch = 4\n'
} >"$CFG"
chmod 644 "$CFG"
note "work dir $E2E_WORK, sshd sb1 ${SSHD_PORT[sb1]}"

ROWS_PER_CHUNK=2000
CHUNKS=6
# workload NODE: CHUNKS chunks of rows, each in a segment of its own.
workload() {
  pg_sql "$1" "CREATE TABLE t (id int, cluster text, pad text)" >/dev/null
  local i lsn
  for i in $(seq 1 $CHUNKS); do
    pg_sql "$1" "INSERT INTO t SELECT g, '$1', repeat('x', 200)
                 FROM generate_series(($i - 1) * $ROWS_PER_CHUNK + 1, $i * $ROWS_PER_CHUNK) g" >/dev/null
    lsn=$(pg_switch_wal "$1")
  done
  pg_wait_archived "$1" "$(pg_walfile_name "$1" "$lsn")" 120
}
# recovery_settings [SETTING...]: R recovers from the archive (no archiving of its own).
recovery_settings() {
  pg_set r "restore_command = '$FETCH -c $CFG %f %p'" "archive_mode = off" \
    "recovery_target_action = 'promote'" "$@"
  e2e_as_user touch "${E2E_NODE_DATA[r]}/recovery.signal"
}
key_dir() { find "$SPOOL/prefetch" -mindepth 1 -maxdepth 1 -type d | head -n 1; }
spooled() { find "$(key_dir)" -maxdepth 1 -name '0*.ok' -printf '%f\n' | sed 's/\.ok$//' | LC_ALL=C sort; }
lock_free() { flock -n "$(key_dir)/lock" true; }
# archived_cluster NODE BACKUP: a new cluster NODE archiving to sb1, a base backup of it taken
# into node BACKUP before the workload, then the workload archived; NODE is stopped after.
# Prints NODE's system identifier.
archived_cluster() {
  pg_init_node "$1" 127.0.0.1 --wal-segsize=1
  pg_enable_archiving "$1" "$(walferry_bin walferry-push) -c $CFG %p"
  pg_start "$1"
  pg_basebackup_node "$1" "$2" 127.0.0.1 -X none
  workload "$1"
  pg_sql "$1" "SELECT system_identifier FROM pg_control_system()"
  pg_stop "$1"
}

note "cluster A, archived to sb1; its base backup restored at R to the end of the backup"
archived_cluster a r >"$E2E_WORK/sysid_a"
sysid_a=$(cat "$E2E_WORK/sysid_a")
recovery_settings "recovery_target = 'immediate'"
pg_start r
pg_wait_sql r 60 "SELECT NOT pg_is_in_recovery()"
pg_stop r
e2e_wait_for 60 "the prefetch worker of A's recovery" lock_free
spooled_a=$(spooled)
check "A's recovery left nothing in the spool: the scenario is not set up" test -n "$spooled_a"
note "A ($sysid_a) left in the spool: $(paste -sd ' ' <<<"$spooled_a")"

note "the archive rebuilt for cluster B at the same URL, R re-created from B's base backup"
mv "$A1" "$E2E_WORK/archive_a"  # kept aside for the last check
e2e_mkdir "$A1"
archived_cluster b bb >"$E2E_WORK/sysid_b"
sysid_b=$(cat "$E2E_WORK/sysid_b")
check "two initdb gave one system identifier" test "$sysid_a" != "$sysid_b"
rm -rf "${E2E_NODE_DATA[r]}"
mv "${E2E_NODE_DATA[bb]}" "${E2E_NODE_DATA[r]}"
pg_set_address r
same=$(comm -12 <(echo "$spooled_a") <(find "$A1" -name '0*.zst' -printf '%f\n' | sed 's/\.zst$//' | LC_ALL=C sort) | paste -sd ' ')
check "no spooled segment of A has the name of one of B's: the scenario is not set up" test -n "$same"
note "B ($sysid_b) archived, sharing names with A's spooled segments: $same"

note "B's recovery at R replays every row of B"
recovery_settings
pg_start r
pg_wait_sql r 120 "SELECT NOT pg_is_in_recovery()"
log=${E2E_NODE_LOG[r]}
! grep -q 'WAL file is from different database system' "$log" ||
  fail "PostgreSQL was handed a segment of another cluster: $(grep 'different database system' "$log" | head -n 2)"
pass
check "fetch did not say it refused A's spooled segments" grep -q 'belongs to another cluster' "$log"
expect_eq "rows of B after its recovery" "$((ROWS_PER_CHUNK * CHUNKS)) b" \
  "$(pg_sql r "SELECT count(*), string_agg(DISTINCT cluster, ',') FROM t" | tr '|' ' ')"
pg_stop r
e2e_wait_for 60 "the prefetch worker of B's recovery" lock_free
for f in $(spooled); do
  head -c 32 "$(key_dir)/$f" | od -An -tu8 -j 24 -N 8 | grep -qw "$sysid_b" ||
    fail "spooled $f is not of cluster B"
  pass
done

note "a segment of A left in B's archive: 255 in targeted recovery, 1 in standby, nothing at %p"
name=${same%% *}
cp "$E2E_WORK/archive_a/$name.zst" "$A1/$name.zst"
for mode in recovery standby; do
  rm -f "${E2E_NODE_DATA[r]}/pg_wal/RECOVERYXLOG"
  run_in "${E2E_NODE_DATA[r]}" "$FETCH" -c "$CFG" --mode "$mode" "$name" pg_wal/RECOVERYXLOG
  want=255
  [[ $mode == standby ]] && want=1
  expect_rc "$want" "A's $name in B's archive, $mode mode"
  check "A's $name reached %p ($mode mode)" test ! -e "${E2E_NODE_DATA[r]}/pg_wal/RECOVERYXLOG"
  expect_stderr_has "belongs to another cluster" "no word on the foreign $name"
done

assert_done
