#!/usr/bin/env bash
# walferry-status against a real archive: PostgreSQL 15 (1 MiB segments) pushing to two sshd
# hosts (sb1, sb2) and a local directory, with one setup shared by every assertion:
#
# 1. The chain 1 -> 2 -> 3 by real promotions (the primary restarted as a standby of the archive
#    and promoted, twice): the tree names both switch points; a healthy archive is exit 0;
#    --json parses (python3 -m json.tool), --prometheus passes `promtool check metrics`;
#    --check --switch against the live primary waits until the closed segment is everywhere.
# 1b. Cleanup consumers recorded by real `walferry-cleanup --consumer` on the local and the SFTP
#    archive (at their oldest segment: nothing removed): listed with their cutoffs in the text,
#    JSON and Prometheus outputs, exit 0; a record set back ten days: stale, named, exit 1 (and OK
#    again with a longer --stale-consumer); a damaged record: one WARNING line; forgotten again.
# 2. A middle segment deleted on sb1: the gap and sb1 named, exit 2 (then put back).
# 3. A bit flipped in one stored file of the local archive: --verify names it, exit 2.
# 4. required = 1, sb2 stopped, a segment archived: sb2 unreachable, exit 2; sb2 back, its
#    backlog in the spool: WARNING, exit 1.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

E2E_WAL_SEGMENT_SIZE=$((1024 * 1024))
e2e_setup walferry-push walferry-fetch walferry-status walferry-cleanup
sshd_setup
sshd_start sb1 127.0.0.2
sshd_start sb2 127.0.0.3
PUSH=$(walferry_bin walferry-push)
FETCH=$(walferry_bin walferry-fetch)
STATUS=$(walferry_bin walferry-status)
CLEANUP=$(walferry_bin walferry-cleanup)
declare -A ARCHIVE=([sb1]=$E2E_WORK/sb1/archive [sb2]=$E2E_WORK/sb2/archive [local]=$E2E_WORK/local)
e2e_mkdir "${ARCHIVE[sb1]}" "${ARCHIVE[sb2]}" "${ARCHIVE[local]}" "$E2E_WORK/spool"
CFG=$E2E_WORK/walferry.toml

# write_config REQUIRED: the node's config (p is both the server and this host).
write_config() {
  {
    printf 'node = "p"\nspool = "%s/spool/p"\nrequired = %s\n' "$E2E_WORK" "$1"
    printf '[[server]]\nname = "p"\nconninfo = "%s"\n' "$(pg_conninfo p)"
    printf '[status]\nswitch_timeout = "60s"\n'
    sshd_destination sb1 "${ARCHIVE[sb1]}"
    sshd_destination sb2 "${ARCHIVE[sb2]}"
    printf '[[destination]]\nname = "local"\nurl = "file://%s"\n' "${ARCHIVE[local]}"
  } >"$CFG.new"
  chmod 644 "$CFG.new"
  mv "$CFG.new" "$CFG"
}

# expect_stdout_matches REGEX: the last run's stdout matches the extended regex.
expect_stdout_matches() {
  grep -qE -- "$1" "$OUT" || fail "stdout does not match /$1/"
  pass
}

# status ARG...: walferry-status -c $CFG (run: as the test user); $RC, $OUT, $ERR.
status() { run "$STATUS" -c "$CFG" "$@"; }

# write_as_user FILE TEXT: FILE holds TEXT and a newline, written as the test user.
write_as_user() {
  # shellcheck disable=SC2016 # the script is for the test user's bash
  e2e_as_user bash -c 'printf "%s\n" "$1" >"$2"' sh "$2" "$1"
}

# switch_archived: a segment switch on p, then wait until p archived it.
switch_archived() {
  local lsn
  pg_sql p "INSERT INTO t SELECT generate_series(1, 2000)" >/dev/null
  lsn=$(pg_switch_wal p)
  pg_wait_archived p "$(pg_walfile_name p "$lsn")" 60
}

# promote_again: p stopped, restarted as a standby of the archive, promoted: the next timeline.
promote_again() {
  pg_stop p
  e2e_as_user touch "${E2E_NODE_DATA[p]}/standby.signal"
  pg_start p
  pg_promote p
  pg_wait_sql p 60 "SELECT NOT pg_is_in_recovery()"
}

pg_init_node p 127.0.0.1 --wal-segsize=1
write_config '"all"'
pg_enable_archiving p "$PUSH %p -c $CFG" 0
pg_set p "restore_command = '$FETCH %f %p -c $CFG'" "wal_retrieve_retry_interval = '1s'"
pg_start p
pg_sql p "CREATE TABLE t (i int)" >/dev/null
for _ in 1 2 3; do switch_archived; done
promote_again
for _ in 1 2 3; do switch_archived; done
promote_again
for _ in 1 2 3; do switch_archived; done
expect_match "p writes timeline 3" '^00000003' "$(pg_sql p "SELECT pg_walfile_name(pg_current_wal_lsn())")"
e2e_wait_for 60 "00000003.history in every archive" \
  bash -c "[[ -f ${ARCHIVE[sb1]}/00000003.history.zst && -f ${ARCHIVE[sb2]}/00000003.history.zst && -f ${ARCHIVE[local]}/00000003.history.zst ]]"

