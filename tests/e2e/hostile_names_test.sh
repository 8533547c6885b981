#!/usr/bin/env bash
# Hostile file names given to walferry-push (as %p, the file existing where the file system
# allows it) and to walferry-fetch (as %f): path traversal, absolute paths, wrong lengths and
# case, control characters, unicode, shell metacharacters, a leading dash, the empty string,
# names of walferry's own files. Each must be refused with one error line that names the
# problem, exit 3 (fetch in recovery mode: 255), and nothing written anywhere: no archive file,
# no target, no temp file.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

T=$WORK/t         # everything a run could touch; its state is compared before and after
A=$T/archive      # holds a good copy of segment 5, so a lookup that escapes validation finds it
SRC=$T/src        # push runs here, the hostile file beside a good segment
TARGET=$T/pgdata/pg_wal/RECOVERYXLOG
mkdir -p "$A" "$SRC" "$T/pgdata/pg_wal"
touch "$T/pgdata/standby.signal"
seg5=$(make_segment --segno 5 --out "$SRC")
run "$PUSH" "$seg5" "$A"
expect_rc 0 "push the good segment"
# Plant valid containers where traversal or an absolute name would reach them.
cp "$A/000000010000000000000005.zst" "$T/x.zst"
cp "$A/000000010000000000000005.zst" "$T/000000010000000000000005.zst"

long_name=$(printf '0%.0s' {1..80})
# shellcheck disable=SC2088  # a literal tilde is one of the hostile names
names=(
    "../x"
    "../000000010000000000000005"
    "../../000000010000000000000005"
    "/etc/passwd"
    "$T/000000010000000000000005"
    ".."
    "."
    ""
    "0000000100000000000000ab"
    "00000001000000000000000A0"
    "00000001000000000000005"
    "0000000100000000000000050"
    $'00000001000000000000\n0005'
    $'000000010000000000000005\n'
    $'000000010000000000000005\t'
    "000000010000000000000005 "
    " 000000010000000000000005"
    "000000010000000000000005.zst"
    "000000010000000000000005.zst.zst"
    "000000010000000000000005.PARTIAL"
    "000000010000000000000005.ready"
    "000000010000000000000005.0000028.backup"
    "000000010000000000000005.00000028"
    "0000002.history"
    "000000002.history"
    "00000000.history"
    "000000000000000000000005"
    "00000002.history.partial"
    "0000000100000000000000０5"
    "00000001000000000000000５"
    "000000010000000000000005é"
    "$long_name"
    "000000010000000000000005;rm -rf x"
    "000000010000000000000005\$(touch $T/PWNED)"
    "\`touch $T/PWNED\`"
    "000000010000000000000005|cat"
    "-rf"
    "--help"
    "-"
    '~/000000010000000000000005'
    "..\\000000010000000000000005"
    "000000010000000000000005/"
    "walferry.info"
    ".walferry-tmp.000000010000000000000005.0123456789abcdef"
    "RECOVERYXLOG"
    "%f"
)

# display NAME: the name with control characters made visible, for test messages.
display() { printf '%q' "$1"; }

# escaped NAME: NAME as messages show untrusted bytes (common/escape.h): printable ASCII as is,
# everything else and '"' and '\' as \xNN.
escaped() {
    local out="" byte
    for byte in $(printf '%s' "$1" | od -An -v -tx1); do
        if ((16#$byte >= 0x20 && 16#$byte < 0x7f && 16#$byte != 0x22 && 16#$byte != 0x5c)); then
            out+=$(printf '%b' "\\x$byte")
        else
            out+="\\x$byte"
        fi
    done
    printf '%s' "$out"
}

# expect_one_clear_line TOOL SHOWN WHAT: one line, from TOOL, an error quoting the name (as
# SHOWN, escaped) and tagged with the invalid-name code.
expect_one_clear_line() {
    local tool=$1 quoted what=$3
    quoted="\"$(escaped "$2")\""
    expect_stderr_lines 1 "$what"
    expect_stdout_empty "$what"
    expect_stderr_matches "^$tool: error: " "$what"
    expect_stderr_has "$quoted" "$what"
    expect_stderr_has "(WF002)" "$what"
}

created=0
pushed=0
for name in "${names[@]}"; do
    shown=$(display "$name")
    before=$(dir_state "$T")

    # push: the hostile name is the file name in %p (a name with '/' is a path, not a name:
    # fetch only). The file exists, holding a good segment, wherever the file system allows.
    if [[ $name != */* ]]; then
        file_made=0
        if [[ -n $name && $name != . && $name != .. && ! -e $SRC/$name ]] &&
            cp "$seg5" "$SRC/$name" 2>/dev/null; then
            file_made=1
            created=$((created + 1))
            before=$(dir_state "$T")
        fi
        run_in "$SRC" "$PUSH" -- "$name" "$A"
        expect_rc 3 "push $shown"
        expect_one_clear_line walferry-push "$name" "push $shown"
        expect_same_state "$T" "$before" "push $shown"
        # The same file given by a path that holds a directory.
        if [[ $file_made == 1 ]]; then
            run "$PUSH" -- "$SRC/$name" "$A"
            expect_rc 3 "push $SRC/$shown"
            expect_same_state "$T" "$before" "push $SRC/$shown"
            rm -f -- "${SRC:?}/$name"
        fi
        pushed=$((pushed + 1))
        before=$(dir_state "$T")
    fi

    # fetch: the hostile name is %f, in standby and in recovery mode: exit 3 in standby mode,
    # 255 in recovery mode, since PostgreSQL reads 3 as "not found" and a broken restore_command
    # (%f and %p swapped, say) must stop a targeted recovery rather than end it early.
    for mode in standby recovery; do
        run_in "$T/pgdata" "$FETCH" --mode "$mode" -- "$name" pg_wal/RECOVERYXLOG "$A"
        expect_rc "$([[ $mode == standby ]] && echo 3 || echo 255)" "fetch $shown ($mode)"
        expect_one_clear_line walferry-fetch "$name" "fetch $shown ($mode)"
        expect_absent "$TARGET" "fetch $shown ($mode)"
        expect_same_state "$T" "$before" "fetch $shown ($mode)"
    done
    # The name as TARGETPATH's neighbour cannot matter, but as %f with an absolute %p too.
    run "$FETCH" --mode recovery -- "$name" "$TARGET" "$A"
    expect_rc 255 "fetch $shown to an absolute %p"
    expect_same_state "$T" "$before" "fetch $shown to an absolute %p"
    expect_absent "$T/PWNED" "$shown"
done
note "${#names[@]} hostile names given to fetch, $pushed to push ($created created as files)"
check "too few names" test "${#names[@]}" -ge 20
expect_no_temp "$T" "all runs"
assert_done
