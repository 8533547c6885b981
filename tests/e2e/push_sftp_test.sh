#!/usr/bin/env bash
# walferry-push to two real sshd "standby hosts" (127.0.0.2, 127.0.0.3) plus a local directory,
# from a real PostgreSQL primary (1 MiB segments) under pgbench:
# - all up: every destination gets every segment, byte-identical, and each verifies;
# - required = 1: one sshd down for >= 200 segments of WAL: the archiver keeps up (no failure in
#   pg_stat_archiver; under WAL written at half the rate the archiver managed with every host up,
#   never more than two batches of .ready files at once; .ready files drained afterwards), the
#   missed files wait in the spool's backlog, and after the host is back `walferry-push --drain`
#   leaves identical complete sets;
# - required = "all": the same outage fails the pushes, PostgreSQL keeps the WAL (.ready files
#   pile up, failed_count grows); after the restart nothing is missing;
# - kill -9 of a push to an sftp destination: never a partial file under the final name.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

E2E_WAL_SEGMENT_SIZE=$((1024 * 1024))
e2e_setup walferry-push walferry-fetch walferry-test-make-segment
sshd_setup
sshd_start sb1 127.0.0.2
sshd_start sb2 127.0.0.3
PUSH=$(walferry_bin walferry-push)
FETCH=$(walferry_bin walferry-fetch)
A1=$E2E_WORK/sb1/archive
A2=$E2E_WORK/sb2/archive
AL=$E2E_WORK/local/archive
SPOOL=$E2E_WORK/spool
CFG=$E2E_WORK/walferry.toml
e2e_mkdir "$A1" "$A2" "$AL" "$SPOOL"
note "work dir $E2E_WORK, sshd sb1 ${SSHD_PORT[sb1]}, sb2 ${SSHD_PORT[sb2]}"

# write_config REQUIRED: the config every push reads, replaced atomically.
write_config() {
  {
    printf 'node = "primary"\nspool = "%s"\nrequired = %s\nbatch = 8\n' "$SPOOL" "$1"
    sshd_destination sb1 "$A1"
    sshd_destination sb2 "$A2"
    printf '[[destination]]\nname = "local"\nurl = "file://%s"\n' "$AL"
    printf '[[destination]]\nname = "primary"\nurl = "file:///nonexistent/self"\n'
  } >"$CFG.new"
  chmod 644 "$CFG.new"
  mv "$CFG.new" "$CFG"
}

# descendants PID: every process below PID (runuser, then walferry-push), deepest last.
descendants() {
  local child
  for child in $(pgrep -P "$1"); do
    echo "$child"
    descendants "$child"
  done
}

stat_archiver() { pg_sql primary "SELECT archived_count, failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver" | tr '|' ' '; }
ready_count() { find "${E2E_NODE_DATA[primary]}/pg_wal/archive_status" -name '*.ready' | wc -l; }
current_lsn() { pg_sql primary "SELECT pg_current_wal_lsn()"; }
mib_since() { pg_sql primary "SELECT round((pg_current_wal_lsn() - '$1'::pg_lsn) / 1048576)"; }

# load_sampled WHAT PGBENCH_ARGS...: pgbench in the background; meanwhile .ready files are counted
# every 0.2 s. Sets MAX_READY to the most seen at once.
load_sampled() {
  local what=$1 bench r
  shift
  MAX_READY=0
  pg_bench primary "$@" >>"$E2E_WORK/pgbench.log" 2>&1 &
  bench=$!
  while kill -0 "$bench" 2>/dev/null; do
    r=$(ready_count)
    ((r > MAX_READY)) && MAX_READY=$r
    sleep 0.2
  done
  check "pgbench $* failed ($what)" wait "$bench"
}

# switch_and_archive: close the current segment, wait until it is archived.
switch_and_archive() {
  local lsn wal
  lsn=$(pg_switch_wal primary)
  wal=$(pg_walfile_name primary "$lsn")
  pg_wait_archived primary "$wal" 150
  LAST_WAL=$wal
}

segments_in() { find "$1" -maxdepth 1 -name '0000000100000000000?????.zst' -printf '%f\n' | LC_ALL=C sort; }

