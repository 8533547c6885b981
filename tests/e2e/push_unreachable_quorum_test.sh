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

e2e_setup walferry-push walferry-test-make-segment
sshd_setup
sshd_start sb1 127.0.0.2
sshd_start sb2 127.0.0.3
PUSH=$(walferry_bin walferry-push)
MKSEG=$(walferry_bin walferry-test-make-segment)
A1=$E2E_WORK/sb1/archive
A2=$E2E_WORK/sb2/archive
SRC=$E2E_WORK/src
SPOOL=$E2E_WORK/spool
CFG=$E2E_WORK/walferry.toml
ERR=$E2E_WORK/err
e2e_mkdir "$A1" "$A2" "$SRC" "$SPOOL/unreachable"
for n in 1 2; do e2e_as_user "$MKSEG" --segno "$n" --seed "$n" --out "$SRC" >/dev/null; done
seg() { printf '%s/0000000100000000000000%02X' "$SRC" "$1"; }
{
  printf 'spool = "%s"\nrequired = 1\n' "$SPOOL"
  sshd_destination sb1 "$A1" "connect_timeout = 5" "io_timeout = 5"
  sshd_destination sb2 "$A2" "connect_timeout = 5" "io_timeout = 5"
} >"$CFG"
chmod 644 "$CFG"

run() {
  RC=0
  e2e_as_user "$@" >/dev/null 2>"$ERR" || RC=$?
}
queued() { find "$SPOOL/backlog" -type f -name '*.zst' 2>/dev/null | wc -l; }

note "both failed a moment ago (sb1 10 s ago, sb2 2 s ago); sb1 is still down, sb2 is up"
sshd_stop sb1
e2e_as_user touch -d '10 seconds ago' "$SPOOL/unreachable/sb1"
e2e_as_user touch -d '2 seconds ago' "$SPOOL/unreachable/sb2"
run "$PUSH" -c "$CFG" "$(seg 1)"
[[ $RC == 0 ]] || fail "push with sb2 up exited $RC: $(cat "$ERR")"
grep -qE '"sb1": .*"000000010000000000000001" queued in the backlog' "$ERR" ||
  fail "push: sb1's failure is not reported as queued: $(cat "$ERR")"
! grep -q 'not tried' "$ERR" || fail "push left a destination alone: $(cat "$ERR")"
[[ -f $A2/000000010000000000000001.zst ]] || fail "sb2 does not hold segment 1"
[[ $(queued) == 1 ]] || fail "$(queued) files queued for sb1, expected 1"
[[ ! -e $SPOOL/unreachable/sb2 ]] || fail "sb2 answered but its failure note is still there"
[[ -e $SPOOL/unreachable/sb1 ]] || fail "sb1 failed but has no failure note"

note "sb2 is known good again: the next push leaves sb1 alone"
run "$PUSH" -c "$CFG" "$(seg 2)"
[[ $RC == 0 ]] || fail "second push exited $RC: $(cat "$ERR")"
grep -qE '"sb1": not tried: .*"000000010000000000000002" queued in the backlog' "$ERR" ||
  fail "second push: sb1 was not left alone: $(cat "$ERR")"
[[ -f $A2/000000010000000000000002.zst ]] || fail "sb2 does not hold segment 2"
[[ $(queued) == 2 ]] || fail "$(queued) files queued for sb1, expected 2"
note "done"
