#!/usr/bin/env bash
# walferry-fetch's prefetch from an sftp:// source on a real sshd (127.0.0.2), 16 MiB segments,
# [fetch] prefetch = 4:
# - serving S starts a detached worker that fills the spool with S+1..S+4, and the call returns
#   while the worker still runs, even with its stdout read by $(...) as PostgreSQL's system() does;
# - with the sshd stopped, S+1.. are served from the spool, byte for byte;
# - a damaged spool entry is refused: fetched again from the source when it answers, else a clean
#   exit 1 with nothing at %p;
# - pg_rewind's way: a relative %p from another working directory, from the spool and the source;
# - .history files never go through the spool (a changed archived history is served as changed);
# - a request on another timeline drops the spool;
# - two concurrent calls start one worker (one SSH session more, not two);
# - a worker killed with -9 leaves no lock and no partial file under a final name; the next one
#   clears its temp files and fills the window;
# - a damaged archived copy the worker meets (its stderr is /dev/null) is noted in the spool and
#   printed as a warning by the next call, once;
# - an unusable spool only disables prefetch (said with -v);
# - a symbolic link planted at <spool>/prefetch/<key> (to pg_wal) is refused with a warning, never
#   followed: the call is served from the source and nothing in pg_wal is removed;
# - without a pg_control in the data directory (the recovering server's cluster unknown) there
#   is no prefetch: the spool could not tell one cluster's entries from another's.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

E2E_WAL_SEGMENT_SIZE=$((16 * 1024 * 1024))
e2e_setup walferry-push walferry-fetch walferry-test-make-segment
sshd_setup
sshd_start sb1 127.0.0.2
PUSH=$(walferry_bin walferry-push)
FETCH=$(walferry_bin walferry-fetch)
MKSEG=$(walferry_bin walferry-test-make-segment)
A1=$E2E_WORK/sb1/archive
SRC=$E2E_WORK/src
SPOOL=$E2E_WORK/spool
PGDATA=$E2E_WORK/pgdata
CFG=$E2E_WORK/walferry.toml
e2e_mkdir "$A1" "$SRC" "$SPOOL" "$PGDATA/pg_wal" "$E2E_WORK/elsewhere"
note "work dir $E2E_WORK, sshd sb1 ${SSHD_PORT[sb1]}"
# The data directory's pg_control names the cluster the segments are of (make-segment's default).
e2e_as_user "$MKSEG" --pg-control --out "$PGDATA" >/dev/null

{
  printf 'spool = "%s"\n' "$SPOOL"
  sshd_destination sb1 "$A1"
  printf '[fetch]\nretries = 0\nretry_delay_ms = 10\nprefetch = 4\n'
} >"$CFG"
chmod 644 "$CFG"

seg() { printf '%08X00000000%08X' "$1" "$2"; }  # seg TLI SEGNO (16 MiB segments, log 0)

