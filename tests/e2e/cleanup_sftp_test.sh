#!/usr/bin/env bash
# walferry-cleanup on an SFTP archive, against a real OpenSSH server on 127.0.0.2 (sshd_lib.sh).
# 1. Decisions: a generated multi-timeline archive (timelines 1 -> 2 -> 4 and a sibling 3 of 4,
#    .partial, .backup, .history, unknown files, a -x extension) is cleaned over sftp:// and,
#    as a copy, locally, with the same arguments (-n, -d, -b, -x, --prune-diverged): the -n
#    reports and the remaining files must be identical.
# 2. Consumers over sftp: two consumers, only what both are past is removed; records in the
#    local layout and format; --forget-consumer; the connection taken from a [[destination]]
#    named on the command line.
# 3. The lock (.walferry-cleanup/sftp-lock): a held one is waited for (and taken once released),
#    then refused with one line naming its holder; a stale one is refused at once; nothing
#    removed either way, and a finished cleanup leaves no lock.
# 4. An unreachable host: exit 1, one line, nothing removed.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
# shellcheck disable=SC2016 # the single-quoted scripts are for the test user's bash
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
# shellcheck source=tests/e2e/cleanup_lib.sh
source "$(dirname "$0")/cleanup_lib.sh"

e2e_setup walferry-cleanup
sshd_setup
sshd_start sb1 127.0.0.2
note "work dir $E2E_WORK, user $E2E_USER, sshd sb1 on port ${SSHD_PORT[sb1]}"

REMOTE=$E2E_WORK/sb1/archive  # the standby host's archive, served by sb1
LOCAL=$E2E_WORK/local         # the same content, cleaned locally
PRISTINE=$E2E_WORK/pristine
URL=$(sshd_url sb1 "$REMOTE")
CFG=$E2E_WORK/walferry.toml
sshd_destination sb1 "$REMOTE" 'io_timeout = 10' >"$CFG"
chmod 644 "$CFG"
e2e_mkdir "$PRISTINE" "$E2E_WORK/sb1"

# The archive: empty files (16 MiB segments assumed), made as the test user.
seg() { printf '%08X%08X%08X' "$1" 0 "$2"; }
make_archive() { cl_make_tree_archive "$PRISTINE" "$1" >/dev/null; }

# reset: the pristine archive, both remotely and as the local copy.
reset() {
  e2e_as_user bash -c 'rm -rf "$2" "$3" && cp -a "$1" "$2" && cp -a "$1" "$3"' sh \
    "$PRISTINE" "$REMOTE" "$LOCAL"
}

listing() { (cd "$1" && find . -mindepth 1 ! -name sftp-lock ! -name lock -printf '%p\n' | LC_ALL=C sort); }

# compare ARG... CUTOFF: walferry-cleanup ARG... ARCHIVE CUTOFF on both; reports and remaining files must match.
compare() {
  local what="$*"
  reset
  cl_cleanup "${@:1:$#-1}" "$LOCAL" "${@: -1}"
  local local_status=$CL_STATUS local_out=$CL_OUT local_err=$CL_ERR
  cl_cleanup -c "$CFG" "${@:1:$#-1}" "$URL" "${@: -1}"
  ((CL_STATUS == 0)) || fail "cleanup '$what' over sftp: exit $CL_STATUS: $CL_ERR"
  pass
  expect_eq "exit status of '$what' locally" 0 "$local_status"
  expect_eq "-n/-d report of '$what' over sftp" "$local_out" "$CL_OUT"
  expect_eq "stderr of '$what' over sftp" "$local_err" "$CL_ERR"
  expect_eq "files left by '$what' over sftp" "$(listing "$LOCAL")" "$(listing "$REMOTE")"
}

