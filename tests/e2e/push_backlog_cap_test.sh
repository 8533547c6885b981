#!/usr/bin/env bash
# required = N and the backlog's size cap, with two local destinations (no server needed): one
# whose directory is missing (every push to it fails). Under the cap a push succeeds and the
# file waits in the spool for the missing destination; a push that would take the backlog past
# backlog_cap_bytes fails (exit 9, "unavailable": one line naming the cap) so PostgreSQL keeps the WAL, and
# nothing queued before is dropped. Once the destination is back, the next push sends it the
# backlog oldest first, then its own file, and the backlog is empty (it failed seconds before, but
# a push whose files the backlog could not take tries it anyway).
# A backlog entry damaged in the spool (one flipped bit) is never sent: --drain names it, sends
# the WAL file it was queued from instead (still there unchanged), keeps the entry aside as
# damaged-<entry>, and exits 4 once.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

A=$WORK/a
B=$WORK/b  # created only later: the outage
SPOOL=$WORK/spool
mkdir "$A" "$SPOOL"
for n in 1 2 3 4; do make_segment --segno "$n" --seed "$n" >/dev/null; done
seg() { printf '%s/src/0000000100000000000000%02X' "$WORK" "$1"; }
queued() { find "$SPOOL/backlog" -type f -name '*.zst' -printf '%f\n' 2>/dev/null | LC_ALL=C sort; }

# One segment's stored size, to set the cap to room for two queued files but not three.
run "$PUSH" "$(seg 1)" "$WORK/probe"
[[ $RC == 0 ]] || { mkdir "$WORK/probe" && run "$PUSH" "$(seg 1)" "$WORK/probe"; }
expect_rc 0 "push to the probe archive"
size=$(stat -c %s "$WORK/probe/000000010000000000000001.zst")
cap=$((size * 5 / 2))
cat >"$WORK/walferry.toml" <<EOF
spool = "$SPOOL"
required = 1
backlog_cap_bytes = $cap
[[destination]]
name = "a"
url = "file://$A"
[[destination]]
name = "b"
url = "file://$B"
EOF
note "stored size $size bytes, backlog_cap_bytes $cap"

note "destination b missing: two pushes succeed and queue for b"
for n in 1 2; do
    run "$PUSH" -c "$WORK/walferry.toml" "$(seg "$n")"
    expect_rc 0 "push of segment $n with b down and required = 1"
    expect_stderr_has "queued in the backlog" "push of segment $n"
done
check "backlog holds $(queued | wc -l) files, expected 2: $(queued)" test "$(queued | wc -l)" = 2

note "a third would pass the cap: push fails, nothing dropped"
before=$(dir_state "$SPOOL/backlog")
run "$PUSH" -c "$WORK/walferry.toml" "$(seg 3)"
expect_rc 9 "push past the backlog cap"
expect_stderr_lines 1 "push past the backlog cap"
expect_stderr_matches "backlog cannot take it .*> backlog_cap_bytes $cap" "push past the cap"
expect_stderr_has "000000010000000000000003" "push past the cap"
expect_same_state "$SPOOL/backlog" "$before" "push past the cap"
[[ $(queued | sed 's/^[0-9]*\.//') == $'000000010000000000000001.zst\n000000010000000000000002.zst' ]] ||
    fail "backlog changed: $(queued)"
pass
expect_absent "$B" "push past the cap"

note "b back: the next push sends b its backlog oldest first, then the file itself"
mkdir "$B"
run "$PUSH" -v -c "$WORK/walferry.toml" "$(seg 3)"
expect_rc 0 "push once b is back"
expect_stderr_has 'backlog of "b": 2 sent, 0 left' "push once b is back"
check "backlog not empty after b came back: $(queued)" test -z "$(queued)"
for n in 1 2 3; do
    name=$(basename "$(seg "$n")")
    for d in "$A" "$B"; do
        expect_decompresses "$d/$name.zst" "$(seg "$n")"
    done
done
# Sent oldest first: b's files were linked into place in queue order.
order=$(find "$B" -name '*.zst' -printf '%T@ %f\n' | sort -n | awk '{ print $2 }' | tr '\n' ' ')
[[ $order == "000000010000000000000001.zst 000000010000000000000002.zst 000000010000000000000003.zst " ]] ||
    fail "b received in the order $order"
pass

note "b down again with the cap at 0: a push fails rather than queue anything"
rm -rf "$B"
sed -i "s/^backlog_cap_bytes = .*/backlog_cap_bytes = 0/" "$WORK/walferry.toml"
run "$PUSH" -c "$WORK/walferry.toml" "$(seg 4)"
expect_rc 9 "push with backlog_cap_bytes = 0 and b down"
expect_stderr_has "backlog_cap_bytes 0" "push with cap 0"
check "something was queued with a cap of 0: $(queued)" test -z "$(queued)"

note "a backlog entry damaged in the spool is never sent: reported, kept, the WAL file sent instead"
sed -i "s/^backlog_cap_bytes = .*/backlog_cap_bytes = $((size * 10))/" "$WORK/walferry.toml"
run "$PUSH" -c "$WORK/walferry.toml" "$(seg 4)"
expect_rc 0 "push of segment 4 with b down"
entry=$(find "$SPOOL/backlog" -type f -name '*.zst')
check "segment 4 was not queued for b" test -n "$entry"
flip_bit "$entry" $(($(meta_frame_size "$entry") + 100)) 3
cp "$entry" "$WORK/damaged-entry"
mkdir "$B"
run "$PUSH" --drain -c "$WORK/walferry.toml"
expect_rc 4 "--drain of a damaged entry"
expect_stderr_lines 2 "--drain of a damaged entry"  # the warning naming it, the summary error
expect_stderr_matches "\"b\": backlog entry \"$(basename "$entry")\" .* is damaged" "--drain of a damaged entry"
expect_stderr_has "sent from \"$(seg 4)\" instead" "--drain of a damaged entry"
expect_decompresses "$B/$(basename "$(seg 4)").zst" "$(seg 4)"
check "the damaged entry is still queued: $(queued)" test -z "$(queued | grep -v '^damaged-')"
expect_same_bytes "$(dirname "$entry")/damaged-$(basename "$entry")" "$WORK/damaged-entry"
run "$PUSH" --drain -c "$WORK/walferry.toml"
expect_rc 0 "--drain once the damaged entry is set aside"
assert_done
