#!/usr/bin/env bash
# required = 1 with two sftp:// destinations (real sshd hosts) that both failed a moment ago:
# sb1 is still down (stopped: the connection is refused), sb2 is up again. Leaving the most
# recent failure alone would try only sb1 and fail the push though sb2 could take the file, and
# the archiver would stall for 30 s. Skipping recent failures leaves fewer than `required` tried,
# so both are tried, in parallel: sb2 stores the file, sb1 gets it in its backlog, exit 0. The
# next push, with sb2 known good again, leaves sb1 alone ("not tried").
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

sshd_push_setup 2 sb1 sb2
A1=$E2E_WORK/sb1/archive
A2=$E2E_WORK/sb2/archive
e2e_mkdir "$SPOOL/unreachable"
seg() { printf '%s/0000000100000000000000%02X' "$SRC" "$1"; }
{
  printf 'spool = "%s"\nrequired = 1\n' "$SPOOL"
  sshd_destination sb1 "$A1" "connect_timeout = 5" "io_timeout = 5"
  sshd_destination sb2 "$A2" "connect_timeout = 5" "io_timeout = 5"
} >"$CFG"
chmod 644 "$CFG"

queued() { find "$SPOOL/backlog" -type f -name '*.zst' 2>/dev/null | wc -l; }

note "both failed a moment ago (sb1 10 s ago, sb2 2 s ago); sb1 is still down, sb2 is up"
sshd_stop sb1
e2e_as_user touch -d '10 seconds ago' "$SPOOL/unreachable/sb1"
e2e_as_user touch -d '2 seconds ago' "$SPOOL/unreachable/sb2"
run "$PUSH" -c "$CFG" "$(seg 1)"
check "push with sb2 up exited $RC: $(cat "$ERR")" test "$RC" = 0
grep -qE '"sb1": .*"000000010000000000000001" queued in the backlog' "$ERR" ||
  fail "push: sb1's failure is not reported as queued: $(cat "$ERR")"
pass
check_not "push left a destination alone: $(cat "$ERR")" grep -q 'not tried' "$ERR"
check "sb2 does not hold segment 1" test -f "$A2/000000010000000000000001.zst"
check "$(queued) files queued for sb1, expected 1" test "$(queued)" = 1
check "sb2 answered but its failure note is still there" test ! -e "$SPOOL/unreachable/sb2"
check "sb1 failed but has no failure note" test -e "$SPOOL/unreachable/sb1"

note "sb2 is known good again: the next push leaves sb1 alone"
run "$PUSH" -c "$CFG" "$(seg 2)"
check "second push exited $RC: $(cat "$ERR")" test "$RC" = 0
grep -qE '"sb1": not tried: .*"000000010000000000000002" queued in the backlog' "$ERR" ||
  fail "second push: sb1 was not left alone: $(cat "$ERR")"
pass
check "sb2 does not hold segment 2" test -f "$A2/000000010000000000000002.zst"
check "$(queued) files queued for sb1, expected 2" test "$(queued)" = 2
assert_done
