#!/usr/bin/env bash
# The log-shipping cycle on object storage: a real PostgreSQL primary (1 MiB segments) under
# pgbench pushes to a real Ceph RGW over TLS (tests/e2e/ceph_lib.sh) and to a real sshd host, with
# required = 1; a warm standby replays from RGW alone, with prefetch:
# - all up: the standby replays what the primary wrote;
# - radosgw stopped mid-run: the primary keeps archiving (to the SFTP host; no failed archive
#   call), RGW's backlog in the spool grows; radosgw back, `walferry-push --drain` empties it and
#   RGW then holds every segment; the standby catches up;
# - the data compares equal; the standby is promoted and puts 00000002.history on RGW;
# - every object stored on RGW (downloaded with curl) decompresses with plain `zstd -d` to the
#   original bytes: the primary's pg_wal files (wal_keep_size keeps them), the promoted
#   server's 00000002.history.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
# shellcheck source=tests/e2e/ceph_lib.sh
source "$(dirname "$0")/ceph_lib.sh"

E2E_WAL_SEGMENT_SIZE=$((1024 * 1024))
e2e_setup walferry-push walferry-fetch
sshd_setup
sshd_start sb1 127.0.0.2
ceph_setup
ceph_start
PUSH=$(walferry_bin walferry-push)
A1=$E2E_WORK/sb1/archive
SPOOL=$E2E_WORK/spool
SSPOOL=$E2E_WORK/standby-spool
CFG=$E2E_WORK/walferry.toml
SCFG=$E2E_WORK/standby.toml
PREFIX=cycle
e2e_mkdir "$A1" "$SPOOL" "$SSPOOL"
{
  printf 'node = "primary"\nspool = "%s"\nrequired = 1\nbatch = 8\n' "$SPOOL"
  sshd_destination sb1 "$A1"
  ceph_destination s3 "$PREFIX" "retries = 1"
} | e2e_as_user tee "$CFG" >/dev/null
# The standby reads RGW only; once promoted it pushes there too.
{
  printf 'node = "standby"\nspool = "%s"\n' "$SSPOOL"
  printf '[fetch]\nretries = 1\nretry_delay_ms = 100\nprefetch = 8\n'
  ceph_destination s3 "$PREFIX" "retries = 1"
} | e2e_as_user tee "$SCFG" >/dev/null

failed_count() { pg_sql primary "SELECT failed_count FROM pg_stat_archiver"; }
backlog() { find "$SPOOL/backlog" -type f -name '*.zst' -printf '%f\n' 2>/dev/null | LC_ALL=C sort; }
s3_segments() { ceph_s3_list "$PREFIX/" | sed -n "s|^$PREFIX/\([0-9A-F]\{24\}\)\.zst$|\1|p"; }
sftp_segments() {
  find "$A1" -maxdepth 1 -name '[0-9A-F]*.zst' -printf '%f\n' | sed -n 's/^\([0-9A-F]\{24\}\)\.zst$/\1/p' |
    LC_ALL=C sort
}
pgbench_run() { pg_bench primary "$@" >>"$E2E_WORK/pgbench.log" 2>&1 || fail "pgbench $* failed"; }

step "primary pushing to sftp and RGW, standby replaying from RGW"
pg_init_node primary 127.0.0.1 --wal-segsize=1
pg_enable_archiving primary "$PUSH %p -c $CFG"
pg_set primary "max_wal_size = '64MB'" "min_wal_size = '32MB'" "wal_keep_size = '512MB'"
pg_start primary
pgbench_run -i -q -s 2
pg_walferry_standby primary standby "-c $SCFG"
pg_enable_archiving standby "$PUSH %p -c $SCFG"
pg_start standby
pgbench_run -n -c 2 -T 4
pg_switch_and_wait primary standby
check "no archive call failed with every store up" test "$(failed_count)" = 0
check "nothing in the backlog with every store up" test -z "$(backlog)"

step "radosgw down mid-run: archiving goes on to the sftp host, RGW's backlog grows"
ceph_rgw_stop
pgbench_run -n -c 2 -T 4
lsn=$(pg_switch_wal primary)
outage_last=$(pg_walfile_name primary "$lsn")
pg_wait_archived primary "$outage_last" 120
expect_eq "failed archive calls while radosgw was down" 0 "$(failed_count)"
queued=$(backlog | wc -l)
note "$queued files in RGW's backlog"
check "the backlog holds the outage's segments ($queued)" test "$queued" -ge 3
check "the sftp host has $outage_last" test -f "$A1/$outage_last.zst"
check_not "RGW does not have $outage_last yet" ceph_s3_has "$PREFIX/$outage_last.zst"

step "radosgw back: walferry-push --drain completes, nothing missing"
ceph_rgw_start
for round in 1 2 3; do
  run "$PUSH" --drain -c "$CFG"
  expect_rc 0 "walferry-push --drain (round $round)"
  [[ -n "$(backlog)" ]] || break
done
check "the backlog is empty after the drain: $(backlog | paste -sd ' ')" test -z "$(backlog)"
pg_switch_and_wait primary standby
sftp=$(sftp_segments) s3=$(s3_segments)
check "RGW holds every segment the sftp host holds: missing $(comm -23 <(echo "$sftp") <(echo "$s3") | paste -sd ' ')" \
  test -z "$(comm -23 <(echo "$sftp") <(echo "$s3"))"
first=$(sed -n 1p <<<"$s3") last=$(sed -n '$p' <<<"$s3")
expect_eq "RGW's segments are contiguous from $first" \
  "$(for ((i = 16#${first:16:8}; i <= 16#${last:16:8}; i++)); do printf '00000001000000000000%04X\n' "$i"; done)" "$s3"

step "data compares equal; promotion puts 00000002.history on RGW"
expect_eq "pgbench tables, primary vs standby" "$(pg_tables_digest primary)" "$(pg_tables_digest standby)"
pg_promote standby
e2e_wait_for 60 "00000002.history on RGW" ceph_s3_has "$PREFIX/00000002.history.zst"
pass
lsn=$(pg_switch_wal standby)
tl2=$(pg_walfile_name standby "$lsn")
pg_wait_archived standby "$tl2" 60

step "every object on RGW decompresses with plain zstd -d to the original bytes"
objects=0
while read -r key; do
  name=${key#"$PREFIX/"}
  [[ "$name" == *.zst ]] || continue
  name=${name%.zst}
  ceph_s3_get "$key" "$E2E_WORK/object.zst"
  zstd -q -d -c "$E2E_WORK/object.zst" >"$E2E_WORK/object" || fail "zstd -d cannot decompress $key"
  if [[ -f "${E2E_NODE_DATA[primary]}/pg_wal/$name" && "$name" == 00000001* ]]; then
    original=${E2E_NODE_DATA[primary]}/pg_wal/$name
  elif [[ -f "${E2E_NODE_DATA[standby]}/pg_wal/$name" ]]; then
    original=${E2E_NODE_DATA[standby]}/pg_wal/$name
  else
    fail "no original of $key in either pg_wal"
  fi
  cmp -s "$E2E_WORK/object" "$original" || fail "$key does not decompress to $original"
  objects=$((objects + 1))
done < <(ceph_s3_list "$PREFIX/")
note "$objects objects compared"
check "at least the outage and the timeline switch were compared ($objects objects)" test "$objects" -ge 10
assert_done