# --- 1. healthy: the tree, exit 0, JSON, Prometheus, --check --switch
note "healthy archive, timelines 1 -> 2 -> 3"
status
expect_rc 0 "a healthy archive"
expect_stdout_has "OK: every destination complete, nothing waiting"
expect_stdout_has "└─ 2  from 1 at " "the tree"
expect_stdout_has "└─ 3  from 2 at " "the tree"
expect_stdout_has "(no recovery target specified)" "the switch reason"
for d in sb1 sb2 local; do expect_stdout_has "  $d " "destination $d listed"; done
status --json
expect_rc 0 "--json"
check "--json is JSON" python3 -m json.tool "$OUT"
check "--json names timeline 3's parent" grep -qF '{"timeline":3,"parent":2,' "$OUT"
status --prometheus
expect_rc 0 "--prometheus"
check "promtool accepts --prometheus" promtool check metrics <"$OUT"
expect_stdout_has 'walferry_gaps{destination="sb1"} 0'
status --check --switch
expect_rc 0 "--check --switch against the live primary"
expect_stdout_has ", now in every destination" "--switch"
expect_stdout_has "primary" "--check: p's role"

# --- 1b. cleanup consumers on the local and an SFTP archive
note "cleanup consumers recorded by walferry-cleanup"
oldest=$(find "${ARCHIVE[local]}" -name '00000001*.zst' ! -name '*.partial.zst' -printf '%f\n' | sort | head -1)
oldest=${oldest%.zst}
check "timeline 1's oldest segment" test -n "$oldest"
before=$(find "${ARCHIVE[local]}" "${ARCHIVE[sb1]}" -type f | sort)
run "$CLEANUP" --consumer standby-l "${ARCHIVE[local]}" "$oldest"
expect_rc 0 "walferry-cleanup --consumer on the local archive"
run "$CLEANUP" -c "$CFG" --consumer standby-s sb1 "$oldest"
expect_rc 0 "walferry-cleanup --consumer on sb1 (SFTP)"
expect_eq "the cleanups at the oldest segment removed nothing" "$before" \
  "$(find "${ARCHIVE[local]}" "${ARCHIVE[sb1]}" -type f ! -path '*/.walferry-cleanup/*' | sort)"
status
expect_rc 0 "fresh consumers"
expect_stdout_has "cleanup consumers (stale when not updated for 7d)" "the default: [cleanup] consumer_ttl"
expect_stdout_matches "^  local +standby-l +$oldest +[0-9]+s ago +ok$"
expect_stdout_matches "^  sb1 +standby-s +$oldest +[0-9]+s ago +ok$"
check "status took no cleanup lock on sb1" test ! -e "${ARCHIVE[sb1]}/.walferry-cleanup/sftp-lock"
check "status made no cleanup state on sb2" test ! -e "${ARCHIVE[sb2]}/.walferry-cleanup"
status --json
expect_rc 0 "--json with consumers"
check "--json with consumers is JSON" python3 -m json.tool "$OUT"
check "--json: sb1's consumer and cutoff" grep -qF "\"consumers\":[{\"name\":\"standby-s\",\"cutoff\":\"$oldest\"," "$OUT"
check "--json: the local consumer" grep -qF "\"consumers\":[{\"name\":\"standby-l\",\"cutoff\":\"$oldest\"," "$OUT"
check "--json: sb2 has none" grep -qF '"consumers":[],"consumers_error":null' "$OUT"
status --prometheus
expect_rc 0 "--prometheus with consumers"
check "promtool accepts the consumer metrics" promtool check metrics <"$OUT"
expect_stdout_has 'walferry_cleanup_consumers{destination="sb1"} 1'
expect_stdout_has 'walferry_cleanup_consumers{destination="local"} 1'
expect_stdout_has 'walferry_cleanup_consumers_stale{destination="local"} 0'
expect_stdout_matches '^walferry_cleanup_consumer_age_seconds\{destination="sb1",consumer="standby-s"\} [0-9]+$'

