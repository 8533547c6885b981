#!/usr/bin/env bash
# walferry-push and walferry-fetch against a plain local directory, no server: the never-overwrite
# rule (identical re-push is a no-op, different content is refused naming both checksums), the
# cluster and header checks, every kind of WAL file round-tripping byte for byte, plain `zstd -d`
# restoring each stored file, and fetch's silent not-found and atomic write to %p.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

A=$WORK/archive
mkdir "$A" "$WORK/other"
SYSID=7300000000000000001
seg5=$(make_segment --segno 5 --sysid $SYSID)
name5=$(basename "$seg5")
check "make-segment named segno 5 $name5" test "$name5" = 000000010000000000000005

note "first push creates the stored file and walferry.info"
expect_absent "$A/walferry.info" "fresh archive"
run "$PUSH" "$seg5" "$A"
expect_rc 0 "push $name5"
expect_stdout_empty "push $name5"
expect_stderr_empty "push $name5"
check "push $name5: $A/$name5.zst missing" test -f "$A/$name5.zst"
check "first push did not create walferry.info" test -f "$A/walferry.info"
grep -qE "^system_identifier *= *$SYSID\$" "$A/walferry.info" ||
    fail "walferry.info lacks system identifier $SYSID: $(cat "$A/walferry.info")"
pass
grep -qE '^wal_segment_size *= *16777216$' "$A/walferry.info" ||
    fail "walferry.info lacks wal_segment_size: $(cat "$A/walferry.info")"
pass
expect_no_temp "$A" "push $name5"
expect_decompresses "$A/$name5.zst" "$seg5"
cp "$A/$name5.zst" "$WORK/stored5.before"

note "identical re-push: exit 0, nothing touched"
sleep 1.1  # so that a rewrite would show in the mtime even on coarse-grained file systems
before=$(dir_state "$A")
run "$PUSH" "$seg5" "$A"
expect_rc 0 "re-push identical $name5"
expect_stderr_empty "re-push identical $name5"
expect_same_state "$A" "$before" "re-push identical $name5"
run "$PUSH" -v "$seg5" "$A"
expect_rc 0 "re-push -v identical $name5"
expect_stderr_has "$name5" "re-push -v identical $name5"
expect_same_state "$A" "$before" "re-push -v identical $name5"

note "different content under the same name: exit 5 naming both checksums, stored file untouched"
other5=$(make_segment --segno 5 --sysid $SYSID --seed 1 --out "$WORK/other")
cmp -s "$seg5" "$other5" && fail "make-segment --seed 1 gave the same bytes"
pass
sum_old=$(sha256sum "$seg5" | cut -d' ' -f1)
sum_new=$(sha256sum "$other5" | cut -d' ' -f1)
run "$PUSH" "$other5" "$A"
expect_rc 5 "push different $name5"
expect_stderr_lines 1 "push different $name5"
expect_stderr_has "$sum_old" "push different $name5 (stored checksum)"
expect_stderr_has "$sum_new" "push different $name5 (new checksum)"
expect_stderr_has "$name5" "push different $name5"
expect_same_state "$A" "$before" "push different $name5"
expect_same_bytes "$A/$name5.zst" "$WORK/stored5.before" "push different $name5"

note "segment of another cluster: exit 6, nothing written"
mkdir "$WORK/foreign"
foreign=$(make_segment --segno 6 --sysid 7300000000000000999 --out "$WORK/foreign")
run "$PUSH" "$foreign" "$A"
expect_rc 6 "push foreign"
expect_stderr_lines 1 "push foreign"
expect_stderr_matches "another cluster|system identifier" "push foreign"
expect_same_state "$A" "$before" "push foreign"
# The same cluster but another wal_segment_size is another cluster too.
mkdir "$WORK/bigseg"
bigseg=$(make_segment --segno 3 --sysid $SYSID --seg-size 33554432 --out "$WORK/bigseg")
run "$PUSH" "$bigseg" "$A"
expect_rc 6 "push other wal_segment_size"
expect_stderr_has "wal_segment_size" "push other wal_segment_size"
expect_same_state "$A" "$before" "push other wal_segment_size"

