#!/usr/bin/env bash
# A destination that answers nothing (a real sshd on 127.0.0.2, stopped with SIGSTOP: the kernel
# accepts the connection, no banner ever comes) with required = 1 and a local directory:
# - the first push waits out io_timeout, succeeds with the local copy and queues the file for
#   the silent host, and remembers the failure in the spool;
# - the next pushes leave that host alone (one line each: "not tried", queued) instead of waiting
#   the timeout again;
# - `--drain` tries it anyway: once it answers, the backlog is sent and the note is gone, and the
#   next push writes to it directly;
# - with required = "all" the silent host is tried on every push (and each push fails).
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

sshd_push_setup 6 sb1
A1=$E2E_WORK/sb1/archive
AL=$E2E_WORK/local/archive
e2e_mkdir "$AL"
seg() { printf '%s/0000000100000000000000%02X' "$SRC" "$1"; }

# write_config REQUIRED TIMEOUT: sb1 with connect_timeout and io_timeout TIMEOUT. 2 s while sb1
# is silent, so that each push waits only that long for it; once sb1 answers again, a generous
# 60 s: that it answers is what those steps check, not how fast on a busy machine.
write_config() {
  {
    printf 'spool = "%s"\nrequired = %s\n' "$SPOOL" "$1"
    sshd_destination sb1 "$A1" "connect_timeout = $2" "io_timeout = $2"
    printf '[[destination]]\nname = "local"\nurl = "file://%s"\n' "$AL"
  } >"$CFG"
  chmod 644 "$CFG"
}

queued() { find "$SPOOL/backlog" -type f -name '*.zst' 2>/dev/null | wc -l; }
note_file() { find "$SPOOL/unreachable" -type f 2>/dev/null | wc -l; }

write_config 1 2
note "sb1 answers nothing (SIGSTOP); required = 1"
sshd_pause sb1
run "$PUSH" -c "$CFG" "$(seg 1)"
expect_rc 0 "first push with sb1 silent"
expect_stderr_matches '"sb1": .*(timed out|timeout|no answer within).*"000000010000000000000001" queued in the backlog' "first push"
[[ $(wc -l <"$ERR") == 1 ]] || fail "first push: more than one line: $(cat "$ERR")"
pass
check "the failure of sb1 is not remembered in the spool" test "$(note_file)" = 1

for n in 2 3; do
  # The failure is recent (the note's mtime is the last failure; sb1 is left alone for 30 s
  # after it): however long the machine took since, this push comes right after it.
  touch "$SPOOL"/unreachable/*
  run "$PUSH" -c "$CFG" "$(seg "$n")"
  expect_rc 0 "push $n with sb1 silent"
  expect_stderr_matches "\"sb1\": not tried: it failed [0-9]+ s ago .*\"00000001000000000000000$n\" queued in the backlog" "push $n"
  [[ $(wc -l <"$ERR") == 1 ]] || fail "push $n: more than one line: $(cat "$ERR")"
  pass
done
check "$(queued) files queued for sb1, expected 3" test "$(queued)" = 3
for n in 1 2 3; do [[ -f $AL/$(basename "$(seg "$n")").zst ]] || fail "local lacks segment $n"; pass; done

note "--drain tries sb1 even so: still silent, it fails and keeps everything"
run "$PUSH" --drain -c "$CFG"
check "--drain with sb1 silent exited 0" test "$RC" != 0
expect_stderr_matches '"sb1".*(timed out|timeout|no answer within)' "--drain with sb1 silent"
check "--drain with sb1 silent changed the backlog: $(queued) queued" test "$(queued)" = 3

note "sb1 answers again: --drain sends the backlog and forgets the failure"
sshd_resume sb1
write_config 1 60
run "$PUSH" --drain -v -c "$CFG"
expect_rc 0 "--drain with sb1 back"
expect_stderr_matches 'backlog of "sb1": 3 sent, 0 left' "--drain with sb1 back"
check "backlog not empty after --drain: $(queued)" test "$(queued)" = 0
check "the failure note survived a successful --drain" test "$(note_file)" = 0
run "$PUSH" -c "$CFG" "$(seg 4)"
expect_rc 0 "push with sb1 back"
check "push with sb1 back said something: $(cat "$ERR")" test ! -s "$ERR"
for n in 1 2 3 4; do
  name=$(basename "$(seg "$n")").zst
  check "$name differs between sb1 and local (or is missing)" cmp -s "$A1/$name" "$AL/$name"
done

note "required = all: a silent sb1 is tried on every push"
write_config '"all"' 2
sshd_pause sb1
for n in 5 6; do
  run "$PUSH" -c "$CFG" "$(seg "$n")"
  check "push $n with sb1 silent and required = all exited 0" test "$RC" != 0
  expect_stderr_matches '"?sb1"?.*(timed out|timeout|no answer within)|127\.0\.0\.2.*(timed out|timeout|no answer within)' "push $n, required = all"
  expect_stderr_lacks 'not tried' "push $n, required = all"
done
check "required = all queued files: $(queued)" test "$(queued)" = 0
sshd_resume sb1
assert_done
