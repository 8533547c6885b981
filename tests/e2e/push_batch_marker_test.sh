#!/usr/bin/env bash
# Look-ahead batch markers vouch for exactly what they name: the destinations by name and URL,
# for a local archive the stored copy itself, and only for a while (kMarkerMaxAgeS).
# - the destination's url changes under the same name: the marked segments are pushed to the
#   new archive, not answered by the marker;
# - the archive directory at the URL is replaced (moved away, a new empty one made): the marked
#   segment is pushed into the new one;
# - a marker older than its age limit is not used (the file is pushed again: found identical);
# - a fresh marker is used (nothing pushed), so the above are not just markers never written.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

WAL=$WORK/pgdata/pg_wal
A1=$WORK/a1
A2=$WORK/a2
SPOOL=$WORK/spool
CFG=$WORK/walferry.toml
mkdir -p "$WAL/archive_status" "$A1" "$A2" "$SPOOL"
for n in 1 2 3 4 5 6 7; do make_segment --segno "$n" --seed "$n" --out "$WAL" >/dev/null; done
name() { printf '0000000100000000000000%02X' "$1"; }
seg() { printf '%s/%s' "$WAL" "$(name "$1")"; }
ready() { for n in "$@"; do touch "$WAL/archive_status/$(name "$n").ready"; done; }
config() { printf 'spool = "%s"\nbatch = 8\n[[destination]]\nname = "a"\nurl = "file://%s"\n' "$SPOOL" "$1" >"$CFG"; }
expect_stored() { [[ -f $1/$(name "$2").zst ]] || fail "$3: $1 lacks segment $2"; pass; }

note "segment 1 pushed with 2 and 3 ahead into a1"
config "$A1"
ready 2 3
run "$PUSH" -c "$CFG" "$(seg 1)"
expect_rc 0 "push of segment 1"
for n in 1 2 3; do expect_stored "$A1" "$n" "batch push"; done
check "no marker written for segment 2" test -f "$SPOOL/batch/$(name 2).marker"

note "destination a now has another url: segments 2 and 3 go to a2"
config "$A2"
for n in 2 3; do
    run "$PUSH" -v -c "$CFG" "$(seg "$n")"
    expect_rc 0 "push of segment $n after the url changed"
    expect_stored "$A2" "$n" "push after the url changed"
done

note "the archive at a2 is replaced by an empty directory: the marked segment 5 goes into it"
ready 5
run "$PUSH" -c "$CFG" "$(seg 4)"
expect_rc 0 "push of segment 4"
expect_stored "$A2" 5 "batch push of 4 and 5"
mv "$A2" "$WORK/a2.old"
mkdir "$A2"
run "$PUSH" -v -c "$CFG" "$(seg 5)"
expect_rc 0 "push of segment 5 into the new archive"
expect_stored "$A2" 5 "push into the replaced archive"

note "a fresh marker answers; one older than its age limit does not"
rm -rf "$A2" && mkdir "$A2"
ready 7
run "$PUSH" -c "$CFG" "$(seg 6)"
expect_rc 0 "push of segment 6"
cp "$SPOOL/batch/$(name 7).marker" "$WORK/marker7"
run "$PUSH" -v -c "$CFG" "$(seg 7)"
expect_rc 0 "push of segment 7 with a fresh marker"
expect_stderr_has "was pushed ahead with an earlier file" "push with a fresh marker"
old=$(($(date +%s) - 3600))
sed "s/^written=.*/written=$old/" "$WORK/marker7" >"$SPOOL/batch/$(name 7).marker"
check "the marker records no written= time" grep -q "^written=$old" "$SPOOL/batch/$(name 7).marker"
run "$PUSH" -v -c "$CFG" "$(seg 7)"
expect_rc 0 "push of segment 7 with an old marker"
grep -qF "was pushed ahead" "$WORK/stderr" && fail "a marker an hour old answered"
pass
expect_stderr_has "already had $(name 7)" "push of 7 with an old marker"
assert_done
