#!/usr/bin/env bash
# walferry-cleanup on an s3:// archive, against a real Ceph RGW over TLS (ceph_lib.sh): a
# generated archive with timelines 1 -> 2 -> 4 and a sibling 3 of 4 (.partial, .backup, .history,
# unknown names) is uploaded to RGW and copied to a local directory; the same sequences of
# cleanups (dry runs, -b, --prune-diverged, two consumers on different timelines moving on, one
# forgotten) run on both. After every step the reports, the exit status and the files left must be
# identical, the consumers recorded the same, and a finished cleanup leaves no lock held. Last,
# walferry-status shows the consumer left on the s3:// archive (text, JSON, Prometheus) without
# writing any object (no lock generation).
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/cleanup_lib.sh
source "$(dirname "$0")/cleanup_lib.sh"
# shellcheck source=tests/e2e/ceph_lib.sh
source "$(dirname "$0")/ceph_lib.sh"

e2e_setup walferry-cleanup walferry-status
ceph_setup
ceph_start
PRISTINE=$E2E_WORK/pristine
e2e_mkdir "$PRISTINE"

seg() { printf '%08X%08X%08X' "$1" 0 "$2"; }
total=$(cl_make_tree_archive "$PRISTINE")

SCENARIO=0 PREFIX="" LOCAL="" CFG="" URL=""
# fresh: a new prefix on RGW holding the pristine archive, a new local copy, a config naming it.
fresh() {
  SCENARIO=$((SCENARIO + 1))
  PREFIX=clean$SCENARIO LOCAL=$E2E_WORK/local$SCENARIO CFG=$E2E_WORK/cleanup$SCENARIO.toml
  URL=s3://$CEPH_BUCKET/$PREFIX
  e2e_as_user cp -a "$PRISTINE" "$LOCAL"
  ceph_destination rgw "$PREFIX" | e2e_as_user tee "$CFG" >/dev/null
  local f code
  for f in "$PRISTINE"/*; do
    code=$(ceph_s3 PUT "/$CEPH_BUCKET/$PREFIX/${f##*/}" "$f")
    [[ "$code" == 200 ]] || fail "upload of ${f##*/}: HTTP $code"
  done
  expect_eq "uploaded archive $PREFIX" "$(local_files)" "$(s3_files)"
}

# local_files / s3_files: the archive's files outside walferry's cleanup state, sorted.
local_files() { (cd "$LOCAL" && find . -type f ! -path './.walferry-cleanup/*' -printf '%P\n' | LC_ALL=C sort); }
s3_files() { ceph_s3_list "$PREFIX/" | sed "s|^$PREFIX/||" | grep -v '^\.walferry-cleanup/' | LC_ALL=C sort || true; }
s3_consumers() {
  ceph_s3_list "$PREFIX/.walferry-cleanup/consumers/" | sed 's|.*/||' | LC_ALL=C sort || true
}
s3_cutoff() {
  ceph_s3_get "$PREFIX/.walferry-cleanup/consumers/$1" "$E2E_WORK/record"
  sed -n 's/^cutoff = "\([0-9A-F]\{24\}\)"$/\1/p' "$E2E_WORK/record"
}

# same ARG... CUTOFF_OR_NOTHING: walferry-cleanup ARG... on the local copy and on RGW (the archive
# goes where ARCHIVEDIR goes: before the last argument, or last with --forget-consumer).
same() {
  local what="$*" local_status local_out local_err
  local -a args=("$@") la ra
  if [[ " $what " == *" --forget-consumer "* ]]; then
    la=("${args[@]}" "$LOCAL") ra=(-c "$CFG" "${args[@]}" "$URL")
  else
    la=("${args[@]:0:$#-1}" "$LOCAL" "${args[-1]}") ra=(-c "$CFG" "${args[@]:0:$#-1}" "$URL" "${args[-1]}")
  fi
  cl_cleanup "${la[@]}"
  local_status=$CL_STATUS local_out=$CL_OUT local_err=$CL_ERR
  cl_cleanup "${ra[@]}"
  expect_eq "exit status of '$what' on RGW (local: $local_err)" "$local_status" "$CL_STATUS"
  expect_eq "report of '$what' on RGW" "$local_out" "$CL_OUT"
  expect_eq "stderr of '$what' on RGW" "$local_err" "$CL_ERR"
  expect_eq "files left by '$what' on RGW" "$(local_files)" "$(s3_files)"
  expect_eq "consumers after '$what' on RGW" "$(cl_consumers "$LOCAL")" "$(s3_consumers)"
}