note "header not matching the name: exit 3, nothing written"
mkdir "$WORK/mismatch"
seg7=$(make_segment --segno 7 --sysid $SYSID --out "$WORK/mismatch")
mv "$seg7" "$WORK/mismatch/000000010000000000000008"
run "$PUSH" "$WORK/mismatch/000000010000000000000008" "$A"
expect_rc 3 "push segment 7 named 8"
expect_stderr_lines 1 "push segment 7 named 8"
expect_stderr_has "000000010000000000000008" "push segment 7 named 8"
expect_same_state "$A" "$before" "push segment 7 named 8"
# Timeline in the header above the name's timeline.
mkdir "$WORK/tli"
seg_tli3=$(make_segment --segno 8 --tli 3 --sysid $SYSID --out "$WORK/tli")
mv "$seg_tli3" "$WORK/tli/000000020000000000000008"
run "$PUSH" "$WORK/tli/000000020000000000000008" "$A"
expect_rc 3 "push timeline-3 segment named on timeline 2"
expect_same_state "$A" "$before" "push timeline-3 segment named on timeline 2"
# A truncated segment: the header promises 16 MiB.
mkdir "$WORK/short"
seg9=$(make_segment --segno 9 --sysid $SYSID --out "$WORK/short")
truncate -s 8388608 "$seg9"
run "$PUSH" "$seg9" "$A"
expect_rc 3 "push truncated segment"
expect_stderr_has "$(basename "$seg9")" "push truncated segment"
expect_same_state "$A" "$before" "push truncated segment"
# No long-header flag: a page from the middle of a segment at the start of the file.
mkdir "$WORK/noflag"
seg10=$(make_segment --segno 10 --sysid $SYSID --out "$WORK/noflag")
printf '\000\000' | dd of="$seg10" bs=1 seek=2 count=2 conv=notrunc status=none
run "$PUSH" "$seg10" "$A"
expect_rc 3 "push segment without the long-header flag"
expect_same_state "$A" "$before" "push segment without the long-header flag"
# A missing file is a local I/O error, not a name or header problem.
run "$PUSH" "$WORK/src/000000010000000000000011" "$A"
expect_rc 8 "push a missing file"
expect_stderr_has "000000010000000000000011" "push a missing file"
expect_same_state "$A" "$before" "push a missing file"

note ".history, .backup and .partial round-trip byte for byte"
printf '1\t0/3000158\tno recovery target specified\n' >"$WORK/src/00000002.history"
cat >"$WORK/src/000000010000000000000005.00000028.backup" <<'EOF'
START WAL LOCATION: 0/5000028 (file 000000010000000000000005)
STOP WAL LOCATION: 0/5000100 (file 000000010000000000000005)
CHECKPOINT LOCATION: 0/5000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2024-01-01 00:00:00 UTC
LABEL: pg_basebackup base backup
START TIMELINE: 1
STOP TIME: 2024-01-01 00:00:01 UTC
STOP TIMELINE: 1
EOF
seg12=$(make_segment --segno 18 --sysid $SYSID)
mv "$seg12" "$WORK/src/000000010000000000000012.partial"
for f in 00000002.history 000000010000000000000005.00000028.backup \
    000000010000000000000012.partial; do
    run "$PUSH" "$WORK/src/$f" "$A"
    expect_rc 0 "push $f"
    expect_stderr_empty "push $f"
    check "push $f: $A/$f.zst missing" test -f "$A/$f.zst"
    mkdir -p "$WORK/back"
    run "$FETCH" --mode standby "$f" "$WORK/back/$f" "$A"
    expect_rc 0 "fetch $f"
    expect_same_bytes "$WORK/back/$f" "$WORK/src/$f" "fetch $f"
done
expect_no_temp "$WORK/back" "fetch of .history/.backup/.partial"
# A .history that does not parse is refused.
printf 'this is not a history file\n' >"$WORK/src/00000003.history"
before=$(dir_state "$A")
run "$PUSH" "$WORK/src/00000003.history" "$A"
expect_rc 3 "push malformed 00000003.history"
expect_same_state "$A" "$before" "push malformed 00000003.history"
# What fetch would refuse forever is refused at push (exit 3): a .history that is empty or
# holds only comments (PostgreSQL writes a line per ancestor), an empty .backup.
: >"$WORK/src/00000004.history"
printf '# no ancestor\n\n' >"$WORK/src/00000005.history"
: >"$WORK/src/000000010000000000000005.00000060.backup"
for f in 00000004.history 00000005.history 000000010000000000000005.00000060.backup; do
    run "$PUSH" "$WORK/src/$f" "$A"
    expect_rc 3 "push content-less $f"
    expect_stderr_lines 1 "push content-less $f"
    expect_stderr_has "$f" "push content-less $f"
    expect_same_state "$A" "$before" "push content-less $f"