# check_complete UPTO: every segment from $FIRST (the first one archived) to UPTO in all three archives,
# byte-identical stored files, each one verifying (zstd -d, 1 MiB, no temp file left).
check_complete() {
  local upto=$1 n want have
  n=$((16#${upto:16:8}))
  want=$(for ((i = 16#${FIRST:16:8}; i <= n; i++)); do printf '00000001000000000000%04X.zst\n' "$i"; done)
  for a in "$AL" "$A1" "$A2"; do
    have=$(segments_in "$a" | awk -v u="$upto.zst" '$0 <= u')
    [[ "$have" == "$want" ]] ||
      fail "$a lacks segments: $(comm -23 <(echo "$want") <(echo "$have") | head -5 | paste -sd ' ')"
    pass
    e2e_archive_verify "$a" >/dev/null
  done
  for f in $want; do
    if ! cmp -s "$AL/$f" "$A1/$f" || ! cmp -s "$AL/$f" "$A2/$f"; then fail "$f differs between archives"; fi
  done
}

write_config 1
pg_init_node primary 127.0.0.1 --wal-segsize=1
pg_enable_archiving primary "$PUSH %p -c $CFG"
pg_set primary "max_wal_size = '256MB'" "min_wal_size = '32MB'"
pg_start primary

note "all destinations up: pgbench"
pg_bench primary -i -q -s 2 >"$E2E_WORK/pgbench.log" 2>&1 || fail "pgbench -i failed"
pass
pg_bench primary -n -c 2 -T 5 >>"$E2E_WORK/pgbench.log" 2>&1 || fail "pgbench failed"
pass
# How fast the archiver goes here with every host up: a burst of WAL (pgbench -i -s 20), timed
# until its last segment is archived. The outage below then writes WAL at half that rate, which an
# archiver that keeps up absorbs with no more than a batch of .ready files waiting.
start=$(current_lsn)
t0=$(date +%s%N)
load_sampled "all up" -i -q -s 20
switch_and_archive
burst=$(mib_since "$start")
rate=$(awk -v n="$burst" -v ns=$(($(date +%s%N) - t0)) 'BEGIN { r = n / (ns / 1e9) / 2; printf "%.1f", r < 1 ? 1 : r }')
note "burst of $burst segments with every host up: most .ready at once $MAX_READY; outage load at $rate segments/s"
switch_and_archive
FIRST=$(segments_in "$AL" | sed -n 1p)  # sed reads it all: no SIGPIPE under pipefail
FIRST=${FIRST%.zst}
read -r archived failed _ < <(stat_archiver)
expect_eq "failed_count with every destination up" 0 "$failed"
check_complete "$LAST_WAL"
[[ -z $(find "$SPOOL/backlog" -type f 2>/dev/null) ]] || fail "backlog used while all were up"
pass
note "$archived files archived to sb1, sb2 and local, identical"

note "required = 1: sb2 down for >= 200 segments"
sshd_stop sb2
read -r _ failed0 _ < <(stat_archiver)
start=$(current_lsn)
# One transaction writes a little over one 1 MiB segment of WAL.
pg_sql primary "CREATE TABLE walgen (id int, pad text)" >/dev/null
printf "INSERT INTO walgen SELECT g, repeat('x', 1000) FROM generate_series(1, 1000) g;\n" >"$E2E_WORK/walgen.sql"
chmod 644 "$E2E_WORK/walgen.sql"
load_sampled "sb2 down" -n -c 1 -f "$E2E_WORK/walgen.sql" -R "$rate" -t 210
mib=$(mib_since "$start")
((mib >= 200)) || fail "only $mib segments written during the outage"
pass
switch_and_archive
read -r _ failed1 _ < <(stat_archiver)
expect_eq "failed_count during the sb2 outage with required = 1" "$failed0" "$failed1"
((MAX_READY <= 2 * 8)) ||
  fail "the archiver fell behind with sb2 down: $MAX_READY .ready at once under $rate segments/s (batch 8)"
pass
ready=$(ready_count)
((ready <= 9)) || fail "$ready .ready files left with required = 1"
pass
queued=$(find "$SPOOL/backlog" -type f -name '*.zst' | wc -l)
((queued >= 200)) || fail "only $queued files in sb2's backlog"
pass
note "$mib segments during the outage, most .ready at once $MAX_READY, $queued queued for sb2"
[[ $(segments_in "$A2" | wc -l) -lt $(segments_in "$A1" | wc -l) ]] || fail "sb2 got files while down"
pass

sshd_restart sb2
backlog() { find "$SPOOL/backlog" -type f -name '*.zst' -printf '%f\n' | LC_ALL=C sort; }
before=$(backlog)
t0=$SECONDS
check "walferry-push --drain failed" e2e_as_user "$PUSH" --drain -c "$CFG"
note "drain took $((SECONDS - t0))s"
left=$(backlog)
still=$(LC_ALL=C comm -12 <(printf '%s\n' "$before") <(printf '%s\n' "$left"))
check "backlog entries queued before the drain are still there: $(wc -l <<<"$still")" test -z "$still"
if [[ -n $left ]]; then
  # The archiver keeps working (autovacuum writes WAL after the load): a push that began before
  # the drain cleared sb2's failure note still skipped sb2 and queued its file. The next drain
  # sends it.
  note "queued while the drain ran: $(paste -sd ' ' <<<"$left")"
  check "the second walferry-push --drain failed" e2e_as_user "$PUSH" --drain -c "$CFG"
  check "backlog not empty after a second drain: $(backlog | paste -sd ' ')" test -z "$(backlog)"
fi
check_complete "$LAST_WAL"

note "required = all: sb2 down, PostgreSQL keeps the WAL"
write_config '"all"'
sshd_stop sb2
read -r _ failed0 last0 < <(stat_archiver)
for _ in {1..6}; do
  pg_sql primary "INSERT INTO pgbench_history SELECT 1, 1, 1, 1, now() FROM generate_series(1, 1000)" >/dev/null
  pg_switch_wal primary >/dev/null
done
e2e_wait_for 60 "failed_count to grow" \
  pg_sql_is_true primary "SELECT failed_count > $failed0 FROM pg_stat_archiver"
sleep 3
read -r _ failed1 last1 < <(stat_archiver)
expect_eq "last archived WAL while sb2 is down with required = all" "$last0" "$last1"
ready=$(ready_count)
((ready >= 5)) || fail "only $ready .ready files with sb2 down and required = all"
pass
note "failed_count $failed0 -> $failed1, $ready .ready files kept"
sshd_restart sb2
switch_and_archive
check_complete "$LAST_WAL"

note "kill -9 during pushes to sftp: no partial file under the final name"
e2e_mkdir "$E2E_WORK/src" "$E2E_WORK/sb1/kill"
{
  printf 'spool = "%s/spool-kill"\n' "$E2E_WORK"
  sshd_destination sb1 "$E2E_WORK/sb1/kill"
} >"$E2E_WORK/kill.toml"
for i in 1 2 3 4 5 6; do
  seg=$(e2e_as_user "$(walferry_bin walferry-test-make-segment)" --out "$E2E_WORK/src" \
    --segno "$i" --seed "$i") || fail "make-segment failed"
  e2e_as_user "$PUSH" -c "$E2E_WORK/kill.toml" -l 19 "$seg" 2>/dev/null &
  sleep "0.$((2 + i * 2))"
  pid=$!
  # shellcheck disable=SC2046 # one pid per word
  kill -KILL $(descendants "$pid") "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  f=$E2E_WORK/sb1/kill/${seg##*/}.zst
  [[ ! -e $f ]] || cmp -s <(zstd -q -d -c "$f") "$seg" || fail "partial ${seg##*/} after kill -9"
  pass
done
for seg in "$E2E_WORK"/src/*; do
  check "push of ${seg##*/} after kill -9 failed" e2e_as_user "$PUSH" -c "$E2E_WORK/kill.toml" "$seg"
  check "bad ${seg##*/} after kill -9" cmp -s <(zstd -q -d -c "$E2E_WORK/sb1/kill/${seg##*/}.zst") "$seg"
done
left=$(find "$E2E_WORK/sb1/kill" -name '.walferry-tmp.*' -printf '%f ')
check "temp files left after the pushes that followed kill -9: $left" test -z "$left"


note "fetch back from each destination"
for name in "$FIRST" 000000010000000000000080 "${LAST_WAL}"; do
  for src in "$AL" "$(sshd_url sb1 "$A1")" "$(sshd_url sb2 "$A2")"; do
    rm -f "$E2E_WORK/fetched"
    if [[ $src == sftp://* ]]; then
      printf '[[destination]]\nname = "s"\nurl = "%s"\nidentity = "%s"\nknown_hosts = "%s"\n' \
        "$src" "$SSHD_USER_KEY" "$SSHD_KNOWN_HOSTS" >"$E2E_WORK/fetch.toml"
      e2e_as_user "$FETCH" -c "$E2E_WORK/fetch.toml" --mode standby "$name" "$E2E_WORK/fetched" ||
        fail "fetch $name from $src failed"
      pass
    else
      check "fetch $name from $src" e2e_as_user "$FETCH" --mode standby "$name" "$E2E_WORK/fetched" "$src"
    fi
    check "fetched $name from $src differs" cmp -s "$E2E_WORK/fetched" <(zstd -q -d -c "$AL/$name.zst")
  done
done
assert_done