step "decisions without consumers"
fresh
same -n "$(seg 2 9)"
same -n "$(seg 4 12)"
same -n --prune-diverged "$(seg 4 12)"
same -n -b "$(seg 2 10).partial"
cl_cleanup_ok -n -c "$CFG" "$URL" "$(seg 4 12)"
[[ $(cl_decision "$CL_OUT" "$(seg 2 12)") == keep ]] || fail "-n on RGW: $(seg 2 12) not kept"
pass
[[ $(cl_decision "$CL_OUT" "$(seg 1 4)") == remove ]] || fail "-n on RGW: $(seg 1 4) not removed"
pass
same -d -b --prune-diverged "$(seg 4 12)"
fresh
same "$(seg 3 10)"
same "$(seg 2 9)"

step "two consumers on two timelines"
fresh
same --consumer a "$(seg 2 9)"
same --consumer b "$(seg 1 4)"
expect_eq "a's cutoff on RGW" "$(seg 2 9)" "$(s3_cutoff a)"
same --consumer b "$(seg 4 12)"
same -n "$(seg 4 13)"
same --consumer a "$(seg 4 11)"
same --forget-consumer b
same --consumer a --prune-diverged "$(seg 4 13)"
check "something was removed on RGW at all" test "$(s3_files | wc -l)" -lt "$total"
lock=$(ceph_s3_list "$PREFIX/.walferry-cleanup/" | grep -c '/s3-lock\.' || true)
note "lock generation objects left: $lock"
# A second cleanup right away is not kept waiting: the lock was released.
cl_cleanup -c "$CFG" --lock-wait 0 --consumer a "$URL" "$(seg 4 13)"
expect_eq "a cleanup right after another (lock released): exit status ($CL_ERR)" 0 "$CL_STATUS"

step "walferry-status shows the consumers of an s3:// archive"
STATUS=$(walferry_bin walferry-status)
state() { ceph_s3_list "$PREFIX/.walferry-cleanup/" | LC_ALL=C sort; }
before=$(state)
run "$STATUS" -c "$CFG"
check "status lists consumer a at its cutoff" grep -qE "^  [^ ]+ +a +$(seg 4 13) +[0-9]+[smhd] ago +ok\$" "$OUT"
run "$STATUS" -c "$CFG" --json
check "--json is JSON" python3 -m json.tool "$OUT"
check "--json: consumer a at its cutoff" grep -qF "\"consumers\":[{\"name\":\"a\",\"cutoff\":\"$(seg 4 13)\"," "$OUT"
run "$STATUS" -c "$CFG" --prometheus
check "promtool accepts the consumer metrics" promtool check metrics <"$OUT"
check "walferry_cleanup_consumers is 1" grep -qE '^walferry_cleanup_consumers\{destination="[^"]+"\} 1$' "$OUT"
expect_eq "walferry-status wrote no object (no lock taken)" "$before" "$(state)"
# a's record as if written ten days ago: stale, WARNING
printf 'cutoff = "%s"\nupdated = %s\n' "$(seg 4 13)" $(($(date +%s) - 10 * 86400)) >"$E2E_WORK/old-record"
code=$(ceph_s3 PUT "/$CEPH_BUCKET/$PREFIX/.walferry-cleanup/consumers/a" "$E2E_WORK/old-record")
expect_eq "a's record set back ten days" 200 "$code"
run "$STATUS" -c "$CFG"
check "a stale consumer on RGW is named" grep -qF 'cleanup consumer "a" is stale: last updated 864' "$OUT"
check "and marked in the table" grep -qE "^  [^ ]+ +a +$(seg 4 13) +10d ago +STALE\$" "$OUT"
assert_done
