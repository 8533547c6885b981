#!/usr/bin/env bash
# walferry.info, what an archive says of its cluster: segments of every verified PostgreSQL
# version (12 to 19) are archived and fetched; a newer version's magic is archived with one
# warning per archive (not per file) and recorded as unverified; a lost walferry.info is
# re-created only from what the stored segments say, so that a foreign cluster cannot claim the
# archive.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

SYSID=7300000000000000001
mkdir "$WORK/back"

# push_and_fetch ARCHIVE SEGMENT WHAT: push exits 0, fetch gives back the same bytes.
push_and_fetch() {
    local name
    name=$(basename "$2")
    run "$PUSH" "$2" "$1"
    expect_rc 0 "push $3"
    expect_stderr_empty "push $3"
    run "$FETCH" --mode recovery "$name" "$WORK/back/$name" "$1"
    expect_rc 0 "fetch $3"
    expect_stderr_empty "fetch $3"
    expect_same_bytes "$WORK/back/$name" "$2" "fetch $3"
}

note "every verified version: 12 .. 18, 19 and its betas"
for version in 12:0xD101 13:0xD106 14:0xD10D 15:0xD110 16:0xD113 17:0xD116 18:0xD118 \
    19:0xD120 19:0xD121; do
    major=${version%%:*}
    magic=${version#*:}
    mkdir "$WORK/v$magic" "$WORK/a$magic"
    seg=$(make_segment --segno 3 --magic "$magic" --out "$WORK/v$magic")
    push_and_fetch "$WORK/a$magic" "$seg" "PostgreSQL $major ($magic)"
    grep -qE "^pg_major = $major\$" "$WORK/a$magic/walferry.info" ||
        fail "walferry.info of PostgreSQL $major: $(cat "$WORK/a$magic/walferry.info")"
    pass
    ! grep -q unverified "$WORK/a$magic/walferry.info" ||
        fail "PostgreSQL $major recorded as unverified: $(cat "$WORK/a$magic/walferry.info")"
    pass
done

note "a newer magic: archived and fetched, one warning per archive, recorded in walferry.info"
N=$WORK/newer
mkdir "$N" "$WORK/newer2" "$WORK/nsrc"
for segno in 1 2 3; do
    make_segment --segno $segno --magic 0xD125 --out "$WORK/nsrc" >/dev/null
done
run "$PUSH" "$WORK/nsrc/000000010000000000000001" "$N" "$WORK/newer2"
expect_rc 0 "push the first newer segment to two archives"
expect_stderr_lines 2 "push the first newer segment to two archives"
expect_stderr_has "warning" "push the first newer segment"
expect_stderr_has "0xD125" "push the first newer segment"
expect_stderr_has "$N " "push the first newer segment (names the first archive)"
expect_stderr_has "$WORK/newer2 " "push the first newer segment (names the second archive)"
for info in "$N/walferry.info" "$WORK/newer2/walferry.info"; do
    grep -qE '^unverified_wal_magic = 0xD125$' "$info" ||
        fail "$info does not record the unverified magic: $(cat "$info")"
    pass
    check "$info has no numeric pg_major: $(cat "$info")" grep -qE '^pg_major = [0-9]+$' "$info"
done
for segno in 2 3; do
    run "$PUSH" "$WORK/nsrc/00000001000000000000000$segno" "$N"
    expect_rc 0 "push newer segment $segno"
    expect_stderr_empty "push newer segment $segno (warned once per archive)"
done
for segno in 1 2 3; do
    name=00000001000000000000000$segno
    run "$FETCH" --mode recovery "$name" "$WORK/back/$name" "$N"
    expect_rc 0 "fetch newer segment $segno"
    expect_stderr_empty "fetch newer segment $segno"
    expect_same_bytes "$WORK/back/$name" "$WORK/nsrc/$name" "fetch newer segment $segno"
done
# Another newer magic, or a verified one, is another cluster's.
mkdir "$WORK/nsrc2"
make_segment --segno 4 --magic 0xD126 --out "$WORK/nsrc2" >/dev/null
make_segment --segno 5 --magic 0xD121 --out "$WORK/nsrc2" >/dev/null
before=$(dir_state "$N")
for f in 000000010000000000000004 000000010000000000000005; do
    run "$PUSH" "$WORK/nsrc2/$f" "$N"
    expect_rc 6 "push $f of another version into the newer archive"
    expect_stderr_lines 1 "push $f of another version"
    expect_same_state "$N" "$before" "push $f of another version"
done
# Beyond the form of a WAL magic: refused as before.
mkdir "$WORK/nsrc3"
make_segment --segno 6 --magic 0xD200 --out "$WORK/nsrc3" >/dev/null
run "$PUSH" "$WORK/nsrc3/000000010000000000000006" "$N"
expect_rc 3 "push magic 0xD200"
expect_stderr_has "0xD200" "push magic 0xD200"
expect_same_state "$N" "$before" "push magic 0xD200"

note "a lost walferry.info is re-created from the stored segments, never by a foreign cluster"
A=$WORK/archive
mkdir "$A" "$WORK/own" "$WORK/foreign"
for segno in 1 2; do
    make_segment --segno $segno --sysid $SYSID --out "$WORK/own" >/dev/null
done
run "$PUSH" "$WORK/own/000000010000000000000001" "$A"
expect_rc 0 "push own segment 1"
cp "$A/walferry.info" "$WORK/info.orig"
rm "$A/walferry.info"
make_segment --segno 2 --sysid 7300000000000000999 --out "$WORK/foreign" >/dev/null
before=$(dir_state "$A")
run "$PUSH" "$WORK/foreign/000000010000000000000002" "$A"
expect_rc 6 "push a foreign segment into an archive that lost walferry.info"
expect_stderr_lines 1 "push foreign after loss"
expect_stderr_has "7300000000000000999" "push foreign after loss"
expect_stderr_has "000000010000000000000001" "push foreign after loss (names the stored segment)"
expect_same_state "$A" "$before" "push foreign after loss"
run "$PUSH" "$WORK/own/000000010000000000000002" "$A"
expect_rc 0 "push own segment 2 after the loss"
expect_stderr_lines 1 "push own segment 2 after the loss"
expect_stderr_has "re-created" "push own segment 2 after the loss"
expect_same_bytes "$A/walferry.info" "$WORK/info.orig" "re-created walferry.info"
run "$PUSH" "$WORK/own/000000010000000000000002" "$A"
expect_rc 0 "re-push own segment 2"
expect_stderr_empty "re-push own segment 2"
run "$PUSH" "$WORK/foreign/000000010000000000000002" "$A"
expect_rc 6 "push foreign after the re-creation"
assert_done