# Timeline 1 segments 1..16, timeline 2 segment 13, and 00000002.history, archived on sb1.
for i in $(seq 1 16); do e2e_as_user "$MKSEG" --segno "$i" --seed "$i" --out "$SRC" >/dev/null; done
e2e_as_user "$MKSEG" --tli 2 --segno 13 --seed 99 --out "$SRC" >/dev/null
printf '1\t0/D000000\tno recovery target specified\n' | e2e_as_user tee "$SRC/00000002.history" >/dev/null
for f in "$SRC"/*; do e2e_as_user "$PUSH" "$f" "$A1" || fail "push $f"; pass; done

# fetch_in DIR [ARG...]: walferry-fetch -c $CFG as the test user from DIR (run_in).
fetch_in() {
  local dir=$1
  shift
  run_in "$dir" "$FETCH" -c "$CFG" "$@"
}
# fetch NAME [ARG...]: as PostgreSQL in standby mode: from PGDATA, %p = pg_wal/RECOVERYXLOG.
fetch() {
  local name=$1
  shift
  rm -f "$PGDATA/pg_wal/RECOVERYXLOG"
  fetch_in "$PGDATA" --mode standby "$@" "$name" pg_wal/RECOVERYXLOG
}
expect_restored() {  # expect_restored NAME FILE WHAT
  expect_rc 0 "$3"
  check "$3: $2 is not $1" cmp -s "$SRC/$1" "$2"
}

spool_dir() { find "$SPOOL/prefetch" -mindepth 1 -maxdepth 1 -type d | head -n 1; }
# entries: the spooled segments, each with the .ok record that makes it one.
entries() {
  local ok
  for ok in "$(spool_dir)"/*.ok; do
    [[ -f $ok && -f ${ok%.ok} ]] && basename -- "${ok%.ok}"
  done | LC_ALL=C sort | paste -sd ' '
}
temps() { find "$(spool_dir)" -maxdepth 1 -name '*walferry-tmp*' -printf '%f\n'; }
notes() { find "$(spool_dir)" -maxdepth 1 -name 'damaged*' -printf '%f\n' | LC_ALL=C sort | paste -sd ' '; }
lock_free() { flock -n "$(spool_dir)/lock" true; }
worker_running() { ! lock_free; }
entry_list() { for i; do printf '%s\n' "$(seg 1 "$i")"; done | paste -sd ' '; }
# lock_holders: the walferry-fetch processes with the spool's lock open (other tests may run
# walferry-fetch as the same user, so the worker is found by what it holds, not by its name).
lock_holders() {
  local lock pid fd
  lock=$(spool_dir)/lock
  for pid in $(pgrep -x walferry-fetch); do
    for fd in /proc/"$pid"/fd/*; do
      if [[ $(readlink "$fd" 2>/dev/null) == "$lock" ]]; then
        echo "$pid"
        break
      fi
    done
  done | paste -sd ' '
}
sessions() { grep -c 'Accepted publickey' "${SSHD_DIR[sb1]}/sshd.log" || true; }
# corrupt FILE: one bit flipped in the middle of FILE (a stored container or a spooled segment).
corrupt() {
  local size byte
  size=$(stat -c %s "$1")
  byte=$(od -An -tu1 -j $((size / 2)) -N1 -- "$1" | tr -d ' ')
  printf '%b' "$(printf '\\%03o' $((byte ^ 4)))" | dd of="$1" bs=1 seek=$((size / 2)) conv=notrunc status=none
}
restart_sb1() {
  local dir=${SSHD_DIR[sb1]}
  "$SSHD_BIN" -D -e -f "$dir/sshd_config" </dev/null >>"$dir/sshd.log" 2>&1 {E2E_ERR}>&- &
  SSHD_PID[sb1]=$!
  sshd_watchdog sb1
  e2e_wait_for 10 "sshd sb1 to listen again" sshd_listening sb1
}

note "serving S starts a detached worker; the call returns while it runs, even read by \$(...)"
rm -f "$PGDATA/pg_wal/RECOVERYXLOG"
t0=$(date +%s%N)
captured=$(e2e_as_user_in "$PGDATA" "$FETCH" -c "$CFG" --mode standby "$(seg 1 1)" pg_wal/RECOVERYXLOG 2>&1) ||
  fail "fetch $(seg 1 1): $captured"
t1=$(date +%s%N)
check "no prefetch spool directory made" test -n "$(spool_dir)"
check "the call returned only after the worker ended (or none ran): $(entries)" worker_running
check "fetch printed: $captured" test -z "$captured"
check "RECOVERYXLOG is not $(seg 1 1)" cmp -s "$SRC/$(seg 1 1)" "$PGDATA/pg_wal/RECOVERYXLOG"
note "call returned in $(((t1 - t0) / 1000000)) ms, worker still running"
e2e_wait_for 60 "the worker to finish" lock_free
expect_eq "spool after serving 1" "$(entry_list 2 3 4 5)" "$(entries)"
check "temp files left: $(temps)" test -z "$(temps)"
for f in $(entries); do cmp -s "$(spool_dir)/$f" "$SRC/$f" || fail "spooled $f is not the segment"; pass; done

note "sshd stopped: 2 and 3 come from the spool, verified, and leave it"
sshd_stop sb1
for i in 2 3; do
  fetch "$(seg 1 $i)" -v
  expect_restored "$(seg 1 $i)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch $i with sshd down"
  check "fetch $i: not from the spool: $(cat "$ERR")" grep -q 'from the prefetch spool' "$ERR"
done
e2e_wait_for 20 "the (failing) worker to end" lock_free
expect_eq "spool after serving 3" "$(entry_list 4 5)" "$(entries)"

note "a damaged entry with the source down: exit 1, nothing at %p, entry removed"
corrupt "$(spool_dir)/$(seg 1 4)"
fetch "$(seg 1 4)"
expect_rc 1 "fetch of a damaged entry, sshd down"
check "a damaged entry reached %p" test ! -e "$PGDATA/pg_wal/RECOVERYXLOG"
[[ -z $(find "$PGDATA/pg_wal" -name '*walferry-tmp*') ]] || fail "temp file left in pg_wal"
pass
check "no word on the damaged entry: $(cat "$ERR")" grep -q 'damaged' "$ERR"
expect_eq "spool after the damaged 4" "$(entry_list 5)" "$(entries)"

note "a damaged entry with the source up: fetched again from the source"
restart_sb1
corrupt "$(spool_dir)/$(seg 1 5)"
fetch "$(seg 1 5)"
expect_restored "$(seg 1 5)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch of a damaged entry, sshd up"
check "no word on the damaged entry: $(cat "$ERR")" grep -q 'damaged' "$ERR"
e2e_wait_for 60 "the worker after 5" lock_free
expect_eq "spool after serving 5" "$(entry_list 6 7 8 9)" "$(entries)"

note "pg_rewind: relative %p from another working directory, from the spool and from the source"
fetch_in "$E2E_WORK/elsewhere" -v "$(seg 1 6)" "../pgdata/pg_wal/$(seg 1 6)"
expect_restored "$(seg 1 6)" "$PGDATA/pg_wal/$(seg 1 6)" "relative %p, spooled segment"
check "relative %p: not from the spool: $(cat "$ERR")" grep -q 'from the prefetch spool' "$ERR"
fetch_in / -v "$(seg 1 7)" "$PGDATA/pg_wal/$(seg 1 7)"
expect_restored "$(seg 1 7)" "$PGDATA/pg_wal/$(seg 1 7)" "absolute %p from /"
check "absolute %p: not from the spool: $(cat "$ERR")" grep -q 'from the prefetch spool' "$ERR"
e2e_wait_for 60 "the worker after 7" lock_free
expect_eq "spool after serving 7" "$(entry_list 8 9 10 11)" "$(entries)"
fetch_in "$E2E_WORK/elsewhere" "$(seg 1 12)" "../pgdata/pg_wal/$(seg 1 12)"
expect_restored "$(seg 1 12)" "$PGDATA/pg_wal/$(seg 1 12)" "relative %p, from the source"
[[ -z $(find "$E2E_WORK/elsewhere" -mindepth 1) ]] || fail "files left in the working directory"
pass
e2e_wait_for 60 "the worker after 12" lock_free
expect_eq "spool after serving 12" "$(entry_list 13 14 15 16)" "$(entries)"

note ".history is never cached: a changed archived history is served changed"
fetch 00000002.history
expect_restored 00000002.history "$PGDATA/pg_wal/RECOVERYXLOG" "fetch 00000002.history"
[[ -z $(find "$SPOOL" -name '*history*') ]] || fail "a .history file went into the spool"
pass
printf '1\t0/E000000\tchanged\n' | e2e_as_user tee "$E2E_WORK/00000002.history" >/dev/null
rm -f "$A1/00000002.history.zst"
check "push the changed history" e2e_as_user "$PUSH" "$E2E_WORK/00000002.history" "$A1"
fetch 00000002.history
expect_rc 0 "fetch the changed 00000002.history"
check "an old 00000002.history was served" cmp -s "$E2E_WORK/00000002.history" "$PGDATA/pg_wal/RECOVERYXLOG"
expect_eq "spool after the .history calls" "$(entry_list 13 14 15 16)" "$(entries)"

note "a request on another timeline drops the spool"
fetch "$(seg 2 14)"
expect_rc 1 "fetch of a timeline 2 segment not archived"
expect_eq "spool after a timeline 2 request" "" "$(entries)"
fetch "$(seg 2 13)"
expect_restored "$(seg 2 13)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch of timeline 2 segment 13"
e2e_wait_for 60 "the worker after timeline 2" lock_free
expect_eq "spool after timeline 2 (nothing more archived)" "" "$(entries)"

note "two concurrent calls start one worker"
before=$(sessions)
pids=()
for t in a b; do
  e2e_as_user_in "$PGDATA" "$FETCH" -c "$CFG" --mode standby "$(seg 1 1)" "pg_wal/RECOVERY$t" >"$OUT.$t" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent fetch failed: $(cat "$OUT.a" "$OUT.b")"; done
for t in a b; do
  check "concurrent fetch $t did not restore $(seg 1 1)" cmp -s "$SRC/$(seg 1 1)" "$PGDATA/pg_wal/RECOVERY$t"
done
e2e_wait_for 60 "the worker after the concurrent calls" lock_free
expect_eq "spool after the concurrent calls" "$(entry_list 2 3 4 5)" "$(entries)"
expect_eq "SSH sessions of two calls and their worker(s)" 3 $(($(sessions) - before))

note "a worker killed with -9: no lock left, no partial file under a final name"
fetch "$(seg 1 8)"
expect_restored "$(seg 1 8)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch 8"
# The worker is found by its lock at once (it is still connecting), then killed the moment a
# temp file shows it writing an entry.
worker=$(lock_holders)
[[ $(wc -w <<<"$worker") == 1 ]] || fail "not one process holds the spool's lock: '$worker'"
pass
[[ $(cat "/proc/$worker/comm") == walferry-fetch ]] || fail "the lock holder is not walferry-fetch"
pass
for _ in $(seq 1 3000); do
  [[ -n $(temps) ]] && break
  sleep 0.005
done
check "the worker ended before it was killed" kill -9 "$worker"
check "never saw the worker mid-transfer" test -n "$(temps)"
e2e_wait_for 10 "the killed worker's lock to go" lock_free
# Under a segment's name only whole, checked segments (renamed there after fsync), with or
# without their .ok yet.
for f in "$(spool_dir)"/0*; do
  [[ -e $f && $f != *.ok ]] || continue
  check "${f##*/} after kill -9 is not the segment" cmp -s "$f" "$SRC/${f##*/}"
done
note "after kill -9: $(entries), temp $(temps)"
fetch "$(seg 1 9)"
expect_restored "$(seg 1 9)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch 9 after kill -9"
e2e_wait_for 60 "the next worker" lock_free
[[ $(entries) == *"$(seg 1 13)"* ]] || fail "no new worker filled the window: $(entries)"
pass
expect_eq "spool after the next worker" "$(entry_list 10 11 12 13)" "$(entries)"
check "the next worker left temp files: $(temps)" test -z "$(temps)"

note "a damaged archived copy met by the worker: the next call warns, once"
bad=$(seg 1 15)
cp -p "$A1/$bad.zst" "$E2E_WORK/good.zst"
corrupt "$A1/$bad.zst"
for i in 10 11; do  # after 10, 3 of 11..14 are spooled: no worker; after 11, one for 12..15
  fetch "$(seg 1 $i)"
  expect_restored "$(seg 1 $i)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch $i"
  check "fetch $i printed: $(cat "$ERR")" test ! -s "$ERR"
done
e2e_wait_for 60 "the worker that meets the damaged $bad" lock_free
expect_eq "spool after the worker met the damaged $bad" "$(entry_list 12 13 14)" "$(entries)"
expect_eq "notes after the worker met the damaged $bad" "damaged.$bad.zst.0" "$(notes)"
cp -p "$E2E_WORK/good.zst" "$A1/$bad.zst"
fetch "$(seg 1 12)"
expect_restored "$(seg 1 12)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch 12 after the worker met $bad"
warning=$(grep -F "walferry-fetch: warning: prefetch worker: \"$bad.zst\" in $(sshd_url sb1 "$A1") is damaged: " "$ERR" |
  grep -E ' \(WF00[67]\)$') || fail "fetch 12 does not warn of the damaged $bad on sb1: $(cat "$ERR")"
expect_eq "lines fetch 12 printed" 1 "$(wc -l <"$ERR")"
note "fetch 12 said: $warning"
e2e_wait_for 60 "the worker after 12" lock_free
expect_eq "notes after fetch 12" "" "$(notes)"
expect_eq "spool after fetch 12 (the good $bad back on sb1)" "$(entry_list 13 14 15 16)" "$(entries)"
fetch "$(seg 1 13)"
expect_restored "$(seg 1 13)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch 13"
check "fetch 13 printed: $(cat "$ERR")" test ! -s "$ERR"

note "an unusable spool disables prefetch, said only with -v"
e2e_as_user touch "$E2E_WORK/afile"
sed "s|^spool = .*|spool = \"$E2E_WORK/afile/spool\"|" "$CFG" >"$E2E_WORK/bad.toml"
chmod 644 "$E2E_WORK/bad.toml"
rm -f "$PGDATA/pg_wal/RECOVERYXLOG"
run_in "$PGDATA" "$FETCH" -c "$E2E_WORK/bad.toml" --mode standby "$(seg 1 2)" pg_wal/RECOVERYXLOG
expect_restored "$(seg 1 2)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch with an unusable spool"
check "fetch with an unusable spool printed: $(cat "$ERR")" test ! -s "$ERR"
run_in "$PGDATA" "$FETCH" -c "$E2E_WORK/bad.toml" --mode standby -v "$(seg 1 2)" pg_wal/RECOVERYXLOG
expect_restored "$(seg 1 2)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch -v with an unusable spool"
check "fetch -v with an unusable spool: no warning: $(cat "$ERR")" grep -q 'warning: .*no prefetch' "$ERR"

note "a symbolic link planted at prefetch/<key> is refused and never followed"
key_dir=$(spool_dir)
fetch "$(seg 1 14)"
e2e_wait_for 60 "the worker after 14" lock_free
rm -rf "$key_dir"
# What a worker's leftover sweep would remove: WAL-named files without .ok, temp files, notes.
victims=("$(seg 1 3)" "$(seg 1 4).ok" "$(seg 1 5).zst" ".$(seg 1 6).walferry-tmp.AbCdEf" "damaged.x.0")
for v in "${victims[@]}"; do e2e_as_user touch "$PGDATA/pg_wal/$v"; done
e2e_as_user ln -s "$PGDATA/pg_wal" "$key_dir"
for i in 15 16; do
  fetch "$(seg 1 $i)"
  expect_restored "$(seg 1 $i)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch $i with prefetch/<key> a link"
  cp "$ERR" "$ERR.$i"
done
# A worker, had one been started through the link, holds its lock in pg_wal until it is done.
no_worker_in_pg_wal() { [[ ! -e $PGDATA/pg_wal/lock ]] || flock -n "$PGDATA/pg_wal/lock" true; }
e2e_wait_for 60 "no worker in pg_wal" no_worker_in_pg_wal
for v in "${victims[@]}"; do
  check "$v in pg_wal was removed through the planted link" test -e "$PGDATA/pg_wal/$v"
done
check "a worker took its lock in pg_wal through the planted link" test ! -e "$PGDATA/pg_wal/lock"
check "the planted link itself was replaced" test -L "$key_dir"
for i in 15 16; do
  grep -q "warning: spool directory \"$key_dir\" is a symbolic link; refusing to use it; no prefetch" "$ERR.$i" ||
    fail "fetch $i with a linked spool directory: no warning: $(cat "$ERR.$i")"
  pass
done
rm -f "$key_dir"
for v in "${victims[@]}"; do rm -f "$PGDATA/pg_wal/$v"; done

note "no pg_control in the data directory: no prefetch (said with -v)"
mv "$PGDATA/global/pg_control" "$E2E_WORK/pg_control.saved"
fetch "$(seg 1 3)" -v
expect_restored "$(seg 1 3)" "$PGDATA/pg_wal/RECOVERYXLOG" "fetch without pg_control"
check "fetch without pg_control: no word: $(cat "$ERR")" grep -q 'cluster is unknown; no prefetch' "$ERR"
check "a spool was made without the server's cluster known" test ! -e "$key_dir"
mv "$E2E_WORK/pg_control.saved" "$PGDATA/global/pg_control"

assert_done
