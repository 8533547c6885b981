#!/usr/bin/env bash
# The s3:// backend's own behaviour against a real Ceph RGW over TLS (tests/e2e/ceph_lib.sh):
# - the first push probes If-None-Match: * once: the marker .walferry-s3-create-only is there
#   and no probe key is left; the object carries x-amz-meta-walferry-* (the raw SHA-256, name,
#   system identifier);
# - a secret_access_key_file that others may read is refused (exit 7, one line), nothing sent;
# - walferry-cleanup on an archive of more than 1000 objects: ListObjectsV2 pages and
#   DeleteObjects batches remove exactly the files before the cutoff;
# - the cleanup lock: a generation held by another cleanup makes walferry-cleanup give up after
#   --lock-wait (exit 1, naming the holder); once that holder writes "free", cleanup takes the
#   lock, removes the older generations and leaves its own two (held, then free).
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/ceph_lib.sh
source "$(dirname "$0")/ceph_lib.sh"

e2e_setup walferry-push walferry-cleanup walferry-test-make-segment
ceph_setup
ceph_start
PUSH=$(walferry_bin walferry-push) CLEANUP=$(walferry_bin walferry-cleanup)
MKSEG=$(walferry_bin walferry-test-make-segment)
LOCKS=big/.walferry-cleanup/s3-lock.

cfg=$E2E_WORK/s3.toml
e2e_mkdir "$E2E_WORK/spool"
{
  printf 'spool = "%s"\n' "$E2E_WORK/spool"
  ceph_destination s3 big
} | e2e_as_user tee "$cfg" >/dev/null

step "the first push probes If-None-Match once and stores walferry's metadata headers"
seg=$(e2e_as_user "$MKSEG" --segno 2 --seed 7 --out "$E2E_WORK") || fail "make segment failed"
run "$PUSH" -c "$cfg" "$seg"
expect_rc 0 "first push to s3://$CEPH_BUCKET/big"
keys=$(ceph_s3_list big/ | paste -sd ' ')
expect_eq "objects after the first push" \
  "big/.walferry-s3-create-only big/000000010000000000000002.zst big/walferry.info" "$keys"
expect_eq "HEAD of the object" 200 "$(ceph_s3 HEAD /"$CEPH_BUCKET"/big/000000010000000000000002.zst "" -I)"
sha=$(sha256sum <"$seg") sha=${sha%% *}
check "x-amz-meta-walferry-sha256 is the segment's SHA-256" \
  grep -qi "^x-amz-meta-walferry-sha256: $sha" "$CEPH_S3_BODY"
check "x-amz-meta-walferry-name is the segment's name" \
  grep -qi '^x-amz-meta-walferry-name: 000000010000000000000002' "$CEPH_S3_BODY"

step "a secret file others may read is refused"
e2e_as_user chmod 644 "$CEPH_SECRET_FILE"
seg3=$(e2e_as_user "$MKSEG" --segno 3 --seed 7 --out "$E2E_WORK") || fail "make segment failed"
run "$PUSH" -c "$cfg" "$seg3"
expect_rc 7 "push with a mode 644 secret file"
expect_stderr_lines 1 "push with a mode 644 secret file"
expect_stderr_has "may be accessed by group or others (mode 0644)" "push with a mode 644 secret file"
e2e_as_user chmod 600 "$CEPH_SECRET_FILE"

step "1010 more objects in one curl process (keep-alive)"
body=$E2E_WORK/tiny
printf 'x' >"$body"
tiny_sha=$(sha256sum <"$body") tiny_sha=${tiny_sha%% *}
args=()
for ((i = 3; i < 1013; i++)); do
  printf -v name '00000001%08X%08X.zst' $((i >> 8)) $((i & 255))
  args+=(-T "$body" "$CEPH_ENDPOINT/$CEPH_BUCKET/big/$name")
done
curl -s -o /dev/null --fail --max-time 300 --cacert "$CEPH_CA" --aws-sigv4 "aws:amz:$CEPH_REGION:s3" \
  --user "$CEPH_ACCESS_KEY:$CEPH_SECRET_KEY" -H "x-amz-content-sha256: $tiny_sha" "${args[@]}" ||
  fail "uploading 1010 objects failed"
expect_eq "WAL objects listed" 1011 "$(ceph_s3_list big/ | grep -cE '^big/[0-9A-F]{24}\.zst$')"

step "cleanup over more than one listing page and one DeleteObjects request"
# Cutoff 00000001000000030000002A = segment 3*256+42 = 810: segments 2..809 go (808 of them).
run "$CLEANUP" -c "$cfg" --consumer sb1 s3 00000001000000030000002A
expect_rc 0 "walferry-cleanup --consumer sb1"
expect_stderr_empty "walferry-cleanup --consumer sb1"
left=$(ceph_s3_list big/ | grep -E '^big/[0-9A-F]{24}\.zst$')
expect_eq "segments left" 203 "$(wc -l <<<"$left")"
expect_eq "oldest segment left" big/00000001000000030000002A.zst "$(head -1 <<<"$left")"
expect_eq "newest segment left" big/0000000100000003000000F4.zst "$(tail -1 <<<"$left")"
check "sb1's record is an object" grep -q . <(ceph_s3_list big/.walferry-cleanup/consumers/sb1)
expect_eq "lock generations after one cleanup (held, then free)" \
  "${LOCKS}00000000000000000001 ${LOCKS}00000000000000000002" \
  "$(ceph_s3_list "$LOCKS" | paste -sd ' ')"

step "a lock held by another cleanup is waited for, then given up"
held=$E2E_WORK/held
printf 'state=held\nhost=otherhost\npid=4711\ntime=%s\n' "$(date +%s)" >"$held"
expect_eq "create-only PUT of generation 3" 200 \
  "$(ceph_s3 PUT "/$CEPH_BUCKET/${LOCKS}00000000000000000003" "$held" -H 'If-None-Match: *')"
expect_eq "generation 3 again: 412" 412 \
  "$(ceph_s3 PUT "/$CEPH_BUCKET/${LOCKS}00000000000000000003" "$held" -H 'If-None-Match: *')"
run "$CLEANUP" -c "$cfg" --lock-wait 1 --consumer sb1 s3 00000001000000030000002B
expect_rc 1 "walferry-cleanup while another holds the lock"
expect_stderr_lines 1 "walferry-cleanup while another holds the lock"
expect_stderr_has "is held by host otherhost, pid 4711" "walferry-cleanup while the lock is held"
check "nothing removed while the lock was held" \
  grep -q . <(ceph_s3_list big/00000001000000030000002A.zst)

step "the holder frees it: the next cleanup takes it"
printf 'state=free\nhost=otherhost\npid=4711\n' >"$held"
expect_eq "create-only PUT of generation 4 (free)" 200 \
  "$(ceph_s3 PUT "/$CEPH_BUCKET/${LOCKS}00000000000000000004" "$held" -H 'If-None-Match: *')"
run "$CLEANUP" -c "$cfg" --lock-wait 1 --consumer sb1 s3 00000001000000030000002B
expect_rc 0 "walferry-cleanup once the lock is free"
expect_eq "segment 810 removed" "" "$(ceph_s3_list big/00000001000000030000002A.zst)"
expect_eq "lock generations: ours (held, then free), the older ones removed" \
  "${LOCKS}00000000000000000005 ${LOCKS}00000000000000000006" \
  "$(ceph_s3_list "$LOCKS" | paste -sd ' ')"

assert_done
