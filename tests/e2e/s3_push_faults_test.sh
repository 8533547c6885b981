#!/usr/bin/env bash
# s3:// against a real Ceph RGW over TLS (tests/e2e/ceph_lib.sh), one cluster for every case:
# - 8 concurrent walferry-push of different content under one segment name: exactly one exits 0,
#   the other 7 exit 5 naming both checksums, and the stored object is the winner's bytes (plain
#   `zstd -d` of the object downloaded with curl);
# - a repeated push of the identical file exits 0 and changes nothing;
# - wrong secret, unknown bucket, wrong CA, endpoint down: push fails with one line naming the
#   endpoint and the cause, and its exit code (7 config, 8 I/O (no such bucket), 9 unreachable);
#   walferry-fetch says the same cause in one line, then its verdict over all sources in another,
#   and exits 255 for each in targeted recovery and 1 in standby mode, while a name the
#   archive does not hold is 1 in both (not found is only "the archive answered").
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/ceph_lib.sh
source "$(dirname "$0")/ceph_lib.sh"

e2e_setup walferry-push walferry-fetch walferry-test-make-segment
ceph_setup
ceph_start
PUSH=$(walferry_bin walferry-push) FETCH=$(walferry_bin walferry-fetch)
MKSEG=$(walferry_bin walferry-test-make-segment)
SEG=000000010000000000000005

# config NAME PREFIX [TOML_LINE...]: $E2E_WORK/NAME.toml, an s3 destination (then the extra lines)
# and a spool of its own; prints the path.
config() {
  local name=$1 prefix=$2 cfg=$E2E_WORK/$1.toml
  shift 2
  e2e_mkdir "$E2E_WORK/spool-$name"
  {
    printf 'spool = "%s"\n' "$E2E_WORK/spool-$name"
    printf '[fetch]\nretries = 1\nretry_delay_ms = 10\nprefetch = 0\n'
    ceph_destination s3 "$prefix" "retries = 1" "$@"
  } | e2e_as_user tee "$cfg" >/dev/null
  printf '%s' "$cfg"
}

# segment DIR SEED: a segment $SEG with content SEED in DIR (made); prints its path.
segment() {
  e2e_mkdir "$1"
  e2e_as_user "$MKSEG" --segno 5 --seed "$2" --out "$1" >/dev/null || fail "make segment failed"
  printf '%s/%s' "$1" "$SEG"
}

step "a first push creates the archive"
good=$(config good race)
first=$(e2e_as_user "$MKSEG" --segno 4 --seed 99 --out "$E2E_WORK") || fail "make segment failed"
run "$PUSH" -c "$good" "$first"
expect_rc 0 "first push to s3://$CEPH_BUCKET/race"
expect_stderr_empty "first push"

step "8 concurrent pushes of different content under one name"
declare -a pids=() files=()
for i in {1..8}; do
  files[i]=$(segment "$E2E_WORK/racer$i" "$i")
done
for i in {1..8}; do
  e2e_as_user "$PUSH" -c "$good" "${files[i]}" >"$E2E_WORK/racer$i.out" 2>"$E2E_WORK/racer$i.err" &
  pids[i]=$!
done
winners=() losers=0
for i in {1..8}; do
  rc=0
  wait "${pids[i]}" || rc=$?
  if ((rc == 0)); then
    winners+=("$i")
  elif ((rc == 5)); then
    losers=$((losers + 1))
    grep -Eq '[0-9a-f]{64}.*[0-9a-f]{64}' "$E2E_WORK/racer$i.err" ||
      fail "racer $i: exit 5 without both checksums: $(cat "$E2E_WORK/racer$i.err")"
    pass
    expect_eq "racer $i: lines on stderr" 1 "$(wc -l <"$E2E_WORK/racer$i.err")"
  else
    fail "racer $i: exit status $rc, expected 0 or 5: $(cat "$E2E_WORK/racer$i.err")"
  fi
done
expect_eq "racers that stored their file" 1 "${#winners[@]}"
expect_eq "racers refused with exit 5" 7 "$losers"
winner=${winners[0]}
ceph_s3_get "race/$SEG.zst" "$E2E_WORK/stored.zst"
check "the stored object decompresses with plain zstd -d to the winner's bytes" \
  cmp -s <(zstd -q -d -c "$E2E_WORK/stored.zst") "${files[winner]}"
expect_eq "objects under race/ besides walferry's" "race/000000010000000000000004.zst race/$SEG.zst" \
  "$(ceph_s3_list race/ | grep -E '^race/[0-9A-F]{24}\.zst$' | paste -sd ' ')"

step "the identical file again: exit 0, object unchanged"
etag_before=$(curl -s -I --max-time 30 --cacert "$CEPH_CA" --aws-sigv4 "aws:amz:$CEPH_REGION:s3" \
  --user "$CEPH_ACCESS_KEY:$CEPH_SECRET_KEY" -H "x-amz-content-sha256: $CEPH_EMPTY_SHA256" \
  "$CEPH_ENDPOINT/$CEPH_BUCKET/race/$SEG.zst" | grep -i '^etag:')