done

# Fetch applies the same rule to what a walferry without it stored: the copy is damaged (255 in
# recovery, 1 in standby mode), never handed over. The stored form is built by hand here.
# raw_container SRC NAME OUT: metadata frame (magic, u32 LE length, text) + a zstd frame.
raw_container() {
    local len
    printf 'walferry-container=1\nname=%s\nraw_size=%s\nsha256=%s\n' "$2" "$(stat -c %s "$1")" \
        "$(sha256sum "$1" | cut -d' ' -f1)" >"$WORK/meta.txt"
    len=$(stat -c %s "$WORK/meta.txt")
    # shellcheck disable=SC2059  # the format is built from the length's bytes on purpose
    printf "\x5e\x2a\x4d\x18\x$(printf %02x "$len")\x00\x00\x00" >"$3"
    cat "$WORK/meta.txt" >>"$3"
    zstd -q -c --check "$1" >>"$3"
}
mkdir "$WORK/old"
printf '1\t0/3000158\tno recovery target specified\n' >"$WORK/src/00000006.history"
raw_container "$WORK/src/00000006.history" 00000006.history "$WORK/old/00000006.history.zst"
raw_container "$WORK/src/00000005.history" 00000005.history "$WORK/old/00000005.history.zst"
cp "$A/walferry.info" "$WORK/old/"
run "$FETCH" --mode recovery 00000006.history "$WORK/back/00000006.history" "$WORK/old"
expect_rc 0 "fetch a hand-built container (the helper is sound)"
expect_same_bytes "$WORK/back/00000006.history" "$WORK/src/00000006.history" "fetch hand-built"
for mode in recovery:255 standby:1; do
    run "$FETCH" --mode "${mode%%:*}" 00000005.history "$WORK/back/00000005.history" "$WORK/old"
    expect_rc "${mode#*:}" "fetch a stored comment-only .history (${mode%%:*})"
    expect_stderr_has "no parent timeline" "fetch a stored comment-only .history (${mode%%:*})"
    expect_absent "$WORK/back/00000005.history" "fetch a stored comment-only .history"
done

note "a FIFO, directory or device named like a segment is refused at once (exit 8)"
mkdir "$WORK/special"
mkfifo "$WORK/special/000000010000000000000013"
mkdir "$WORK/special/000000010000000000000014"
ln -s /dev/null "$WORK/special/000000010000000000000015"
for f in 000000010000000000000013:FIFO 000000010000000000000014:directory \
    000000010000000000000015:device; do
    # `timeout` only bounds a hang: the push must answer at once, never wait for a writer.
    run timeout 60 "$PUSH" "$WORK/special/${f%%:*}" "$A"
    expect_rc 8 "push ${f#*:} ${f%%:*}"
    expect_stderr_lines 1 "push ${f#*:} ${f%%:*}"
    expect_stderr_has "not a regular file" "push ${f#*:} ${f%%:*}"
    expect_stderr_has "${f#*:}" "push ${f#*:} ${f%%:*}"
    expect_same_state "$A" "$before" "push ${f#*:} ${f%%:*}"
done
# A symbolic link to a regular segment is followed, as cp and PostgreSQL's basic_archive do.
ln -s "$seg5" "$WORK/special/$name5"
run "$PUSH" "$WORK/special/$name5" "$A"
expect_rc 0 "push a symlink to the stored segment"
expect_same_state "$A" "$before" "push a symlink to the stored segment"