# The local consumer last reported ten days ago, sb1's two days ago (their records rewritten as
# record() writes them).
record=${ARCHIVE[local]}/.walferry-cleanup/consumers/standby-l
set_back() { write_as_user "$1" "$(printf 'cutoff = "%s"\nupdated = %s' "$oldest" $(($(date +%s) - $2 * 86400)))"; }
set_back "$record" 10
status
expect_rc 1 "a stale consumer"
expect_stdout_has "WARNING  local: cleanup consumer \"standby-l\" is stale: last updated "
expect_stdout_matches "^  local +standby-l +$oldest +10d ago +STALE$"
expect_stdout_matches "^  sb1 +standby-s +$oldest +[0-9]+s ago +ok$"
status --json
check "--json: the stale consumer" grep -qE '"name":"standby-l","cutoff":"[0-9A-F]{24}","updated":[0-9]+,"age_seconds":86[4-9][0-9]{3},"stale":true' "$OUT"
check "--json status WARNING" grep -qF '{"format":1,"status":"WARNING","exit_status":1,' "$OUT"
status --prometheus
check "promtool accepts a stale consumer" promtool check metrics <"$OUT"
expect_stdout_has 'walferry_cleanup_consumers_stale{destination="local"} 1'
expect_stdout_has 'walferry_cleanup_consumers_stale{destination="sb1"} 0'
status --stale-consumer 30d
expect_rc 0 "--stale-consumer 30d: not stale"
status --stale-consumer 0
expect_rc 0 "--stale-consumer 0: never stale"
status --stale-consumer soon
expect_rc 3 "--stale-consumer soon: a usage error is UNKNOWN"
expect_stderr_has "invalid duration"
set_back "${ARCHIVE[sb1]}/.walferry-cleanup/consumers/standby-s" 2
status --stale-consumer 1d
expect_rc 1 "--stale-consumer 1d: sb1's consumer stale too"
expect_stdout_has "WARNING  sb1: cleanup consumer \"standby-s\" is stale"
expect_stdout_matches "^  sb1 +standby-s +$oldest +(47h|2d) ago +STALE$"

# A damaged record: one line, WARNING.
write_as_user "$record" 'cutoff = "nonsense"'
status
expect_rc 1 "a damaged consumer record"
expect_stdout_matches "^  WARNING  local: cleanup consumers cannot be read, so no cleanup of it runs: cleanup consumer record \"[^\"]*standby-l\" is damaged"
run "$CLEANUP" --forget-consumer standby-l "${ARCHIVE[local]}"
expect_rc 0 "forget the local consumer"
run "$CLEANUP" -c "$CFG" --forget-consumer standby-s sb1
expect_rc 0 "forget sb1's consumer"
status
expect_rc 0 "no consumers left"
check "no consumer table without consumers" bash -c "! grep -q 'cleanup consumers' '$OUT'"

# --- 2. a middle segment deleted on sb1
middle=$(find "${ARCHIVE[sb1]}" -name '00000002000000000000000*.zst' ! -name '*.partial.zst' | sort | sed -n 2p)
check "timeline 2 has a middle segment" test -n "$middle"
mv "$middle" "$E2E_WORK/saved.zst"
status
expect_rc 2 "a gap"
expect_stdout_has "CRITICAL  sb1: gap on timeline 2: $(basename "$middle" .zst) missing (1 segment)"
mv "$E2E_WORK/saved.zst" "$middle"

# --- 3. a bit flipped in the local archive
victim=$(find "${ARCHIVE[local]}" -name '00000001*.zst' ! -name '*.partial.zst' | sort | head -1)
cp "$victim" "$E2E_WORK/victim.zst"
size=$(stat -c %s "$victim")
byte=$(od -An -tu1 -j $((size - 100)) -N1 "$victim" | tr -d ' ')
printf '%b' "\\x$(printf '%02x' $((byte ^ 1)))" | dd of="$victim" bs=1 seek=$((size - 100)) count=1 conv=notrunc status=none
status
expect_rc 0 "a flipped bit is not seen without --verify (no file read)"
status --verify
expect_rc 2 "--verify of a damaged file"
expect_stdout_has "CRITICAL  local: \"$(basename "$victim")\" in file://${ARCHIVE[local]} is damaged"
expect_stdout_has "local: " "--verify summary"
cp "$E2E_WORK/victim.zst" "$victim"
status --verify
expect_rc 0 "--verify of a sound archive"

# --- 4. required = 1: sb2 unreachable, then its backlog
write_config 1
sshd_stop sb2
switch_archived
status
expect_rc 2 "an unreachable destination"
expect_stdout_has "CRITICAL  sb2: unreachable: "
sshd_restart sb2
status
expect_rc 1 "a backlog"
expect_stdout_matches "WARNING  sb2: backlog of [0-9]+ file\(s\)"
status --prometheus
check "promtool accepts the backlog metrics" promtool check metrics <"$OUT"
check "walferry_backlog_files of sb2 is above 0" grep -qE '^walferry_backlog_files\{destination="sb2"\} [1-9]' "$OUT"

pg_stop p
assert_done