run "$PUSH" -c "$good" "${files[winner]}"
expect_rc 0 "push of the winner's file again"
loser=$((winner % 8 + 1))
run "$PUSH" -c "$good" "${files[loser]}"
expect_rc 5 "push of a loser's file again"
expect_refused '[0-9a-f]{64}.*[0-9a-f]{64}' "push of a loser's file again"
etag_after=$(curl -s -I --max-time 30 --cacert "$CEPH_CA" --aws-sigv4 "aws:amz:$CEPH_REGION:s3" \
  --user "$CEPH_ACCESS_KEY:$CEPH_SECRET_KEY" -H "x-amz-content-sha256: $CEPH_EMPTY_SHA256" \
  "$CEPH_ENDPOINT/$CEPH_BUCKET/race/$SEG.zst" | grep -i '^etag:')
expect_eq "ETag of the object after both" "$etag_before" "$etag_after"

step "fetch from the good archive: found, and not found"
target=$E2E_WORK/restored
run "$FETCH" -c "$good" --mode recovery "$SEG" "$target"
expect_rc 0 "fetch of $SEG"
expect_same_bytes "${files[winner]}" "$target" "fetched segment"
for mode in recovery standby; do
  run "$FETCH" -c "$good" --mode "$mode" 000000010000000000000042 "$E2E_WORK/absent"
  expect_rc 1 "fetch of a segment not archived ($mode)"
  expect_stderr_empty "fetch of a segment not archived ($mode)"
done

step "broken configurations: one line, the documented exit code, never 'not found'"
wrong_secret=$E2E_WORK/wrong.secret
printf 'not-the-secret-key-at-all-0123456789abcd\n' | e2e_as_user tee "$wrong_secret" >/dev/null
e2e_as_user chmod 600 "$wrong_secret"
ceph_make_ca "$E2E_WORK/other-ca"
down_port=""
e2e_free_port down_port
declare -A cfg_of=(
  [wrong_secret]=$(config wrong_secret race)
  [unknown_bucket]=$(config unknown_bucket race)
  [wrong_ca]=$(config wrong_ca race)
  [endpoint_down]=$(config endpoint_down race)
)
e2e_as_user sed -i "s|^secret_access_key_file = .*|secret_access_key_file = \"$wrong_secret\"|" \
  "${cfg_of[wrong_secret]}"
e2e_as_user sed -i "s|^url = .*|url = \"s3://no-such-bucket-$RANDOM/race\"|" "${cfg_of[unknown_bucket]}"
e2e_as_user sed -i "s|^ca_file = .*|ca_file = \"$E2E_WORK/other-ca.pem\"|" "${cfg_of[wrong_ca]}"
e2e_as_user sed -i "s|^endpoint = .*|endpoint = \"https://127.0.0.1:$down_port\"|" \
  "${cfg_of[endpoint_down]}"
declare -A rc_of=([wrong_secret]=7 [unknown_bucket]=8 [wrong_ca]=9 [endpoint_down]=9)
declare -A says=(
  [wrong_secret]='HTTP 403|SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId'
  [unknown_bucket]='(does not exist|NoSuchBucket).*no-such-bucket-[0-9]+|no-such-bucket-[0-9]+.*(does not exist|NoSuchBucket)'
  [wrong_ca]='certificate|SSL|TLS'
  [endpoint_down]="127\.0\.0\.1:$down_port.*(onnect|refused)"
)
other=$(segment "$E2E_WORK/other" 1234)
for case in wrong_secret unknown_bucket wrong_ca endpoint_down; do
  run "$PUSH" -c "${cfg_of[$case]}" "$other"
  expect_rc "${rc_of[$case]}" "push, $case"
  expect_refused "${says[$case]}" "push, $case"
  for mode in recovery standby; do
    run "$FETCH" -c "${cfg_of[$case]}" --mode "$mode" "$SEG" "$E2E_WORK/never"
    if [[ $mode == recovery ]]; then expect_rc 255 "fetch, $case, $mode"; else expect_rc 1 "fetch, $case, $mode"; fi
    # One line for the source (the cause), then fetch's one-line verdict over all sources.
    expect_eq "fetch, $case, $mode: the source's line" 1 "$(grep -cE "${says[$case]}" "$ERR")"
    expect_stderr_lines 2 "fetch, $case, $mode"
    [[ $mode == standby ]] || expect_stderr_has "stopping recovery" "fetch, $case, $mode"
    expect_absent "$E2E_WORK/never" "fetch, $case, $mode"
  done
done
ceph_s3_get "race/$SEG.zst" "$E2E_WORK/stored-after.zst"
expect_same_bytes "$E2E_WORK/stored.zst" "$E2E_WORK/stored-after.zst" "the object after the failures"
assert_done