note "plain zstd -d restores every stored file"
count=0
for stored in "$A"/*.zst; do
    original=$(basename "$stored" .zst)
    if [[ $original == "$name5" ]]; then
        expect_decompresses "$stored" "$seg5"
    else
        expect_decompresses "$stored" "$WORK/src/$original"
    fi
    count=$((count + 1))
done
check "expected 4 stored files, found $count: $(ls -A "$A")" test "$count" = 4

note "fetch of a missing file: exit 1 and silence; -v says why"
mkdir -p "$WORK/pgdata/pg_wal"
touch "$WORK/pgdata/standby.signal"
for mode in standby recovery; do
    for missing in 000000010000000000000006 00000009.history; do
        run "$FETCH" --mode "$mode" "$missing" "$WORK/pgdata/pg_wal/RECOVERYXLOG" "$A"
        expect_rc 1 "fetch missing $missing ($mode)"
        expect_stdout_empty "fetch missing $missing ($mode)"
        expect_stderr_empty "fetch missing $missing ($mode)"
        expect_absent "$WORK/pgdata/pg_wal/RECOVERYXLOG" "fetch missing $missing ($mode)"
    done
done
run "$FETCH" -v 000000010000000000000006 "$WORK/pgdata/pg_wal/RECOVERYXLOG" "$A"
expect_rc 1 "fetch -v missing"
expect_stderr_has "000000010000000000000006" "fetch -v missing"
expect_absent "$WORK/pgdata/pg_wal/RECOVERYXLOG" "fetch -v missing"
expect_no_temp "$WORK/pgdata" "fetch missing"

note "fetch as restore_command: %f into %p from PGDATA, atomically"
run_in "$WORK/pgdata" "$FETCH" "$name5" pg_wal/RECOVERYXLOG "$A"
expect_rc 0 "fetch $name5 to pg_wal/RECOVERYXLOG"
expect_stderr_empty "fetch $name5 to pg_wal/RECOVERYXLOG"
expect_same_bytes "$WORK/pgdata/pg_wal/RECOVERYXLOG" "$seg5" "fetch $name5 to pg_wal/RECOVERYXLOG"
[[ $(find "$WORK/pgdata/pg_wal" -mindepth 1 -printf '%P\n') == RECOVERYXLOG ]] ||
    fail "fetch left other files in pg_wal: $(ls -A "$WORK/pgdata/pg_wal")"
pass
expect_no_temp "$WORK/pgdata" "fetch $name5"
# PostgreSQL reuses the name RECOVERYXLOG: the next fetch replaces it whole.
run_in "$WORK/pgdata" "$FETCH" 000000010000000000000012.partial pg_wal/RECOVERYXLOG "$A"
expect_rc 0 "fetch .partial over an existing RECOVERYXLOG"
expect_same_bytes "$WORK/pgdata/pg_wal/RECOVERYXLOG" "$WORK/src/000000010000000000000012.partial" \
    "fetch .partial over an existing RECOVERYXLOG"
run_in "$WORK/pgdata" "$FETCH" 00000002.history pg_wal/RECOVERYHISTORY "$A"
expect_rc 0 "fetch 00000002.history to pg_wal/RECOVERYHISTORY"
expect_same_bytes "$WORK/pgdata/pg_wal/RECOVERYHISTORY" "$WORK/src/00000002.history" \
    "fetch 00000002.history"
expect_no_temp "$WORK/pgdata" "fetch into pg_wal"
# The fetch never wrote into the archive.
expect_same_state "$A" "$before" "fetches"

note "two destinations: both get the file; a re-push skips both"
mkdir "$WORK/d1" "$WORK/d2"
run "$PUSH" "$seg5" "$WORK/d1" "$WORK/d2"
expect_rc 0 "push to two destinations"
expect_same_bytes "$WORK/d1/$name5.zst" "$WORK/d2/$name5.zst" "push to two destinations"
expect_decompresses "$WORK/d2/$name5.zst" "$seg5"
d1_state=$(dir_state "$WORK/d1")
rm "$WORK/d2/$name5.zst"
run "$PUSH" "$seg5" "$WORK/d1" "$WORK/d2"
expect_rc 0 "re-push to two destinations, one of them missing the file"
expect_same_state "$WORK/d1" "$d1_state" "re-push to two destinations"
expect_same_bytes "$WORK/d1/$name5.zst" "$WORK/d2/$name5.zst" "re-push to two destinations"
assert_done