note "1. the same decisions over sftp as locally"
make_archive ""
t0=$SECONDS
for args in "-n|$(seg 2 9)" "-n|$(seg 4 12)" "-n|--prune-diverged|$(seg 4 12)" \
  "-n|-b|$(seg 2 10).partial" "-n|$(seg 1 5)" "$(seg 2 9)" "-d|-b|--prune-diverged|$(seg 4 12)" \
  "-n|$(seg 3 10)" "$(seg 3 10)"; do
  IFS='|' read -r -a a <<<"$args"
  compare "${a[@]}"
done
# the reports really are decisions, not empty
reset
cl_cleanup_ok -n -c "$CFG" "$URL" "$(seg 4 12)"
[[ $(cl_decision "$CL_OUT" "$(seg 1 4)") == remove ]] || fail "-n over sftp: $(seg 1 4) not removed"
pass
[[ $(cl_decision "$CL_OUT" "$(seg 2 12)") == keep ]] || fail "-n over sftp: $(seg 2 12) not kept"
pass
[[ $(cl_decision "$CL_OUT" README.txt) == keep ]] || fail "-n over sftp: README.txt not kept"
pass
expect_eq "a dry run over sftp removes nothing" "$(listing "$PRISTINE")" "$(listing "$REMOTE")"
note "decision comparisons took $((SECONDS - t0)) s"

note "-x: an extension stripped"
e2e_as_user rm -rf "$PRISTINE"
e2e_mkdir "$PRISTINE"
make_archive .gz
compare -n -x .gz "$(seg 2 9)"
compare -x .gz --prune-diverged "$(seg 4 12)"

note "2. consumers over sftp"
e2e_as_user rm -rf "$PRISTINE"
e2e_mkdir "$PRISTINE"
make_archive ""
reset
cl_cleanup_ok -c "$CFG" --consumer a "$URL" "$(seg 1 4)"
cl_cleanup_ok -c "$CFG" --consumer b "$URL" "$(seg 1 8)"
expect_eq "consumers" $'a\nb' "$(cl_consumers "$REMOTE")"
expect_eq "a's record" "$(seg 1 4)" "$(cl_consumer_cutoff "$REMOTE" a)"
check "b's record lacks updated" grep -qE '^updated = [0-9]+$' "$REMOTE/.walferry-cleanup/consumers/b"
for s in 1 2 3; do [[ ! -e $REMOTE/$(seg 1 $s) ]] || fail "a=4, b=8: $(seg 1 $s) left"; pass; done
[[ -f $REMOTE/$(seg 1 4) && -f $REMOTE/$(seg 1 7) ]] || fail "a consumer's segments were removed"
pass
# a moves past b: only what both are past goes (below b's 8); the record is replaced
cl_cleanup_ok -c "$CFG" --consumer a "$URL" "$(seg 1 9)"
expect_eq "a's record replaced" "$(seg 1 9)" "$(cl_consumer_cutoff "$REMOTE" a)"
[[ ! -e $REMOTE/$(seg 1 7) && -f $REMOTE/$(seg 1 8) ]] || fail "a=9, b=8: not cleaned to 8"
pass
expect_eq "no temp record left" "" "$(find "$REMOTE/.walferry-cleanup" -mindepth 1 -name '.*' -printf '%f ')"
# a consumer's record in the local archive's format is read the same way by a local cleanup
e2e_as_user cp -a "$REMOTE" "$LOCAL.2"
cl_cleanup_ok -n "$LOCAL.2" "$(seg 1 9)"
local_report=$CL_OUT
cl_cleanup_ok -n -c "$CFG" "$URL" "$(seg 1 9)"
expect_eq "-n with consumers, local vs sftp" "$local_report" "$CL_OUT"
# a destination's name as ARCHIVEDIR
cl_cleanup_ok -c "$CFG" --forget-consumer b sb1
expect_eq "consumers after forgetting b" a "$(cl_consumers "$REMOTE")"
cl_cleanup -c "$CFG" --forget-consumer b "$URL"
((CL_STATUS == 1)) || fail "forgetting an unknown consumer: exit $CL_STATUS"
pass
cl_cleanup_ok -c "$CFG" --consumer a "$URL" "$(seg 1 9)"
[[ ! -e $REMOTE/$(seg 1 8) && -f $REMOTE/$(seg 1 9) ]] || fail "after forgetting b: not cleaned to 9"
pass
check "a finished cleanup left its lock" test ! -e "$REMOTE/.walferry-cleanup/sftp-lock"

