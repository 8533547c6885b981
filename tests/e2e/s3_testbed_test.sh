#!/usr/bin/env bash
# The S3 test bed itself (tests/e2e/ceph_lib.sh), with no walferry code in the way:
# - one ceph-mon, one ceph-osd and one radosgw come up, listening on 127.0.0.1 only;
# - HTTPS with the generated CA: verified for 127.0.0.1 and localhost, refused without the CA;
# - a PUT with If-None-Match: * gives 200, the same PUT with other bytes 412 PreconditionFailed,
#   and the object keeps the first bytes (what walferry's never-overwrite rule rests on);
# - radosgw stops alone (connections refused, mon and osd still up) and starts again;
# - afterwards no daemon of the cluster is left.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/ceph_lib.sh
source "$(dirname "$0")/ceph_lib.sh"

e2e_setup walferry-push
ceph_setup
ceph_start
check "every daemon listens on 127.0.0.1 only" ceph_check_listening

first=$E2E_WORK/first second=$E2E_WORK/second got=$E2E_WORK/got
echo "first writer" >"$first"
echo "second writer" >"$second"
key=probe/00000001000000000000000A.zst
expect_eq "first PUT with If-None-Match: *" 200 \
  "$(ceph_s3 PUT "/$CEPH_BUCKET/$key" "$first" -H 'If-None-Match: *')"
expect_eq "second PUT with If-None-Match: *" 412 \
  "$(ceph_s3 PUT "/$CEPH_BUCKET/$key" "$second" -H 'If-None-Match: *')"
check "the 412 names PreconditionFailed" grep -q '<Code>PreconditionFailed</Code>' "$CEPH_S3_BODY"
ceph_s3_get "$key" "$got"
expect_same_bytes "$first" "$got" "the object after the refused PUT"
expect_eq "ListObjectsV2 of probe/" "$key" "$(ceph_s3_list probe/)"
expect_eq "an unsigned request is refused" 403 \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 --cacert "$CEPH_CA" \
    "$CEPH_ENDPOINT/$CEPH_BUCKET/$key")"

run curl -s -o /dev/null --max-time 30 "$CEPH_ENDPOINT/"
expect_rc 60 "HTTPS without the test CA (certificate not trusted)"
run curl -s -o /dev/null --max-time 30 --cacert "$CEPH_CA" "https://localhost:$CEPH_RGW_PORT/"
expect_rc 0 "HTTPS to localhost with the test CA"

ceph_rgw_stop
run curl -s -o /dev/null --max-time 30 --cacert "$CEPH_CA" "$CEPH_ENDPOINT/"
expect_rc 7 "radosgw stopped: connection refused"
check "the monitor still runs" ceph_alive "${CEPH_PID[mon]}"
check "the OSD still runs" ceph_alive "${CEPH_PID[osd]}"
ceph_rgw_start
expect_eq "PUT after radosgw came back" 200 \
  "$(ceph_s3 PUT "/$CEPH_BUCKET/probe/again" "$second" -H 'If-None-Match: *')"
ceph_s3_get "$key" "$got"
expect_same_bytes "$first" "$got" "the object after radosgw's restart"

pids=("${CEPH_PID[rgw]}" "${CEPH_PID[osd]}" "${CEPH_PID[mon]}")
ceph_stop
for pid in "${pids[@]}"; do
  check_not "daemon $pid is gone" ceph_alive "$pid"
done
check_not "no ceph process of this cluster is left" \
  pgrep -f -- "^(ceph-mon|ceph-osd|radosgw) .*-c $CEPH_CONF"
assert_done