note "3. the lock"
LOCK=$REMOTE/.walferry-cleanup/sftp-lock
e2e_as_user bash -c 'printf "host=otherhost\npid=4242\ntime=%s\n" "$(date +%s)" >"$1"' sh "$LOCK"
before=$(cl_listing "$REMOTE")
t0=$SECONDS
cl_cleanup -c "$CFG" --lock-wait 3 --consumer a "$URL" "$(seg 1 10)"
((CL_STATUS == 1)) || fail "held lock: exit $CL_STATUS, expected 1: $CL_ERR"
pass
((SECONDS - t0 >= 3)) || fail "held lock: gave up after $((SECONDS - t0)) s, before --lock-wait 3"
pass
[[ $(wc -l <<<"$CL_ERR") == 1 ]] || fail "held lock: not one line: $CL_ERR"
pass
check "held lock message: $CL_ERR" grep -qF "is held by host otherhost, pid 4242" <<<"$CL_ERR"
check "held lock message lacks how to remove it: $CL_ERR" grep -qF "rm $LOCK" <<<"$CL_ERR"
expect_eq "nothing touched under a held lock" "$before" "$(cl_listing "$REMOTE")"
# stale: refused at once
e2e_as_user touch -d '20 minutes ago' "$LOCK"
t0=$SECONDS
cl_cleanup -c "$CFG" --consumer a "$URL" "$(seg 1 10)"
((CL_STATUS == 1)) || fail "stale lock: exit $CL_STATUS, expected 1: $CL_ERR"
pass
((SECONDS - t0 < 10)) || fail "stale lock: took $((SECONDS - t0)) s"
pass
[[ $(wc -l <<<"$CL_ERR") == 1 ]] || fail "stale lock: not one line: $CL_ERR"
pass
grep -qE "cleanup lock .* is stale: held by host otherhost, pid 4242.* for 2[0-9] min; .*remove it" \
  <<<"$CL_ERR" || fail "stale lock message: $CL_ERR"
pass
expect_eq "nothing touched under a stale lock" "$before" "$(cl_listing "$REMOTE")"
check "the stale lock was broken" test -f "$LOCK"
# released while waiting: the cleanup goes on
e2e_as_user touch "$LOCK"
(sleep 2 && e2e_as_user rm -f "$LOCK") &
releaser=$!
cl_cleanup_ok -c "$CFG" --lock-wait 30 --consumer a "$URL" "$(seg 1 10)"
wait "$releaser"
[[ ! -e $REMOTE/$(seg 1 9) && -f $REMOTE/$(seg 1 10) ]] || fail "after the lock was released: not cleaned to 10"
pass
check "the cleanup left its lock" test ! -e "$LOCK"

note "4. an unreachable host"
closed=""
e2e_free_port closed
before=$(cl_listing "$REMOTE")
for archive in "sftp://$E2E_USER@127.0.0.2:$closed$REMOTE" "$URL"; do
  # the second: the right port, but no config, so ~/.ssh/known_hosts and ssh-agent: refused
  cl_cleanup --consumer a "$archive" "$(seg 1 12)"
  ((CL_STATUS == 1)) || fail "cleanup of $archive: exit $CL_STATUS, expected 1: $CL_ERR"
  pass
  [[ $(wc -l <<<"$CL_ERR") == 1 && -n $CL_ERR ]] || fail "$archive: not one line: $CL_ERR"
  pass
  expect_eq "nothing touched ($archive)" "$before" "$(cl_listing "$REMOTE")"
  [[ $archive == "$URL" ]] || grep -qF "cannot connect to" <<<"$CL_ERR" ||
    fail "closed port message: $CL_ERR"
  pass
done

assert_done
